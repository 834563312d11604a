package metrics

import "github.com/prometheus/client_golang/prometheus"

// Budget is one PingOne environment's request budget as this process sees
// it (sink/pingone/budget).
type Budget struct {
	// Environment is the PingOne environment ID the budget is shared under.
	Environment string
	// Limit is the configured budget, requests per second.
	Limit float64
	// Effective is the environment's effective rate: Limit, or less while
	// it recovers from a 429.
	Effective float64
	// Share is this process's rate over the last seconds.
	Share float64
	// Granted counts the requests this process was allowed to send.
	Granted int64
	// Throttles counts the 429s this process reported to the budget.
	Throttles int64
}

// budgetCollector reads the budgets at scrape time, so an idle process
// shows a share of 0 without anyone updating it.
type budgetCollector struct {
	read                                   func() []Budget
	limit, effective, share, granted, thro *prometheus.Desc
}

// RegisterBudgets exports the budgets read returns at each scrape:
//
//	syncd_pingone_budget_limit_rps{environment}       configured budget
//	syncd_pingone_budget_effective_rps{environment}   effective rate (lower after a 429)
//	syncd_pingone_budget_share_rps{environment}       this process's share
//	syncd_pingone_budget_granted_total{environment}   requests this process was allowed
//	syncd_pingone_budget_throttles_total{environment} 429s this process reported
//
// Summed over every process (sum by (environment)), share_rps stays at or
// under limit_rps.
func RegisterBudgets(reg prometheus.Registerer, read func() []Budget) {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "pingone_budget", name), help, []string{"environment"}, nil)
	}
	reg.MustRegister(&budgetCollector{
		read:      read,
		limit:     d("limit_rps", "Configured request budget of the PingOne environment (requests per second)."),
		effective: d("effective_rps", "Effective request rate of the environment for every process: the budget, or less after a 429."),
		share:     d("share_rps", "This process's share of the environment's budget over the last seconds (requests per second)."),
		granted:   d("granted_total", "Requests this process was allowed to send to the environment."),
		thro:      d("throttles_total", "429 responses this process reported to the environment's budget."),
	})
}

// Describe implements prometheus.Collector.
func (c *budgetCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.limit, c.effective, c.share, c.granted, c.thro} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *budgetCollector) Collect(ch chan<- prometheus.Metric) {
	for _, b := range c.read() {
		env := sanitize(b.Environment)
		ch <- prometheus.MustNewConstMetric(c.limit, prometheus.GaugeValue, b.Limit, env)
		ch <- prometheus.MustNewConstMetric(c.effective, prometheus.GaugeValue, b.Effective, env)
		ch <- prometheus.MustNewConstMetric(c.share, prometheus.GaugeValue, b.Share, env)
		ch <- prometheus.MustNewConstMetric(c.granted, prometheus.CounterValue, float64(b.Granted), env)
		ch <- prometheus.MustNewConstMetric(c.thro, prometheus.CounterValue, float64(b.Throttles), env)
	}
}
