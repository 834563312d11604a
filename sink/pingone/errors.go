package pingone

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is an error response from the PingOne API (API-NOTES §6):
// the HTTP status plus the P1Error body when there is one.
type APIError struct {
	// Status is the HTTP status code.
	Status int
	// Code is the top-level error code, e.g. INVALID_DATA, NOT_FOUND,
	// REQUEST_LIMITED; empty when the body was not a PingOne error.
	Code string
	// Message is PingOne's English debug text (or the start of a non-JSON
	// body).
	Message string
	// ID is PingOne's correlation ID for its support.
	ID string
	// Details are the per-field problems, e.g. UNIQUENESS_VIOLATION on
	// target username.
	Details []ErrorDetail
	// RetryAfter is the parsed Retry-After header (0 when absent or
	// unparseable), capped at 30s.
	RetryAfter time.Duration
	// Op names the client operation, e.g. "create_user".
	Op string
}

// ErrorDetail is one entry of an APIError's details.
type ErrorDetail struct {
	Code       string         `json:"code"`
	Target     string         `json:"target"`
	Message    string         `json:"message"`
	InnerError map[string]any `json:"innerError,omitempty"`
}

// Error reads like "pingone 400 INVALID_DATA: username: UNIQUENESS_VIOLATION
// a user with this username already exists (id 6c79...)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pingone %d", e.Status)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	var parts []string
	for _, d := range e.Details {
		s := d.Code
		if d.Target != "" {
			s = d.Target + ": " + s
		}
		if d.Message != "" {
			s += " " + d.Message
		}
		parts = append(parts, s)
	}
	if len(parts) == 0 && e.Message != "" {
		parts = append(parts, e.Message)
	}
	if len(parts) > 0 {
		b.WriteString(": " + strings.Join(parts, "; "))
	}
	if e.ID != "" {
		b.WriteString(" (id " + e.ID + ")")
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: 408, 429
// and 5xx other than 501.
func (e *APIError) Retryable() bool { return retryableStatus(e.Status) }

func retryableStatus(status int) bool {
	switch status {
	case http.StatusRequestTimeout, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// hasDetail reports whether the error carries code at the top level or in
// any detail.
func (e *APIError) hasDetail(code string) bool {
	if e.Code == code {
		return true
	}
	for _, d := range e.Details {
		if d.Code == code {
			return true
		}
	}
	return false
}

// AuthError is a failure to obtain a token from the worker app's token
// endpoint. It names the client ID and token URL, never the secret.
type AuthError struct {
	ClientID string
	TokenURL string
	// Status is the token endpoint's HTTP status (0 for a transport error).
	Status int
	// Code and Description are the OAuth error and error_description.
	Code        string
	Description string
	// Err is the underlying error.
	Err error
}

// Error names the client ID and token URL and, for a refused credential,
// what to check; never the secret.
func (e *AuthError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pingone token for client %q at %s", e.ClientID, e.TokenURL)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": %d", e.Status)
	}
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if e.Description != "" {
		b.WriteString(" " + e.Description)
	}
	if e.Credential() {
		b.WriteString(" (check client_id, the client secret and auth_method against the worker app)")
	} else if e.Status == 0 && e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error (a transport error, for errors.As
// on net or TLS errors).
func (e *AuthError) Unwrap() error { return e.Err }

// Credential reports whether the token endpoint refused the credentials
// (400/401, e.g. invalid_client): retrying cannot help.
func (e *AuthError) Credential() bool {
	return e.Status == http.StatusBadRequest || e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden
}

// Retryable reports whether asking again may succeed (token endpoint
// overloaded or unreachable, but not a TLS failure).
func (e *AuthError) Retryable() bool {
	if e.Status != 0 {
		return retryableStatus(e.Status)
	}
	ok, _ := transportRetryable(e.Err, nil)
	return ok
}

// IsNotFound reports whether err is a PingOne 404.
func IsNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

// IsUniquenessViolation reports whether err is PingOne refusing a value
// that must be unique (400 with detail UNIQUENESS_VIOLATION, or 409).
func IsUniquenessViolation(err error) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	return ae.Status == http.StatusConflict ||
		(ae.Status == http.StatusBadRequest && ae.hasDetail("UNIQUENESS_VIOLATION"))
}

// IsCredentialError reports whether err is the token endpoint refusing the
// worker app's credentials.
func IsCredentialError(err error) bool {
	var ae *AuthError
	return errors.As(err, &ae) && ae.Credential()
}

// Retryable reports whether the failed call may succeed if made again
// later: 408/429/5xx, transport failures and timeouts; not credential,
// TLS, client (4xx) errors or a cancelled context.
func Retryable(err error) bool {
	if err == nil {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Retryable()
	}
	var au *AuthError
	if errors.As(err, &au) {
		return au.Retryable()
	}
	ok, _ := transportRetryable(err, nil)
	return ok
}

// transportRetryable classifies an error from http.Client.Do. parent is
// the caller's context (nil when unknown): a deadline that expired on the
// per-request timeout is retryable, the caller's own is not.
func transportRetryable(err error, parent context.Context) (bool, string) {
	if err == nil {
		return false, ""
	}
	if parent != nil && parent.Err() != nil {
		return false, "cancelled"
	}
	if errors.Is(err, context.Canceled) {
		return false, "cancelled"
	}
	if isTLSError(err) {
		return false, "tls"
	}
	if isRedirect(err) {
		return false, "redirect"
	}
	if errors.Is(err, errBodyTooLarge) {
		return false, "body too large"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true, "timeout"
	}
	var te interface{ Timeout() bool }
	if errors.As(err, &te) && te.Timeout() {
		return true, "timeout"
	}
	return true, "transport"
}

func isTLSError(err error) bool {
	var (
		uae  x509.UnknownAuthorityError
		cie  x509.CertificateInvalidError
		he   x509.HostnameError
		cve  *tls.CertificateVerificationError
		rhe  tls.RecordHeaderError
		alrt tls.AlertError
		ece  *tls.ECHRejectionError
	)
	return errors.As(err, &uae) || errors.As(err, &cie) || errors.As(err, &he) ||
		errors.As(err, &cve) || errors.As(err, &rhe) || errors.As(err, &alrt) ||
		errors.As(err, &ece) || hasX509(err)
}

// hasX509 catches the x509 errors isTLSError does not name (e.g.
// x509.SystemRootsError, x509.ConstraintViolationError) by their type's
// package.
func hasX509(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if t := fmt.Sprintf("%T", e); strings.HasPrefix(t, "x509.") || strings.HasPrefix(t, "*x509.") {
			return true
		}
	}
	return false
}

// parseAPIError builds an APIError from a non-2xx response body.
func parseAPIError(op string, status int, body []byte, retryAfter time.Duration) *APIError {
	e := &APIError{Status: status, Op: op, RetryAfter: retryAfter}
	var p struct {
		ID      string        `json:"id"`
		Code    string        `json:"code"`
		Message string        `json:"message"`
		Details []ErrorDetail `json:"details"`
	}
	if json.Unmarshal(body, &p) == nil && (p.Code != "" || p.ID != "" || p.Message != "") {
		e.ID, e.Code, e.Message, e.Details = p.ID, p.Code, p.Message, p.Details
		return e
	}
	e.Message = snippet(body, 200)
	return e
}

// snippet returns up to n bytes of b as printable single-line text.
func snippet(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	s := strings.ToValidUTF8(string(b), "?")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
