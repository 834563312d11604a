package mapper

import (
	"sort"
	"strings"
	"unicode/utf8"
)

// attrSpec describes one PingOne user attribute syncd may manage.
type attrSpec struct {
	check checkFunc
}

// standardAttrs are the PingOne user attribute paths a mapping may set
// (API-NOTES §4), with their constraints.
var standardAttrs = map[string]attrSpec{
	"username":              {checkG(1, 128)},
	"email":                 {checkEmail},
	"name.given":            {checkG(1, 256)},
	"name.family":           {checkN(1, 256)},
	"name.formatted":        {checkN(1, 256)},
	"name.middle":           {checkG(1, 256)},
	"name.honorificPrefix":  {lengthOnly(1, maxUnknown)},
	"name.honorificSuffix":  {lengthOnly(1, maxUnknown)},
	"nickname":              {checkG(1, 256)},
	"title":                 {checkG(1, 256)},
	"preferredLanguage":     {checkPreferredLanguage},
	"locale":                {checkLocale},
	"timezone":              {checkTimezone},
	"primaryPhone":          {checkPhone},
	"mobilePhone":           {checkPhone},
	"photo.href":            {checkPhotoHref},
	"address.streetAddress": {checkStreet},
	"address.locality":      {checkG(1, 256)},
	"address.region":        {checkG(1, 256)},
	"address.postalCode":    {checkG(1, 40)},
	"address.countryCode":   {checkCountryCode},
	"type":                  {checkG(1, 256)},
	"accountId":             {lengthOnly(1, maxUnknown)},
	"externalId":            {lengthOnly(1, 1024)},
}

// customSpec is the check applied to declared custom attributes: PingOne
// custom STRING attributes may carry their own regex and enumerations,
// which syncd cannot see, so only the profile size bound applies.
var customSpec = attrSpec{lengthOnly(1, maxUnknown)}

// notMappable explains, for attribute paths a mapping may not set, what
// to use instead.
var notMappable = map[string]string{
	"enabled":                    "enabled is read-only on the user resource; set it with the job's `enabled` expression",
	"population":                 "the population is set through its own endpoint; configure it with the job's `population` key",
	"population.id":              "the population is set through its own endpoint; configure it with the job's `population` key",
	"population.name":            "the population is set through its own endpoint; configure it with the job's `population` key",
	"id":                         "id is assigned by PingOne and read-only; syncd links users through externalId",
	"environment.id":             "read-only in PingOne",
	"_links":                     "read-only in PingOne",
	"createdAt":                  "read-only in PingOne",
	"updatedAt":                  "read-only in PingOne",
	"lastSignOn.at":              "read-only in PingOne",
	"lastSignOn.remoteIp":        "read-only in PingOne",
	"memberOfGroupIDs":           "read-only in PingOne; group membership is not managed by syncd",
	"memberOfGroupNames":         "read-only in PingOne; group membership is not managed by syncd",
	"identityProvider.type":      "read-only in PingOne",
	"identityProvider.id":        "not managed by syncd",
	"password":                   "syncd does not manage passwords",
	"password.value":             "syncd does not manage passwords",
	"password.forceChange":       "syncd does not manage passwords",
	"emailVerified":              "settable only on import; not managed by syncd",
	"lifecycle.status":           "settable only on import; not managed by syncd",
	"mfaEnabled":                 "set through the MFA endpoint; not managed by syncd",
	"verifyStatus":               "not managed by syncd",
	"account.canAuthenticate":    "account state is not managed by syncd",
	"account.status":             "account state is not managed by syncd",
	"account.lockedAt":           "read-only in PingOne",
	"account.secondsUntilUnlock": "read-only in PingOne",
	"account.unlockAt":           "account state is not managed by syncd",
	"name":                       "name is an object; map its members: name.given, name.family, name.formatted, name.middle, name.honorificPrefix, name.honorificSuffix",
	"address":                    "address is an object; map its members: address.streetAddress, address.locality, address.region, address.postalCode, address.countryCode",
	"photo":                      "photo is an object; map photo.href",
}

// standardNames returns the sorted standard attribute paths, for messages.
func standardNames() []string {
	names := make([]string, 0, len(standardAttrs))
	for n := range standardAttrs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// validCustomName reports whether name is a valid PingOne custom attribute
// name: starts with a letter, then letters, digits or hyphens; at most 256
// characters (API-NOTES §4a).
func validCustomName(name string) bool {
	if name == "" || utf8.RuneCountInString(name) > 256 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		alpha := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !alpha || !alpha && c != '-' && !(c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// caseInsensitiveMatch returns the standard attribute path equal to name
// but for case, or "".
func caseInsensitiveMatch(name string) string {
	for n := range standardAttrs {
		if strings.EqualFold(n, name) {
			return n
		}
	}
	return ""
}
