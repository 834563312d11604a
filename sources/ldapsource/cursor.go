package ldapsource

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// cursorVersion is the version of the cursor encoding; a cursor of another
// version is unusable (full read).
const cursorVersion = 1

// maxCursor bounds the cursor bytes decodeCursor accepts: a syncrepl
// cookie is ~60 bytes per base DN, the other kinds less.
const maxCursor = 1 << 20

// cursor is where a delta read starts. Its encoding is a small versioned
// JSON object, so that a person reading the state database can make sense
// of it and a change of method or server is detected (full read):
//
//	{"v":1,"kind":"syncrepl","bases":["ou=people,dc=example,dc=com"],"cookies":["cmlkPTAwMCxjc249..."]}
//	{"v":1,"kind":"usn","bases":[...],"dc":"CN=NTDS Settings,CN=DC1,...","invocation_id":"6f3c...","usn":41236}
//	{"v":1,"kind":"timestamp","bases":[...],"since":"20261126075654Z"}
//	{"v":1,"kind":"dirsync","bases":[...],"cookie":"TVNEUwMAAAAF..."}
type cursor struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
	// Bases are the base DNs the cursor covers, in config order
	// (normalised); cookies are per base DN.
	Bases []string `json:"bases"`
	// Cookies (syncrepl) are the server's sync cookies, one per base DN
	// (base64 in JSON).
	Cookies [][]byte `json:"cookies,omitempty"`
	// Cookie (dirsync) is the DirSync cookie of the domain naming context.
	Cookie []byte `json:"cookie,omitempty"`
	// DC (usn) is the dsServiceName of the domain controller that was
	// read, InvocationID its invocationId; USN its highestCommittedUSN
	// when the read started.
	DC           string `json:"dc,omitempty"`
	InvocationID string `json:"invocation_id,omitempty"`
	USN          int64  `json:"usn,omitempty"`
	// Since (timestamp) is a GeneralizedTime no later than the server's
	// time when the read started.
	Since string `json:"since,omitempty"`
}

func (c cursor) encode() []byte {
	c.V = cursorVersion
	b, err := json.Marshal(c)
	if err != nil { // cannot happen: only strings, ints and byte slices
		panic(fmt.Sprintf("ldap cursor: %v", err))
	}
	return b
}

// decodeCursor parses cursor bytes strictly: anything unexpected (other
// version, unknown kind or field, missing or malformed value) is an error,
// which the caller turns into a full read.
func decodeCursor(b []byte) (cursor, error) {
	var c cursor
	if len(b) > maxCursor {
		return c, fmt.Errorf("%d bytes, more than a cursor can be", len(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return cursor{}, fmt.Errorf("not a cursor: %w", err)
	}
	if dec.More() {
		return cursor{}, errors.New("not a cursor: trailing data")
	}
	if c.V != cursorVersion {
		return cursor{}, fmt.Errorf("cursor version %d, want %d", c.V, cursorVersion)
	}
	if len(c.Bases) == 0 {
		return cursor{}, errors.New("cursor names no base DN")
	}
	switch c.Kind {
	case DeltaSyncrepl:
		if len(c.Cookies) != len(c.Bases) {
			return cursor{}, fmt.Errorf("syncrepl cursor: %d cookies for %d base DNs", len(c.Cookies), len(c.Bases))
		}
		for i, k := range c.Cookies {
			if len(k) == 0 {
				return cursor{}, fmt.Errorf("syncrepl cursor: empty cookie for %q", c.Bases[i])
			}
		}
	case DeltaDirSync:
		if len(c.Cookie) == 0 {
			return cursor{}, errors.New("dirsync cursor: no cookie")
		}
	case DeltaUSN:
		if c.DC == "" || c.InvocationID == "" {
			return cursor{}, errors.New("usn cursor: no domain controller identity")
		}
		if c.USN < 0 {
			return cursor{}, fmt.Errorf("usn cursor: negative USN %d", c.USN)
		}
	case DeltaTimestamp:
		if _, err := parseGenTime(c.Since); err != nil {
			return cursor{}, fmt.Errorf("timestamp cursor: since %q: %w", c.Since, err)
		}
		if !genTimeRE.MatchString(c.Since) {
			return cursor{}, fmt.Errorf("timestamp cursor: since %q is not YYYYMMDDhhmmssZ", c.Since)
		}
	default:
		return cursor{}, fmt.Errorf("cursor kind %q unknown", c.Kind)
	}
	return c, nil
}

// normBases returns the base DNs in a comparable form.
func normBases(dns []string) []string {
	out := make([]string, len(dns))
	for i, dn := range dns {
		if p, err := ldap.ParseDN(dn); err == nil {
			out[i] = strings.ToLower(p.String())
		} else {
			out[i] = strings.ToLower(dn)
		}
	}
	return out
}

// usableFor says why c cannot start a delta read with method over bases,
// or "" when it can.
func (c cursor) usableFor(method string, bases []string) string {
	if c.Kind != method {
		return fmt.Sprintf("cursor is for %s, this read uses %s", c.Kind, method)
	}
	if len(c.Bases) != len(bases) {
		return "the base DNs changed"
	}
	for i := range bases {
		if c.Bases[i] != bases[i] {
			return "the base DNs changed"
		}
	}
	return ""
}

// formatGenTime formats t as the GeneralizedTime a filter compares with
// (UTC, whole seconds).
func formatGenTime(t time.Time) string { return t.UTC().Format("20060102150405Z") }

// genTimeValueRE matches the GeneralizedTime values directories send
// (modifyTimestamp, currentTime): YYYYMMDDhhmmss, an optional fraction,
// and Z.
var genTimeValueRE = regexp.MustCompile(`^([0-9]{14})(?:[.,]([0-9]{1,9}))?Z$`)

// parseGenTime parses a GeneralizedTime in UTC ("20261126075654Z",
// "20261126075654.557529Z", AD's "20261126053710.0Z").
func parseGenTime(s string) (time.Time, error) {
	m := genTimeValueRE.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("%q is not a UTC GeneralizedTime", s)
	}
	t, err := time.Parse("20060102150405", m[1])
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: %w", s, err)
	}
	if m[2] != "" {
		ns, _ := strconv.Atoi((m[2] + "000000000")[:9])
		t = t.Add(time.Duration(ns))
	}
	return t.UTC(), nil
}
