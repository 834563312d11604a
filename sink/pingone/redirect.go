package pingone

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// RedirectError is PingOne (or something between syncd and PingOne)
// answering with a redirect. syncd never follows one: Go's default policy
// would re-send the bearer token to another port, in clear after an
// https→http redirect, and on a 307/308 re-send the client secret of a
// token request to wherever the Location points (DESIGN invariant 10).
type RedirectError struct {
	// Status is the redirect's HTTP status (301, 302, 303, 307, 308).
	Status int
	// Target is where it pointed, without user info, query or fragment.
	Target string
}

// Error names the status and the redacted target.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("pingone answered %d redirecting to %s: syncd never follows a redirect (check api_url and auth_url, or a proxy between syncd and PingOne)", e.Status, e.Target)
}

// refuseRedirect is the CheckRedirect policy of both the API and the token
// HTTP clients: nothing is sent to the redirect's target.
func refuseRedirect(req *http.Request, _ []*http.Request) error {
	status := 0
	if req.Response != nil {
		status = req.Response.StatusCode
	}
	return &RedirectError{Status: status, Target: redactTarget(req.URL)}
}

// redactTarget shows where a URL points (scheme, host, path) and nothing
// it may carry: user info, query and fragment are dropped.
func redactTarget(u *url.URL) string {
	if u == nil {
		return "(no location)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// isRedirect reports whether err is a refused redirect (never retried).
func isRedirect(err error) bool {
	var re *RedirectError
	return errors.As(err, &re)
}

// errBodyTooLarge means a response body went past maxBody: the response is
// refused, not cut and parsed.
var errBodyTooLarge = fmt.Errorf("pingone response body larger than %d MiB: refused", maxBody>>20)
