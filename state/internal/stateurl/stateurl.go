package stateurl

import (
	"net/url"
	"strings"
)

// redacted replaces a secret; url.URL.Redacted uses the same marker.
const redacted = "xxxxx"

// secretParams are query parameters libpq and pgx accept that carry secrets.
var secretParams = []string{"password", "sslpassword", "passfile_password"}

// Redact returns rawURL with any password (in the user info or a password
// query parameter) replaced by "xxxxx". The user info runs from "://" to
// the LAST '@': a password holding an unencoded '@' (or '/', '?', '#') is
// redacted whole, never cut at its first '@' with its tail left to read as
// a host name. A URL that does not parse has everything after "?" dropped.
func Redact(rawURL string) string {
	s := rawURL
	if scheme, rest, ok := strings.Cut(rawURL, "://"); ok {
		if at := strings.LastIndexByte(rest, '@'); at >= 0 {
			userinfo, host := rest[:at], rest[at+1:]
			user, _, hasPassword := strings.Cut(userinfo, ":")
			if hasPassword {
				if strings.ContainsAny(user, "@/?#") {
					// Where the user name ends is anyone's guess: hide it all.
					userinfo = redacted
				} else {
					userinfo = user + ":" + redacted
				}
				s = scheme + "://" + userinfo + "@" + host
			}
		}
	}
	u, err := url.Parse(s)
	if err != nil {
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

// Secrets returns the secret fragments of rawURL that a driver's error
// text might echo: the user-info password (raw and decoded), every part of
// it around an unencoded '@', and password query parameters. Fragments
// shorter than 3 characters are left out: replacing them would mangle
// messages without hiding anything a guess would not find.
func Secrets(rawURL string) []string {
	var out []string
	add := func(s string) {
		if len(s) >= 3 && s != redacted {
			out = append(out, s)
		}
	}
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		userinfo := rest[:at]
		if _, pw, ok := strings.Cut(userinfo, ":"); ok {
			forms := []string{pw}
			if dec, err := url.PathUnescape(pw); err == nil && dec != pw {
				forms = append(forms, dec)
			}
			for _, f := range forms {
				add(f)
				for part := range strings.SplitSeq(f, "@") {
					add(part)
				}
			}
		}
		// The text after each '@' inside the user info could pass for a
		// host ("lookup tail@db").
		for i := 0; i < len(userinfo); i++ {
			if userinfo[i] == '@' {
				add(userinfo[i+1:])
			}
		}
	}
	if _, query, ok := strings.Cut(rest, "?"); ok {
		if q, err := url.ParseQuery(query); err == nil {
			for k, vs := range q {
				for _, p := range secretParams {
					if strings.EqualFold(k, p) {
						for _, v := range vs {
							add(v)
						}
					}
				}
			}
		}
	}
	// Longest first, so a fragment inside a longer one never leaves the
	// longer one's rest behind.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// Scrub returns err with every fragment of secrets replaced by "xxxxx" in
// its text; errors.Is and errors.As still see the original chain. A nil
// err stays nil.
func Scrub(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	return &scrubbed{err: err, secrets: secrets}
}

type scrubbed struct {
	err     error
	secrets []string
}

func (e *scrubbed) Error() string {
	s := e.err.Error()
	for _, sec := range e.secrets {
		s = strings.ReplaceAll(s, sec, redacted)
	}
	return s
}

func (e *scrubbed) Unwrap() error { return e.err }
