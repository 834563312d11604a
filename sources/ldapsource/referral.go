package ldapsource

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Why this file exists: a continuation reference (RFC 4511 §4.5.3) is the
// server saying "part of what you asked for lives on another server". A
// subordinate referral under a user base DN (ou=branch delegated to a
// branch office's directory) means the users below it were not read; a
// read that still counted as complete would disable every one of them.
// So a reference ends the read as incomplete, unless the job names it in
// ignore_referrals, or it is one of the partitions Active Directory
// always refers a domain-root search to.

// adPartitions are the first RDNs of the naming contexts an Active
// Directory domain-root search refers to (DC=DomainDnsZones,<domain>,
// DC=ForestDnsZones,<forest>, CN=Configuration,<forest>): application and
// configuration partitions, which never hold user accounts.
var adPartitions = []string{"dc=domaindnszones", "dc=forestdnszones", "cn=configuration"}

// ReferralError is a continuation reference a search returned: entries
// below it live on another server and were not read.
type ReferralError struct {
	Referral string // the URL as the server sent it
}

func (e *ReferralError) Error() string {
	return fmt.Sprintf("continuation reference %q: entries delegated to another server were not read, so the read is incomplete "+
		"(list its DN in source.ldap.ignore_referrals if no user of this job lives there)", e.Referral)
}

// referralDN returns the normalised DN an LDAP URL points to, or "" when
// the URL names none (or is not an LDAP URL).
func referralDN(ref string) string {
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") {
		return ""
	}
	p := strings.TrimPrefix(u.Path, "/")
	if p == "" {
		return ""
	}
	dn, err := ldap.ParseDN(p)
	if err != nil {
		return ""
	}
	return strings.ToLower(dn.String())
}

// ignoredReferral reports whether a continuation reference may be skipped:
// it points at or below a DN listed in ignore_referrals (or is listed
// verbatim), or into an Active Directory DNS or configuration partition.
func (c *Config) ignoredReferral(ref string) bool {
	dn := referralDN(ref)
	for _, ig := range c.IgnoreReferrals {
		if strings.EqualFold(urlBase(ig), urlBase(ref)) {
			return true
		}
		if dn == "" {
			continue
		}
		p, err := ldap.ParseDN(ig)
		if err != nil {
			continue // Validate refused it
		}
		if under(dn, strings.ToLower(p.String())) {
			return true
		}
	}
	if dn == "" {
		return false
	}
	first, _, _ := strings.Cut(dn, ",")
	for _, p := range adPartitions {
		if first == p {
			return true
		}
	}
	return false
}

// under reports whether dn equals parent or lies below it (both
// normalised by ParseDN and lower-cased).
func under(dn, parent string) bool {
	return dn == parent || strings.HasSuffix(dn, ","+parent)
}

// urlBase is an LDAP URL without its "?attributes?scope?filter" part, which
// servers add to references (slapd appends "??sub").
func urlBase(u string) string {
	u, _, _ = strings.Cut(strings.TrimSpace(u), "?")
	return u
}
