package config_test

import (
	"strings"
	"testing"
)

func TestCreateDisabledIsAJobKeyOffByDefault(t *testing.T) {
	c, err := parse(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Jobs[0].CreateDisabled {
		t.Error("create_disabled is on by default")
	}
	c, err = parse(t, strings.Replace(minimal, "    population: Staff\n", "    population: Staff\n    create_disabled: true\n", 1), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Jobs[0].CreateDisabled {
		t.Error("jobs[].create_disabled: true not read")
	}
}
