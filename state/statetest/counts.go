package statetest

import (
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/syncd/syncd/state"
)

// countOf counts job's checkpoints one by one, as CountCheckpoints must:
// every checkpoint, the active ones (a user id and enabled), the conflicts.
func countOf(t *testing.T, s state.Store, job string) state.CheckpointCounts {
	t.Helper()
	var n state.CheckpointCounts
	for _, cp := range all(t, s, job) {
		n.Total++
		if cp.UserID != "" && cp.Enabled {
			n.Active++
		}
		if cp.Status == state.StatusConflict {
			n.Conflicts++
		}
	}
	return n
}

// RunCounts checks state.CheckpointCounter against the checkpoints
// themselves through every way they change: saved new, saved over
// (enabled, status and user id changing), deleted, renamed
// (state.Owners), in two jobs that must not mix.
func RunCounts(t *testing.T, b Backend) {
	t.Parallel()
	s := b.Open(t)
	cc, ok := s.(state.CheckpointCounter)
	if !ok {
		t.Fatalf("%T does not implement state.CheckpointCounter", s)
	}
	check := func(step string) {
		t.Helper()
		for _, job := range []string{"hr", "it", "none"} {
			want := countOf(t, s, job)
			got, err := cc.CountCheckpoints(ctx(t), job)
			if err != nil {
				t.Fatalf("%s: CountCheckpoints(%s): %v", step, job, err)
			}
			if got != want {
				t.Errorf("%s: CountCheckpoints(%s) = %+v, want %+v", step, job, got, want)
			}
		}
	}
	check("empty")

	var hr, it []state.Checkpoint
	for i := range 600 { // more than one batch of the SQLite backend
		hr = append(hr, checkpoint(i))
		if i%5 == 0 {
			cp := checkpoint(i)
			cp.UserID = fmt.Sprintf("it-%d", i)
			it = append(it, cp)
		}
	}
	for i := range hr {
		if i%7 == 0 {
			hr[i].UserID = "" // a create that failed: never active
			hr[i].Enabled = true
		}
	}
	save := func(job string, cps []state.Checkpoint) {
		t.Helper()
		if err := s.SaveCheckpoints(ctx(t), job, cps); err != nil {
			t.Fatalf("SaveCheckpoints(%s): %v", job, err)
		}
	}
	save("hr", hr)
	save("it", it)
	check("saved")

	// Saved over: every third disabled, every fourth in conflict without
	// a user, one newly created.
	var again []state.Checkpoint
	for i := 0; i < len(hr); i += 3 {
		cp := hr[i]
		cp.Enabled = false
		again = append(again, cp)
	}
	for i := 1; i < len(hr); i += 4 {
		cp := hr[i]
		cp.Status, cp.UserID = state.StatusConflict, ""
		again = append(again, cp)
	}
	again = append(again, checkpoint(10_000))
	save("hr", again)
	check("saved over")

	var gone []string
	for i := 0; i < len(hr); i += 2 {
		gone = append(gone, hr[i].Anchor)
	}
	if err := s.DeleteCheckpoints(ctx(t), "hr", gone); err != nil {
		t.Fatalf("DeleteCheckpoints: %v", err)
	}
	check("deleted")

	if o, ok := s.(state.Owners); ok {
		renames := map[string]string{hr[1].Anchor: "moved-1", hr[3].Anchor: hr[5].Anchor} // the second replaces one
		if err := o.RenameAnchors(ctx(t), "hr", renames); err != nil {
			t.Fatalf("RenameAnchors: %v", err)
		}
		check("renamed")
	}
}

// DownSection returns the Down part of migration name in fsys.
func DownSection(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("read migration %s: %v", name, err)
	}
	_, down, ok := strings.Cut(string(b), "-- +goose Down")
	if !ok {
		t.Fatalf("migration %s has no Down section", name)
	}
	return down
}

// CheckCountsMigration checks that migration 00015 counts the checkpoints
// a database already holds, and that its triggers keep counting: s is a
// migrated store, exec runs SQL on its database, down and up are the
// migration's sections.
func CheckCountsMigration(t *testing.T, s state.Store, down, up string, exec func(sql string)) {
	exec(down)
	var cps []state.Checkpoint
	for i := range 40 {
		cps = append(cps, checkpoint(i))
	}
	save(t, s, "hr", cps)
	save(t, s, "it", cps[:7])
	exec(up)
	cc := s.(state.CheckpointCounter)
	count := func(job string) state.CheckpointCounts {
		t.Helper()
		want := countOf(t, s, job)
		got, err := cc.CountCheckpoints(ctx(t), job)
		if err != nil {
			t.Fatalf("CountCheckpoints(%s): %v", job, err)
		}
		if got != want {
			t.Errorf("CountCheckpoints(%s) = %+v, want %+v", job, got, want)
		}
		return got
	}
	if n := count("hr"); n.Total != 40 || n.Active == 0 || n.Conflicts == 0 {
		t.Errorf("counts after the migration: %+v; want 40 checkpoints, some active, some in conflict", n)
	}
	count("it")
	save(t, s, "hr", []state.Checkpoint{checkpoint(100)})
	if err := s.DeleteCheckpoints(ctx(t), "it", []string{cps[0].Anchor}); err != nil {
		t.Fatal(err)
	}
	count("hr")
	count("it")
	// No syncd code moves a checkpoint to another job; SQL may.
	exec(fmt.Sprintf(`UPDATE checkpoints SET job = 'it' WHERE job = 'hr' AND anchor = '%s'`, cps[20].Anchor))
	if n := count("it"); n.Total != 7 {
		t.Errorf("after a move to it: %+v; want 7 checkpoints", n)
	}
	count("hr")
}
