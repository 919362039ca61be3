package metrics

import "github.com/prometheus/client_golang/prometheus"

var (
	onlineDesc = prometheus.NewDesc("dalaba_terminals_online", "Terminals online, by village.",
		[]string{"village"}, nil)
	totalDesc = prometheus.NewDesc("dalaba_terminals", "Terminals in the inventory, by village.",
		[]string{"village"}, nil)
	broadcastsDesc = prometheus.NewDesc("dalaba_broadcasts", "Broadcasts in the store, by state.",
		[]string{"state"}, nil)
	faultsDesc = prometheus.NewDesc("dalaba_terminal_faults_active", "Active terminal faults, by kind.",
		[]string{"kind"}, nil)
	rejectedDesc = prometheus.NewDesc("dalaba_reports_rejected_total",
		"Reports from terminals refused as malformed, from unknown terminals or about unknown broadcasts.",
		[]string{"kind"}, nil)
	refusedDesc = prometheus.NewDesc("dalaba_access_refused_total",
		"Terminal connections, subscriptions, publishes and audio calls refused: bad or revoked credentials, or another terminal's topic or id.",
		[]string{"service", "what"}, nil)
)

// stateCollector reads gauges from the controller's live state at each scrape.
type stateCollector struct{ src Source }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{onlineDesc, totalDesc, broadcastsDesc, faultsDesc, rejectedDesc, refusedDesc} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	if f := c.src.OnlineByVillage; f != nil {
		for village, n := range f() {
			ch <- prometheus.MustNewConstMetric(onlineDesc, prometheus.GaugeValue, float64(n[0]), village)
			ch <- prometheus.MustNewConstMetric(totalDesc, prometheus.GaugeValue, float64(n[1]), village)
		}
	}
	if f := c.src.BroadcastsByState; f != nil {
		for state, n := range f() {
			ch <- prometheus.MustNewConstMetric(broadcastsDesc, prometheus.GaugeValue, float64(n), state)
		}
	}
	if f := c.src.ActiveFaults; f != nil {
		for kind, n := range f() {
			ch <- prometheus.MustNewConstMetric(faultsDesc, prometheus.GaugeValue, float64(n), kind)
		}
	}
	if f := c.src.Rejected; f != nil {
		for kind, n := range f() {
			ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(n), kind)
		}
	}
	if f := c.src.AccessRefused; f != nil {
		for k, n := range f() {
			ch <- prometheus.MustNewConstMetric(refusedDesc, prometheus.CounterValue, float64(n), k[0], k[1])
		}
	}
}
