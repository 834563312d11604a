// Package budget shares a PingOne environment's request budget between every
// job and every syncd process that writes to it, and orders the requests
// waiting for it by priority class (DESIGN invariant 13).
//
// Two layers:
//
//   - A Pool is the environment's shared token bucket. Memory keeps it in
//     the process; state/pgstate keeps it in a PostgreSQL row (every process
//     using the database shares it) and state/sqlitestate in the SQLite file
//     (processes on one host sharing the file share it). All pass the one
//     conformance suite in budgettest.
//   - A Limiter is one process's view of one environment: requests wait in
//     it by Class (disables first), and it takes tokens from the Pool only
//     while requests wait, a few at a time, handing each token straight to
//     the highest-class waiter. An idle process holds no budget.
//
// A 429 from PingOne lowers the environment's effective rate for every
// process (Throttle); it recovers linearly (see Bucket).
package budget
