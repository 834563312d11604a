// Package budget shares a PingOne environment's request budget between every
// job and every syncd process that writes to it, and orders the requests
// waiting for it by priority class (DESIGN invariant 13).
//
// Two layers:
//
//   - A Pool is the environment's shared schedule of request slots, spaced
//     1/rate apart (a generic cell rate algorithm: one timestamp, "next
//     free slot", per environment). Memory keeps it in the process;
//     state/pgstate keeps it in a PostgreSQL row (every process using the
//     database shares it) and state/sqlitestate in the SQLite file
//     (processes on one host sharing the file share it). All pass the one
//     conformance suite in budgettest.
//   - A Limiter is one process's view of one environment: requests wait in
//     it by Class (disables first); while some wait, it reserves the next
//     slots — at most LeaseWindow ahead — and gives each to the
//     highest-class waiter, which sends at its slot's time. Slots are
//     disjoint across processes, so together they never exceed the rate;
//     a process that waits for nothing reserves nothing, so an idle
//     process holds no budget.
//
// A 429 from PingOne lowers the environment's effective rate for every
// process (Throttle); it recovers linearly (see Bucket).
package budget
