package stateurl

import (
	"net/url"
	"regexp"
	"strings"
)

// redacted replaces a secret; url.URL.Redacted uses the same marker.
const redacted = "xxxxx"

// secretParams are query parameters libpq and pgx accept that carry secrets.
var secretParams = []string{"password", "sslpassword", "passfile_password"}

// userinfoPassword matches ":password@" in a URL url.Parse rejected.
var userinfoPassword = regexp.MustCompile(`(://[^/@:]*):[^@]*@`)

// Redact returns rawURL with any password (in the user info or a password
// query parameter) replaced by "xxxxx". A URL that does not parse has its
// user-info password cut by pattern, and everything after "?" dropped.
func Redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		s := userinfoPassword.ReplaceAllString(rawURL, "${1}:"+redacted+"@")
		if i := strings.IndexByte(s, '?'); i >= 0 {
			s = s[:i] + "?" + redacted
		}
		return s
	}
	if u.RawQuery != "" {
		q := u.Query()
		changed := false
		for k := range q {
			for _, p := range secretParams {
				if strings.EqualFold(k, p) {
					q[k] = []string{redacted}
					changed = true
				}
			}
		}
		if changed {
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}
