package metrics

import (
	"regexp"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace prefixes every series name.
const Namespace = "syncd"

// Run statuses accepted by ObserveRun (the reconcile run's outcome).
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusGated     = "gated"
)

// RunStatuses lists the run statuses, in the order last_run_status reports them.
var runStatuses = []string{StatusSucceeded, StatusFailed, StatusGated}

// Operation types counted by syncd_operations_total.
const (
	OpCreate  = "create"
	OpUpdate  = "update"
	OpEnable  = "enable"
	OpDisable = "disable"
	OpMove    = "move"
	OpAdopt   = "adopt"
	// OpDelete is a delete after deprovision.delete_after.
	OpDelete = "delete"
	// Group and membership operations (jobs with a groups block).
	OpGroupCreate  = "group_create"
	OpGroupUpdate  = "group_update"
	OpGroupDelete  = "group_delete"
	OpMemberAdd    = "member_add"
	OpMemberRemove = "member_remove"
)

// Operation results counted by syncd_operations_total.
const (
	ResultOK     = "ok"
	ResultFailed = "failed"
)

// Managed object statuses reported by syncd_objects (the state store's
// checkpoint statuses).
const (
	ObjectActive   = "active"
	ObjectDisabled = "disabled"
	ObjectFailed   = "failed"
	ObjectConflict = "conflict"
	ObjectPending  = "pending" // a create whose outcome is not recorded yet
	ObjectGone     = "gone"    // deleted in PingOne outside syncd
)

// Reject reasons counted by syncd_rejects_total. A reason outside this set is
// counted as RejectOther, so a caller cannot blow up the label's cardinality
// (or leak a value into it) by passing a free-form message.
const (
	RejectInvalidValue = "invalid_value" // a mapped value PingOne would refuse (bad email, too long, ...)
	RejectMissing      = "missing"       // a required attribute is missing
	RejectDuplicate    = "duplicate"     // two records claim one anchor or username
	RejectConflict     = "conflict"      // PingOne holds a user syncd may not take over
	RejectExpression   = "expression"    // a mapping expression failed on the record
	RejectSource       = "source"        // the source record itself is unusable (no anchor, bad row)
	RejectOther        = "other"
)

// Other is the label value any unknown operation type, result, status or
// object status is counted under.
const Other = "other"

var (
	opTypes        = set(OpCreate, OpUpdate, OpEnable, OpDisable, OpDelete, OpMove, OpAdopt, OpGroupCreate, OpGroupUpdate, OpGroupDelete, OpMemberAdd, OpMemberRemove)
	opResults      = set(ResultOK, ResultFailed)
	objectStatuses = []string{ObjectActive, ObjectDisabled, ObjectFailed, ObjectConflict, ObjectPending, ObjectGone}
	rejectReasons  = set(RejectInvalidValue, RejectMissing, RejectDuplicate, RejectConflict,
		RejectExpression, RejectSource, RejectOther)
	// labelValue bounds the free-form labels the PingOne client supplies
	// (operation names, retry reasons): they come from code, not data, but a
	// bug must not turn them into an unbounded or personal label.
	labelValue = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,64}$`)
)

func set(vs ...string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

func bounded(known map[string]bool, v string) string {
	if known[v] {
		return v
	}
	return Other
}

func sanitize(v string) string {
	if labelValue.MatchString(v) {
		return v
	}
	return Other
}

// RunResult is what one finished run of one job reports to ObserveRun.
type RunResult struct {
	Job      string
	Started  time.Time
	Duration time.Duration
	// Status is StatusSucceeded, StatusFailed or StatusGated.
	Status string
	// Ops counts applied operations: type (OpCreate, ...) -> result
	// (ResultOK, ResultFailed) -> n.
	Ops map[string]map[string]int
	// Rejects counts rejected records per reason (RejectInvalidValue, ...).
	Rejects map[string]int
	// Objects is the number of managed objects per status after the run
	// (ObjectActive, ...); a status left out is reported as 0. Nil leaves
	// the gauges as they were (e.g. a run that failed before reading state).
	Objects map[string]int
	// GateTripped is true when the safety gate stopped the run.
	GateTripped bool
	// RejectedRecords is how many of the job's records stand rejected
	// after the run (syncd_rejected_records); nil leaves the gauge as it was.
	RejectedRecords *int
}

// Metrics holds syncd's series. Its methods are safe for concurrent use.
// The four API methods (Request, Retry, RateLimited, LimiterWait) make it
// the PingOne client's observer.
type Metrics struct {
	runDuration    *prometheus.HistogramVec
	lastSuccess    *prometheus.GaugeVec
	lastRun        *prometheus.GaugeVec
	lastRunStatus  *prometheus.GaugeVec
	operations     *prometheus.CounterVec
	objects        *prometheus.GaugeVec
	rejected       *prometheus.GaugeVec
	rejects        *prometheus.CounterVec
	gateTrips      *prometheus.CounterVec
	runsSkipped    *prometheus.CounterVec
	jobInterval    *prometheus.GaugeVec
	apiRequests    *prometheus.CounterVec
	apiDuration    *prometheus.HistogramVec
	apiRetries     *prometheus.CounterVec
	apiRateLimited *prometheus.CounterVec
	limiterWait    prometheus.Counter
	changeLag      *prometheus.HistogramVec
}

// JobLabel is the label naming the sync job on every per-job series.
const JobLabel = "sync_job"

// New creates syncd's series and registers them on reg. It panics if one of
// them is already registered there (a wiring bug, as with MustRegister).
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		runDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "run_duration_seconds",
			Help:    "Duration of sync runs by job and outcome (succeeded, failed, gated).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 15), // 1 s .. ~4.5 h
		}, []string{JobLabel, "status"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_success_timestamp_seconds",
			Help: "Unix time at which the job's last successful run finished.",
		}, []string{JobLabel}),
		lastRun: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_run_timestamp_seconds",
			Help: "Unix time at which the job's last run finished, whatever its outcome.",
		}, []string{JobLabel}),
		lastRunStatus: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "last_run_status",
			Help: "1 for the outcome of the job's last run (succeeded, failed, gated), 0 for the others.",
		}, []string{JobLabel, "status"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "operations_total",
			Help: "PingOne operations applied by type (create, update, enable, disable, move, adopt) and result (ok, failed).",
		}, []string{JobLabel, "type", "result"}),
		objects: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "objects",
			Help: "Managed objects by status (active, disabled, failed, conflict, pending, gone) after the job's last run.",
		}, []string{JobLabel, "status"}),
		rejected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "rejected_records",
			Help: "Source records that stand rejected after the job's last run (every run exits 4 while any stands).",
		}, []string{JobLabel}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rejects_total",
			Help: "Source records rejected by the mapper or planner, by reason.",
		}, []string{JobLabel, "reason"}),
		gateTrips: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "safety_gate_trips_total",
			Help: "Runs stopped by the safety gate before any write.",
		}, []string{JobLabel}),
		runsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "runs_skipped_total",
			Help: "Scheduled runs skipped because another replica held the job's lock.",
		}, []string{JobLabel}),
		jobInterval: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "job_schedule_interval_seconds",
			Help: "Seconds between two scheduled runs of the job (for staleness alerts).",
		}, []string{JobLabel}),
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_requests_total",
			Help: "PingOne API requests by operation and HTTP status (\"error\" when no response arrived).",
		}, []string{"operation", "status"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "api_request_duration_seconds",
			Help:    "PingOne API request latency by operation.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"operation"}),
		apiRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_retries_total",
			Help: "PingOne API requests retried, by operation and reason.",
		}, []string{"operation", "reason"}),
		apiRateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "api_rate_limited_total",
			Help: "PingOne API responses with status 429, by operation.",
		}, []string{"operation"}),
		limiterWait: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: Namespace, Name: "rate_limiter_wait_seconds_total",
			Help: "Time spent waiting on syncd's own PingOne rate limiter.",
		}),
		changeLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "change_lag_seconds",
			Help:    "Watched changes: from when syncd received a change (persist message, poll, file event) to PingOne's answer to the write it caused.",
			Buckets: []float64{.1, .25, .5, 1, 1.5, 2, 3, 5, 10, 30, 60, 300},
		}, []string{JobLabel}),
	}
	reg.MustRegister(m.changeLag, m.runDuration, m.lastSuccess, m.lastRun, m.lastRunStatus, m.operations,
		m.objects, m.rejected, m.rejects, m.gateTrips, m.runsSkipped, m.jobInterval, m.apiRequests,
		m.apiDuration, m.apiRetries, m.apiRateLimited, m.limiterWait)
	return m
}

// ObserveRun records one finished run.
func (m *Metrics) ObserveRun(r RunResult) {
	m.InitJob(r.Job)
	status := r.Status
	switch status {
	case StatusSucceeded, StatusFailed, StatusGated:
	default:
		status = StatusFailed // an unknown outcome is not a success
	}
	m.runDuration.WithLabelValues(r.Job, status).Observe(r.Duration.Seconds())
	finished := float64(r.Started.Add(r.Duration).UnixNano()) / 1e9
	m.lastRun.WithLabelValues(r.Job).Set(finished)
	if status == StatusSucceeded {
		m.lastSuccess.WithLabelValues(r.Job).Set(finished)
	}
	for _, s := range runStatuses {
		v := 0.0
		if s == status {
			v = 1
		}
		m.lastRunStatus.WithLabelValues(r.Job, s).Set(v)
	}
	for typ, results := range r.Ops {
		for res, n := range results {
			if n > 0 {
				m.operations.WithLabelValues(r.Job, bounded(opTypes, typ), bounded(opResults, res)).Add(float64(n))
			}
		}
	}
	for reason, n := range r.Rejects {
		if n > 0 {
			m.rejects.WithLabelValues(r.Job, bounded(rejectReasons, reason)).Add(float64(n))
		}
	}
	if r.Objects != nil {
		for _, s := range objectStatuses {
			m.objects.WithLabelValues(r.Job, s).Set(float64(r.Objects[s]))
		}
	}
	if r.RejectedRecords != nil {
		m.rejected.WithLabelValues(r.Job).Set(float64(*r.RejectedRecords))
	}
	if r.GateTripped || status == StatusGated {
		m.gateTrips.WithLabelValues(r.Job).Inc()
	}
}

// RunSkipped counts a run of job skipped because another replica held its lock.
func (m *Metrics) RunSkipped(job string) {
	m.runsSkipped.WithLabelValues(job).Inc()
}

// SetJobInterval publishes the time between two scheduled runs of job, so
// that alerts can tell a stale job from a rarely scheduled one. It also
// creates the job's event counters at zero (InitJob).
func (m *Metrics) SetJobInterval(job string, d time.Duration) {
	m.jobInterval.WithLabelValues(job).Set(d.Seconds())
	m.InitJob(job)
}

// InitJob creates job's event counters (rejects per reason, safety gate
// trips, lock-held skips) at zero, so that Prometheus sees their first
// increase: increase() and rate() miss the first event of a series that
// appears already at 1. Calling it again is harmless.
func (m *Metrics) InitJob(job string) {
	for reason := range rejectReasons {
		m.rejects.WithLabelValues(job, reason)
	}
	m.gateTrips.WithLabelValues(job)
	m.runsSkipped.WithLabelValues(job)
}

// ChangeLag records the lag of one write a watch run made: from when the
// change reached syncd to PingOne's answer.
func (m *Metrics) ChangeLag(job string, d time.Duration) {
	m.changeLag.WithLabelValues(job).Observe(max(d, 0).Seconds())
}

// ForgetJob drops the per-job schedule series of a job that a reload
// removed. Run history series are kept: they describe what happened.
func (m *Metrics) ForgetJob(job string) {
	m.jobInterval.DeleteLabelValues(job)
}

// Request records one PingOne API request: its operation name, the HTTP
// status of the response (0 when none arrived) and its latency.
func (m *Metrics) Request(op string, status int, d time.Duration) {
	op = sanitize(op)
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.apiRequests.WithLabelValues(op, code).Inc()
	m.apiDuration.WithLabelValues(op).Observe(d.Seconds())
}

// Retry records that a PingOne API request is being retried, and why
// (e.g. "429", "5xx", "timeout", "network").
func (m *Metrics) Retry(op, reason string) {
	m.apiRetries.WithLabelValues(sanitize(op), sanitize(reason)).Inc()
}

// RateLimited records a 429 response from PingOne.
func (m *Metrics) RateLimited(op string) {
	m.apiRateLimited.WithLabelValues(sanitize(op)).Inc()
}

// LimiterWait records time spent waiting on syncd's own rate limiter.
func (m *Metrics) LimiterWait(d time.Duration) {
	if d > 0 {
		m.limiterWait.Add(d.Seconds())
	}
}
