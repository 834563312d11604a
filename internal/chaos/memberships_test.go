package chaos

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

// TestKill9DuringMembershipApplyConverges kills `syncd sync` with SIGKILL
// while it applies groups and memberships (from_records groups), twice per
// trial: during the initial group creates and additions, then during a run that moves members
// between groups. After each kill the next runs must converge: every
// group once (found by its externalId, never created twice), each group's
// direct members exactly the export's, and a membership whose POST
// reached PingOne before the kill still removed once the export drops it
// (syncd added it: it must not be taken for one an admin added). A last
// run then has nothing to send.
func TestKill9DuringMembershipApplyConverges(t *testing.T) {
	trials := pick(2, 12)
	n, groups := pick(40, 150), pick(5, 10)
	r := rng(t)
	for trial := 0; trial < trials; trial++ {
		seed1, seed2 := r.Uint64(), r.Uint64()
		t.Run(fmt.Sprintf("trial%02d", trial), func(t *testing.T) {
			h := newHarness(t, harnessConfig{
				emu:     pingonetest.Options{Latency: 3 * time.Millisecond, Seed: int64(seed1%1000) + 1},
				pingone: "  rate_limit: 200\n  concurrency: 4",
				job: `    batch_size: 8
    safety: {max_disables: 100000, max_disable_percent: 100}
    groups:
      from_records: 'split(groups, ";")'
      safety: {max_membership_removals: 100000, max_membership_removal_percent: 100}`,
			})
			all := people(n)
			want := assignGroups(n, groups, seed1)
			h.writeFile("people.csv", csvWithGroups(all, want))
			m := memberships(want)
			// Users are written first, then groups, then memberships: the
			// kill lands among the group creates or the membership POSTs.
			k := n + 1 + int(seed1%uint64(max(groups+m-1, 1)))
			if trial == 0 {
				k = n + 1 + int(seed1%uint64(groups)) // among the group creates
			}
			h.killAfterWrites(k)
			h.syncUntilOK(3)
			checkGroupsConverged(t, h.emu, all, want)

			next := assignGroups(n, groups, seed2)
			h.writeFile("people.csv", csvWithGroups(all, next))
			moved := membershipChanges(want, next)
			h.killAfterWrites(1 + int(seed2%uint64(max(moved-1, 1))))
			h.syncUntilOK(3)
			checkGroupsConverged(t, h.emu, all, next)

			before := h.emu.Stats().Writes
			h.syncUntilOK(1)
			if w := h.emu.Stats().Writes - before; w != 0 {
				t.Errorf("the run after convergence wrote %d times", w)
			}
		})
	}
}

// assignGroups puts each person in each of the groups G0..G(k-1) with
// probability one half.
func assignGroups(n, k int, seed uint64) [][]string {
	s := seed | 1
	out := make([][]string, n)
	for i := range out {
		for g := 0; g < k; g++ {
			s = s*6364136223846793005 + 1442695040888963407
			if (s>>33)%2 == 0 {
				out[i] = append(out[i], fmt.Sprintf("G%d", g))
			}
		}
	}
	return out
}

func memberships(gs [][]string) int {
	n := 0
	for _, g := range gs {
		n += len(g)
	}
	return n
}

// membershipChanges counts the additions and removals from a to b.
func membershipChanges(a, b [][]string) int {
	n := 0
	for i := range a {
		for _, g := range a[i] {
			if !slices.Contains(b[i], g) {
				n++
			}
		}
		for _, g := range b[i] {
			if !slices.Contains(a[i], g) {
				n++
			}
		}
	}
	return n
}

// csvWithGroups is the export with a groups column.
func csvWithGroups(ps []person, groups [][]string) []byte {
	var b bytes.Buffer
	b.WriteString("id,uid,mail,givenName,sn,title,active,groups\n")
	for i, p := range ps {
		for j, f := range []string{p.id, p.uid, p.mail, p.given, p.family, p.title, p.active, strings.Join(groups[i], ";")} {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvField(f))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// checkGroupsConverged checks that PingOne holds each group of the export
// once, carrying its name as externalId, with exactly the export's direct
// members.
func checkGroupsConverged(t *testing.T, emu *pingonetest.Emulator, ps []person, groups [][]string) {
	t.Helper()
	want := map[string][]string{}
	for i, p := range ps {
		for _, g := range groups[i] {
			want[g] = append(want[g], p.uid)
		}
	}
	byName := map[string]pingonetest.GroupInfo{}
	for _, g := range emu.Groups() {
		if _, dup := byName[g.Name]; dup {
			t.Fatalf("duplicate: two PingOne groups called %q", g.Name)
		}
		if g.ExternalID != g.Name {
			t.Fatalf("group %q carries externalId %q", g.Name, g.ExternalID)
		}
		byName[g.Name] = g
	}
	for name, members := range want {
		g, ok := byName[name]
		if !ok {
			t.Fatalf("group %s missing from PingOne", name)
		}
		var got []string
		for _, id := range emu.DirectMembers(g.ID) {
			u, _ := emu.User(id)
			got = append(got, fmt.Sprint(u["username"]))
		}
		sort.Strings(got)
		sort.Strings(members)
		if !slices.Equal(got, members) {
			t.Fatalf("group %s: PingOne has members %v, want %v", name, got, members)
		}
	}
}
