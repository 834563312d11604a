package mapper

import (
	"strings"
	"testing"
)

// TestNonASCIIEmailIsRejectedBeforeSending: PingOne checks email as an
// RFC 2822 addr-spec (ASCII) and refuses such a user mid-run; the mapper
// rejects it first, suggesting removeDiacritics, and the suggestion works.
func TestNonASCIIEmailIsRejectedBeforeSending(t *testing.T) {
	t.Parallel()
	plain := mustCompile(t, Config{Mapping: map[string]string{"username": "uid", "email": "mail"}, Population: Population{Name: "Staff"}})
	fixed := mustCompile(t, Config{Mapping: map[string]string{"username": "uid", "email": "removeDiacritics(mail)"}, Population: Population{Name: "Staff"}})
	for _, mail := range []string{"zoë.müller@example.com", "jörg@bär.example", "søren@example.dk"} {
		res := plain.Map(rec("a1", "uid", "u1", "mail", mail))
		wantReject(t, res, "email", "non-ASCII")
		if !strings.Contains(res.Reject.Reason, "removeDiacritics") {
			t.Errorf("%s: reason %q does not suggest removeDiacritics", mail, res.Reject.Reason)
		}
	}
	if res := fixed.Map(rec("a1", "uid", "u1", "mail", "zoë.müller@example.com")); res.Outcome != Mapped || res.Desired.Attributes["email"] != "zoe.muller@example.com" {
		t.Errorf("with removeDiacritics: %v %+v %+v", res.Outcome, res.Desired.Attributes, res.Reject)
	}
	if res := plain.Map(rec("a1", "uid", "u1", "mail", "zoe@example.com")); res.Outcome != Mapped {
		t.Errorf("ASCII address rejected: %+v", res.Reject)
	}
}
