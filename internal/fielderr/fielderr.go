package fielderr

import (
	"errors"
	"fmt"
	"strings"
)

// FieldError is a problem with one configuration field.
type FieldError struct {
	Path string // YAML path, e.g. "source.ldap.base_dn"
	Err  error
}

func (e *FieldError) Error() string {
	if e.Path == "" {
		return e.Err.Error()
	}
	return e.Path + ": " + e.Err.Error()
}

func (e *FieldError) Unwrap() error { return e.Err }

// New returns a FieldError for path with a formatted message.
func New(path, format string, args ...any) *FieldError {
	return &FieldError{Path: path, Err: fmt.Errorf(format, args...)}
}

// List collects problems; its Err is nil when nothing was added.
type List []error

// Add appends a FieldError for path.
func (l *List) Add(path, format string, args ...any) {
	*l = append(*l, New(path, format, args...))
}

// AddErr appends err under prefix: a FieldError (or a List, or an
// errors.Join of them) gets prefix prepended to its path; any other error
// becomes a FieldError at prefix. A nil err adds nothing.
func (l *List) AddErr(prefix string, err error) {
	if err == nil {
		return
	}
	*l = append(*l, Prefix(prefix, err)...)
}

// Err returns the collected problems as one error (nil when none). Each
// problem stays reachable with errors.As.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return joined(l)
}

type joined []error

func (j joined) Error() string {
	s := make([]string, len(j))
	for i, e := range j {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

func (j joined) Unwrap() []error { return j }

// Prefix returns err's problems with prefix prepended to each path.
func Prefix(prefix string, err error) []error {
	if err == nil {
		return nil
	}
	var out []error
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range m.Unwrap() {
			out = append(out, Prefix(prefix, e)...)
		}
		return out
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return []error{&FieldError{Path: join(prefix, fe.Path), Err: fe.Err}}
	}
	return []error{&FieldError{Path: prefix, Err: err}}
}

func join(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	case strings.HasPrefix(b, "["):
		return a + b
	}
	return a + "." + b
}
