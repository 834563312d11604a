// Package metrics owns syncd's Prometheus series: what a run did (duration,
// status, operations, rejects, managed objects, safety gate trips, skipped
// runs) and how the PingOne client spent its API budget (requests, latency,
// retries, 429s, rate-limiter waits).
//
// Every series is registered on the Registerer handed to New, never on the
// global default registry, so that tests and several daemons in one process
// stay apart. Label values are kept to small bounded sets: run and object
// statuses, operation types and results, and reject reasons are normalised
// to the constants below (anything else counts as "other"), and no label
// ever carries personal data, a username or an anchor.
//
// The job label is named sync_job, not job: Prometheus attaches its own job
// and instance labels to every scraped series, and a series exposing a job
// label of its own would be renamed to exported_job (or, with honor_labels,
// would overwrite the scrape job), breaking dashboards and alerts.
package metrics
