package ldapsource

import (
	"errors"
	"fmt"
	"net"

	"github.com/go-ldap/ldap/v3"
)

// BindError is a failed bind: wrong DN or password (LDAP result 49, AD adds
// "data 52e" and similar), disabled or locked service account. Retrying
// does not help; the configuration or the account must change.
type BindError struct {
	URL string
	DN  string
	Err error
}

func (e *BindError) Error() string {
	return fmt.Sprintf("ldap bind to %s as %q: %v", e.URL, e.DN, e.Err)
}

func (e *BindError) Unwrap() error { return e.Err }

// InvalidCredentials reports whether the server said the DN or password is
// wrong (LDAP result 49).
func (e *BindError) InvalidCredentials() bool {
	return ldap.IsErrorWithCode(e.Err, ldap.LDAPResultInvalidCredentials)
}

// TLSError is a failed TLS handshake or certificate check (unknown CA,
// wrong host name, expired certificate). It is never retried.
type TLSError struct {
	URL string
	Err error
}

func (e *TLSError) Error() string { return fmt.Sprintf("ldap tls with %s: %v", e.URL, e.Err) }

func (e *TLSError) Unwrap() error { return e.Err }

// ReadError ends a read early: the read is incomplete and must not lead to
// disables. It names the base DN and the page (1-based) that failed.
type ReadError struct {
	BaseDN string
	Page   int
	Err    error
}

func (e *ReadError) Error() string {
	return fmt.Sprintf("ldap read base_dn=%q page %d: %v", e.BaseDN, e.Page, e.Err)
}

func (e *ReadError) Unwrap() error { return e.Err }

// transient reports whether a failure to connect may go away by itself
// (refused, reset, timeout, DNS hiccup) and so deserves a retry at Open.
func transient(err error) bool {
	var (
		berr  *BindError
		terr  *TLSError
		nerr  net.Error
		operr *net.OpError
	)
	switch {
	case errors.As(err, &berr), errors.As(err, &terr):
		return false
	case errors.As(err, &nerr), errors.As(err, &operr):
		return true
	}
	return ldap.IsErrorAnyOf(err, ldap.ErrorNetwork, ldap.LDAPResultBusy, ldap.LDAPResultUnavailable)
}
