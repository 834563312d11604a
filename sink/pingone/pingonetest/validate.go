package pingonetest

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Attribute rules from API-NOTES §4 (SPEC User L8153-8398).
const (
	patG      = `^[\p{L}\p{M}\p{Zs}\p{S}\p{N}\p{P}]*$`
	patN      = `^[\p{L}\p{M}\p{N}' .-]*$`
	patStreet = `^[\p{L}\p{M}\p{N}\p{Zs}\p{P}\n\r]*$`
	// SPEC's countryCode pattern is the unanchored '[A-Z]{2}'; its text says
	// "two upper-case letters", which is what is enforced.
	patCountry  = `^[A-Z]{2}$`
	patTimezone = `^\w+\/\w+$`
)

var (
	reG        = regexp.MustCompile(patG)
	reN        = regexp.MustCompile(patN)
	reStreet   = regexp.MustCompile(patStreet)
	reCountry  = regexp.MustCompile(patCountry)
	reTimezone = regexp.MustCompile(patTimezone)
	// RFC 7231 §5.3.5 Accept-Language: language-range [weight] *( "," ... ).
	reLangRange = regexp.MustCompile(`^\s*(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)(\s*;\s*[qQ]\s*=\s*(0(\.[0-9]{0,3})?|1(\.0{0,3})?))?(\s*,\s*(\*|[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*)(\s*;\s*[qQ]\s*=\s*(0(\.[0-9]{0,3})?|1(\.0{0,3})?))?)*\s*$`)
)

// strRule constrains one string attribute. Zero fields are unchecked.
type strRule struct {
	min, max    int // length in characters
	re          *regexp.Regexp
	patternText string
	check       func(string) string // extra rule: "" or a message
}

func ruleG(lo, hi int) strRule { return strRule{min: lo, max: hi, re: reG, patternText: patG} }
func ruleN(lo, hi int) strRule { return strRule{min: lo, max: hi, re: reN, patternText: patN} }

// topStrings are the top-level string attributes of the User schema.
var topStrings = map[string]strRule{
	"username":          ruleG(1, 128),
	"email":             {check: checkEmail},
	"nickname":          ruleG(1, 256),
	"title":             ruleG(1, 256),
	"preferredLanguage": {check: checkLangRange},
	"locale":            ruleG(1, 256),
	"timezone":          {re: reTimezone, patternText: patTimezone},
	"primaryPhone":      {min: 1, max: 32, check: checkPhone},
	"mobilePhone":       {max: 32, check: checkPhone},
	"externalId":        {min: 1, max: 1024},
	// accountId: not in SPEC's schema, filterable and documented as free
	// organisation-specific text (§4); no limits known [U].
	"accountId": {},
	"type":      ruleG(1, 256),
}

// objStrings are the string sub-attributes of the object attributes.
var objStrings = map[string]map[string]strRule{
	"name": {
		"given":           ruleG(1, 256),
		"family":          ruleN(1, 256),
		"formatted":       ruleN(1, 256),
		"middle":          ruleG(1, 256),
		"honorificPrefix": {},
		"honorificSuffix": {},
	},
	"address": {
		"streetAddress": {min: 1, max: 256, re: reStreet, patternText: patStreet},
		"locality":      ruleG(1, 256),
		"region":        ruleG(1, 256),
		"postalCode":    ruleG(1, 40),
		"countryCode":   {re: reCountry, patternText: "[A-Z]{2}"},
	},
	"photo": {"href": {check: checkPhotoURL}},
}

// objRequired are sub-attributes required when their object is given.
var objRequired = map[string]string{"photo": "href"}

// maxProfileBytes is the user profile size limit (§4: 16 KB).
const maxProfileBytes = 16 * 1024

func (r strRule) validate(target, v string) *detail {
	n := utf8.RuneCountInString(v)
	if (r.min > 0 && n < r.min) || (r.max > 0 && n > r.max) {
		d := &detail{Code: "INVALID_VALUE", Target: target, Message: fmt.Sprintf("%s must be between %d and %d characters long", target, r.min, r.max),
			InnerError: map[string]any{"rangeMinimumValue": r.min, "rangeMaximumValue": r.max}}
		if r.min == 0 {
			d.Message = fmt.Sprintf("%s must be at most %d characters long", target, r.max)
		}
		return d
	}
	if r.re != nil && !r.re.MatchString(v) {
		return &detail{Code: "INVALID_VALUE", Target: target, Message: fmt.Sprintf("%s does not match the allowed pattern", target),
			InnerError: map[string]any{"allowedPattern": r.patternText}}
	}
	if r.check != nil {
		if msg := r.check(v); msg != "" {
			return &detail{Code: "INVALID_VALUE", Target: target, Message: target + " " + msg}
		}
	}
	return nil
}

func checkPhone(s string) string {
	for _, c := range s {
		if unicode.IsDigit(c) {
			return ""
		}
	}
	return "must contain at least one number"
}

func checkLangRange(s string) string {
	if !reLangRange.MatchString(s) {
		return "must be a language range list as in an HTTP Accept-Language header (RFC 7231 §5.3.5)"
	}
	return ""
}

func checkPhotoURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "must be an http or https URL"
	}
	return ""
}

// checkEmail accepts an RFC 5322 §3.4.1 addr-spec (with RFC 6532 UTF-8):
// local-part "@" domain, where local-part is a dot-atom or quoted-string
// and domain a dot-atom or domain-literal. It is no stricter than that
// (no length limits, no DNS rules): PingOne's own rule is "valid per RFC
// 2822 §3.4" (§4).
func checkEmail(s string) string {
	const bad = "must be a valid email address"
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return bad
	}
	local, domain := s[:at], s[at+1:]
	if !(isDotAtom(local) || isQuotedString(local)) {
		return bad
	}
	if !(isDotAtom(domain) || isDomainLiteral(domain)) {
		return bad
	}
	return ""
}

func isAtext(r rune) bool {
	if r >= 0x80 {
		return unicode.IsGraphic(r) && !unicode.IsSpace(r)
	}
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
		return true
	}
	return strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", r)
}

func isDotAtom(s string) bool {
	if s == "" {
		return false
	}
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		for _, r := range part {
			if !isAtext(r) {
				return false
			}
		}
	}
	return true
}

func isQuotedString(s string) bool {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return false
	}
	in := s[1 : len(s)-1]
	for i := 0; i < len(in); i++ {
		c := in[i]
		switch {
		case c == '\\':
			i++
			if i >= len(in) || in[i] < 0x20 && in[i] != '\t' || in[i] == 0x7f {
				return false
			}
		case c == '"':
			return false
		case c < 0x20 && c != '\t' || c == 0x7f:
			return false
		}
	}
	return true
}

func isDomainLiteral(s string) bool {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return false
	}
	for _, r := range s[1 : len(s)-1] {
		if r == '[' || r == ']' || r == '\\' || r < 0x21 || r == 0x7f {
			return false
		}
	}
	return true
}

// writeMode is how a user body arrives.
type writeMode int

const (
	modeCreate writeMode = iota // POST application/json
	modeImport                  // POST application/vnd.pingidentity.user.import+json
	modePut
	modePatch
)

// userInput is a validated user body: only schema attributes survive
// (§4: unknown attributes are ignored).
type userInput struct {
	set           map[string]any // attribute -> string, or map[string]any for objects
	clear         []string       // attributes given as null (PATCH clears them)
	populationID  string         // create: population.id given
	populationSet bool
	mfaEnabled    *bool
	emailVerified *bool
	lifecycle     string
	enabled       *bool // out-of-band edits only
}

// parseUserInput validates body for mode. custom holds the custom STRING
// attributes; outOfBand allows enabled and population moves (AddUser,
// EditUser).
func parseUserInput(body map[string]any, mode writeMode, custom map[string]bool, outOfBand bool) (userInput, []detail) {
	in := userInput{set: map[string]any{}}
	var ds []detail
	add := func(d *detail) {
		if d != nil {
			ds = append(ds, *d)
		}
	}
	typeErr := func(target, want string) {
		ds = append(ds, detail{Code: "INVALID_VALUE", Target: target, Message: fmt.Sprintf("%s must be %s", target, want)})
	}
	for k, v := range body {
		if rule, ok := topStrings[k]; ok || custom[k] {
			switch s := v.(type) {
			case nil:
				in.clear = append(in.clear, k)
			case string:
				add(rule.validate(k, s))
				in.set[k] = s
			default:
				typeErr(k, "a string")
			}
			continue
		}
		if subs, ok := objStrings[k]; ok {
			switch m := v.(type) {
			case nil:
				in.clear = append(in.clear, k)
			case map[string]any:
				obj := map[string]any{}
				for sk, sv := range m {
					rule, known := subs[sk]
					if !known {
						continue // unknown sub-attribute: ignored like any unknown attribute
					}
					target := k + "." + sk
					switch s := sv.(type) {
					case nil:
					case string:
						add(rule.validate(target, s))
						obj[sk] = s
					default:
						typeErr(target, "a string")
					}
				}
				if req := objRequired[k]; req != "" && obj[req] == nil {
					ds = append(ds, detail{Code: "REQUIRED_VALUE", Target: k + "." + req, Message: k + "." + req + " is required"})
				}
				if len(obj) == 0 {
					in.clear = append(in.clear, k)
				} else {
					in.set[k] = obj
				}
			default:
				typeErr(k, "an object")
			}
			continue
		}
		switch k {
		case "population":
			m, ok := v.(map[string]any)
			if !ok {
				if v == nil && (mode == modeCreate || mode == modeImport) {
					continue // absent: the default population (§5)
				}
				typeErr("population", "an object")
				continue
			}
			id, ok := m["id"].(string)
			if !ok || id == "" {
				ds = append(ds, detail{Code: "REQUIRED_VALUE", Target: "population.id", Message: "population.id is required"})
				continue
			}
			in.populationID, in.populationSet = id, true
		case "mfaEnabled":
			// §4: settable on create/import only; PUT/PATCH ignore it.
			if mode == modeCreate || mode == modeImport {
				b, ok := v.(bool)
				if !ok && v != nil {
					typeErr(k, "a boolean")
					continue
				}
				if ok {
					in.mfaEnabled = &b
				}
			}
		case "emailVerified":
			// §3 import: true/false on import; only false on plain create.
			b, ok := v.(bool)
			switch {
			case mode != modeCreate && mode != modeImport:
			case v == nil:
			case !ok:
				typeErr(k, "a boolean")
			case mode == modeCreate && b:
				ds = append(ds, detail{Code: "INVALID_VALUE", Target: k, Message: "emailVerified can be true only on import"})
			default:
				in.emailVerified = &b
			}
		case "lifecycle":
			// §3 import: lifecycle.status settable only on import.
			if mode != modeImport {
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				if v != nil {
					typeErr(k, "an object")
				}
				continue
			}
			switch st := m["status"].(type) {
			case nil:
			case string:
				if st != "ACCOUNT_OK" && st != "VERIFICATION_REQUIRED" {
					ds = append(ds, detail{Code: "INVALID_VALUE", Target: "lifecycle.status", Message: "lifecycle.status must be ACCOUNT_OK or VERIFICATION_REQUIRED",
						InnerError: map[string]any{"allowedValues": []string{"ACCOUNT_OK", "VERIFICATION_REQUIRED"}}})
				} else {
					in.lifecycle = st
				}
			default:
				typeErr("lifecycle.status", "a string")
			}
		case "password":
			// Write-only and never stored here; its shape is still checked on
			// create (§3 import).
			if mode != modeCreate && mode != modeImport || v == nil {
				continue
			}
			m, ok := v.(map[string]any)
			if !ok {
				typeErr(k, "an object")
				continue
			}
			if pv, ok := m["value"]; ok && pv != nil {
				if _, isStr := pv.(string); !isStr {
					typeErr("password.value", "a string")
				}
			}
			if fc, ok := m["forceChange"]; ok && fc != nil {
				if _, isBool := fc.(bool); !isBool {
					typeErr("password.forceChange", "a boolean")
				}
			}
		case "enabled":
			// §3: read-only on the user resource; ignored in request bodies.
			if outOfBand {
				b, ok := v.(bool)
				if !ok {
					typeErr(k, "a boolean")
					continue
				}
				in.enabled = &b
			}
		}
		// Everything else (id, environment, _links, createdAt, account,
		// identityProvider, verifyStatus, unknown names) is ignored (§4).
	}
	return in, ds
}

// profileSize is the JSON size of a user's attributes (§4 16 KB limit).
func profileSize(attrs map[string]any) int {
	b, _ := json.Marshal(attrs)
	return len(b)
}

// requiredMissing reports username/email absent from attrs (§4; SPEC
// required [email, username]).
// Attributes that already have a detail (e.g. a wrong type) get no second.
func requiredMissing(attrs map[string]any, have []detail) []detail {
	ds := have
outer:
	for _, k := range []string{"username", "email"} {
		for _, d := range have {
			if d.Target == k {
				continue outer
			}
		}
		if _, ok := attrs[k]; !ok {
			ds = append(ds, detail{Code: "REQUIRED_VALUE", Target: k, Message: k + " is required"})
		}
	}
	return ds
}
