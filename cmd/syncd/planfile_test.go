package main

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestReadPlan(t *testing.T) {
	ops := strings.Repeat(`{"anchor":"a","actions":["create"],"changes":[{"attribute":"x","old":"","new":"}{]["}],"why":"new"},`, 1000)
	plan := `{"version":1,"config":"c.yaml","verify":true,"jobs": [
{"job":"hr","counts":{"records":3},"status":"planned","plan_digest":"abc","operations":[` + ops + `{}],"rejects":[]},
{"job":"ad","status":"failed","plan_digest":"","error":"boom"},
{"job":"hr2","status":"planned","plan_digest":"d","revert_of":12}
]}
`
	v, jobs, err := readPlan(strings.NewReader(plan))
	if err != nil || v != (planHead{Version: 1, Verify: true}) || len(jobs) != 3 ||
		jobs[0] != (planJob{Job: "hr", Status: "planned", PlanDigest: "abc"}) || jobs[1] != (planJob{Job: "ad", Status: "failed"}) ||
		jobs[2] != (planJob{Job: "hr2", Status: "planned", PlanDigest: "d", RevertOf: 12}) {
		t.Fatalf("readPlan = %+v, %+v, %v", v, jobs, err)
	}
	for _, bad := range []string{"", "[]", `{"version":"one"}`, `{"version":1,"jobs":{}}`, `{"version":1,"jobs":[1]}`, plan[:len(plan)/2], plan + "x"} {
		if _, _, err := readPlan(strings.NewReader(bad)); err == nil {
			t.Errorf("readPlan(%.40q…) = nil error", bad)
		}
	}
}

// A stranger's file never panics the reader, and what it accepts is JSON.
func FuzzReadPlan(f *testing.F) {
	f.Add(`{"version":1,"config":"c","jobs":[{"job":"hr","status":"planned","plan_digest":"abc","operations":[{"anchor":"a"}]}]}`)
	f.Add(`{"version":1,"jobs":null}`)
	f.Add(`{"jobs":[{"job":"x","nested":{"a":[1,{"b":[]}]}}],"version":1}`)
	f.Add(`{"version":1,"jobs":[`)
	f.Fuzz(func(t *testing.T, s string) {
		_, _, err := readPlan(strings.NewReader(s))
		if err == nil && !json.Valid([]byte(s)) {
			t.Fatalf("accepted invalid JSON %q", s)
		}
	})
}

// TestReadPlanCapsEachElement: a padded or oversized element fails the
// read once it passes maxPlanValue, however large the file.
func TestReadPlanCapsEachElement(t *testing.T) {
	// The cap counts from each element's start as the decoder reads, which
	// may already hold some of it: a little over the cap may pass.
	over := maxPlanValue + 64<<10
	big := strings.Repeat("x", over)
	for name, plan := range map[string]string{
		"padding between members":  `{"version":1,` + strings.Repeat(" ", over) + `"jobs":[]}`,
		"padding between elements": `{"version":1,"jobs":[{"job":"a","operations":[{},` + strings.Repeat("\n", over) + `{}]}]}`,
		"one huge string":          `{"version":1,"jobs":[{"job":"a","operations":["` + big + `"]}]}`,
		"one huge job name":        `{"version":1,"jobs":[{"job":"` + big + `"}]}`,
	} {
		if _, _, err := readPlan(strings.NewReader(plan)); !errors.Is(err, errPlanValueTooLarge) {
			t.Errorf("%s: err = %v, want errPlanValueTooLarge", name, err)
		}
	}
	// Many elements, each small, add up to more than the cap: fine.
	ops := strings.Repeat(`{"anchor":"`+strings.Repeat("a", 1000)+`"},`, (maxPlanValue/1000)+100)
	if _, jobs, err := readPlan(strings.NewReader(`{"version":1,"jobs":[{"job":"a","operations":[` + ops + `{}]}]}`)); err != nil || len(jobs) != 1 {
		t.Errorf("a large plan of small elements: %v", err)
	}
}
