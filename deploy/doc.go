// Package deploy holds syncd's deployment artifacts, not Go code: the
// systemd unit (systemd/), the container image (container/Dockerfile), the
// Kubernetes CronJob and Deployment (kubernetes/), the Grafana dashboard
// (grafana/) and the Prometheus alerts (prometheus/). Its tests parse and
// cross-check them: manifests reference only what exists, the image is
// static and non-root, every metric the dashboard and alerts query is one
// internal/metrics exports, and, where the tools are installed,
// systemd-analyze verify and promtool check and test them.
package deploy
