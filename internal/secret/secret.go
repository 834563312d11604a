package secret

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Value is a secret string.
type Value struct{ v string }

// New wraps s.
func New(s string) Value { return Value{v: s} }

// Reveal returns the secret itself.
func (s Value) Reveal() string { return s.v }

// IsZero reports whether no secret is set.
func (s Value) IsZero() bool { return s.v == "" }

const redacted = "[redacted]"

// maxSecretBytes caps a secret file.
const maxSecretBytes = 64 << 10

func (s Value) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Value) GoString() string { return s.String() }

// MarshalJSON writes the redacted form.
func (s Value) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText writes the redacted form (YAML, zap.Any, text encoders).
func (s Value) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a secret from YAML or the environment.
func (s *Value) UnmarshalText(b []byte) error {
	s.v = string(b)
	return nil
}

// ReadFile reads a secret from a file (trailing newlines dropped). It
// refuses what would not keep a secret or would hang start-up: a file that
// others may read or write or its group may write, anything but a regular file (a FIFO, a device),
// and an empty file. Errors name the path, never the content.
func ReadFile(path string) (Value, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Value{}, fmt.Errorf("read secret: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return Value{}, fmt.Errorf("secret file %s is not a regular file", path)
	}
	if fi.Mode().Perm()&0o026 != 0 {
		// Group write too: whoever may write the file chooses the secret
		// syncd sends (and may swap it for a file others read).
		return Value{}, fmt.Errorf("secret file %s is readable or writable by others, or writable by its group (mode %#o): chmod go-w,o-r it", path, fi.Mode().Perm())
	}
	if fi.Size() > maxSecretBytes {
		return Value{}, fmt.Errorf("secret file %s is larger than %d KiB: not a secret", path, maxSecretBytes>>10)
	}
	f, err := os.Open(path)
	if err != nil {
		return Value{}, fmt.Errorf("read secret: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretBytes+1))
	if err != nil {
		return Value{}, fmt.Errorf("read secret: %w", err)
	}
	if len(b) > maxSecretBytes {
		return Value{}, fmt.Errorf("secret file %s is larger than %d KiB: not a secret", path, maxSecretBytes>>10)
	}
	s := strings.TrimRight(string(b), "\r\n")
	if s == "" {
		return Value{}, fmt.Errorf("secret file %s is empty", path)
	}
	return New(s), nil
}
