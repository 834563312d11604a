package main

import "syscall"

// noCoreDump marks the process not dumpable (prctl PR_SET_DUMPABLE 0): no
// core file, even through a core_pattern pipe, and no ptrace by others of
// the same user. Best effort: a failure leaves the default.
func noCoreDump() {
	const prSetDumpable = 4
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0)
	var lim syscall.Rlimit
	_ = syscall.Setrlimit(syscall.RLIMIT_CORE, &lim)
}
