package main

import (
	"fmt"
	"io"

	"github.com/syncd/syncd/reconcile"
)

var groupMark = map[reconcile.GroupAction]string{
	reconcile.GroupCreate: "+", reconcile.GroupUpdate: "~", reconcile.GroupDelete: "-",
	reconcile.GroupForget: "=", reconcile.GroupConflict: "!",
}

// printGroupOps prints a plan's group lines: `+ group`, `+ member user →
// group (via …)`, `- member`, then the group counts.
func printGroupOps(w io.Writer, g *reconcile.GroupReport) {
	if g == nil {
		return
	}
	for _, op := range g.Groups {
		fmt.Fprintf(w, "  %s %-16s %-28s %s  (%s)\n", groupMark[op.Action], string(op.Action)+" group", clip(op.Name, 28), clip(op.Anchor, 40), clip(op.Why, 200))
		if op.OldName != "" && op.OldName != op.Name {
			fmt.Fprintf(w, "      name: %q → %q\n", op.OldName, op.Name)
		}
	}
	n := 0
	for _, m := range g.Members {
		if m.Action == reconcile.MemberForget {
			continue
		}
		if n == maxOpLines {
			fmt.Fprintf(w, "  … more membership changes (use --output json or --report FILE for all)\n")
			break
		}
		n++
		sign, kind := "+", "member"
		if m.Action == reconcile.MemberRemove {
			sign = "-"
		}
		if m.Nested {
			kind = "nested group"
		}
		who := m.MemberName
		if who == "" {
			who = m.Member
		}
		line := fmt.Sprintf("  %s %-16s %s → %s", sign, kind, clip(who, 40), clip(m.GroupName, 40))
		if m.Via != "" {
			line += "  (via " + m.Via + ")"
		}
		switch {
		case m.Failed:
			line += "  [failed]"
		case m.Skipped:
			line += "  [skipped: the user or group does not exist yet]"
		}
		fmt.Fprintln(w, line)
	}
	c := g.Counts
	fmt.Fprintf(w, "  groups: %d created, %d adopted, %d updated, %d deleted, %d unchanged, %d conflicts; members: %d added, %d removed, %d unchanged, %d ignored (not managed users)\n",
		c.Created, c.Adopted, c.Updated, c.Deleted, c.Unchanged, c.Conflicts, c.MembersAdded, c.MembersRemoved, c.MembersUnchanged, c.MembersIgnored)
}
