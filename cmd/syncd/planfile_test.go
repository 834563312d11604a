package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestReadPlan(t *testing.T) {
	ops := strings.Repeat(`{"anchor":"a","actions":["create"],"changes":[{"attribute":"x","old":"","new":"}{]["}],"why":"new"},`, 1000)
	plan := `{"version":1,"config":"c.yaml","jobs": [
{"job":"hr","counts":{"records":3},"status":"planned","plan_digest":"abc","operations":[` + ops + `{}],"rejects":[]},
{"job":"ad","status":"failed","plan_digest":"","error":"boom"},
{"job":"hr2","status":"planned","plan_digest":"d","revert_of":12}
]}
`
	v, jobs, err := readPlan(strings.NewReader(plan))
	if err != nil || v != 1 || len(jobs) != 3 ||
		jobs[0] != (planJob{Job: "hr", Status: "planned", PlanDigest: "abc"}) || jobs[1] != (planJob{Job: "ad", Status: "failed"}) ||
		jobs[2] != (planJob{Job: "hr2", Status: "planned", PlanDigest: "d", RevertOf: 12}) {
		t.Fatalf("readPlan = %d, %+v, %v", v, jobs, err)
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
