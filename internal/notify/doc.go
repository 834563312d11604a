// Package notify tells people about runs through webhooks (the `notify:`
// config): a POST per event — a run stopped by the safety gate, a failed
// run, a run with rejected or failed users, or every run's summary — as
// JSON, a Slack message or a Teams card. Delivery is retried with backoff
// in the background and never blocks or fails a run. A message carries the
// job, the run id, counts and the first reasons, identifying users by
// anchor and username only: never a secret, never an attribute value.
//
// (daemon/notify.go is something else: systemd's sd_notify.)
package notify
