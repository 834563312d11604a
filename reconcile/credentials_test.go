package reconcile_test

import (
	"errors"
	"net/http"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
)

// A refused client secret fails every call the same way: the run stops at
// the first refusal and fails (exit 1), instead of counting one failed user
// per record and completing "with failures" under the max_failures floor.
func TestRefusedCredentialsFailTheRunInsteadOfEachUser(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.write(people(2))
		e.mustRun(reconcile.Options{})
		rows := people(2) // two updates: under max_failures' floor of 3
		for _, r := range rows {
			r[5] = "Manager"
		}
		e.write(rows)
		client, err := pingone.New(pingone.Config{
			APIURL: e.emu.APIURL(), AuthURL: e.emu.AuthURL(), EnvironmentID: e.emu.EnvironmentID(),
			ClientID: e.emu.ClientID(), ClientSecret: secret.New("not-the-secret"), RateLimit: 1000, Concurrency: 1,
		}, zaptest.NewLogger(t), pingone.WithHTTPClient(&http.Client{Transport: e.rec}))
		if err != nil {
			t.Fatal(err)
		}
		e.eng.Target = client
		e.job.Workers = 1

		rep, err := e.run(reconcile.Options{})
		var authErr *pingone.AuthError
		if !errors.As(err, &authErr) {
			t.Fatalf("run error = %v, want a *pingone.AuthError (the run fails, it does not complete with failures)", err)
		}
		if rep == nil {
			t.Fatal("no report")
		}
		if rep.Counts.Failed > 1 {
			t.Errorf("failed = %d: the run went on after PingOne refused the credentials", rep.Counts.Failed)
		}
		for id, u := range e.users() {
			if u["title"] != "Engineer" {
				t.Errorf("user %s: title %v, want it unchanged", id, u["title"])
			}
		}
	})
}
