package fielderr_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/fielderr"
)

func TestPrefixKeepsEveryProblemWithItsPath(t *testing.T) {
	var inner fielderr.List
	inner.Add("base_dn", "required")
	inner.Add("tls.ca_file", "not found")

	var outer fielderr.List
	outer.AddErr("jobs[corp].source.ldap", inner.Err())
	outer.AddErr("jobs[corp]", errors.New("plain error"))
	outer.AddErr("jobs[corp]", nil)
	outer.AddErr("jobs", fielderr.New("[2].name", "required"))

	err := outer.Err()
	want := []string{
		"jobs[corp].source.ldap.base_dn: required",
		"jobs[corp].source.ldap.tls.ca_file: not found",
		"jobs[corp]: plain error",
		"jobs[2].name: required",
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
	var fe *fielderr.FieldError
	if !errors.As(err, &fe) || fe.Path != want[0][:strings.Index(want[0], ":")] {
		t.Errorf("errors.As: %v %+v", errors.As(err, &fe), fe)
	}
	if (fielderr.List{}).Err() != nil {
		t.Error("an empty list is an error")
	}
}
