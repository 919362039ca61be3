// Package metrics exposes the controller's state to operators in the Prometheus format at
// /metrics. Gauges are read from the live state at scrape time, so they cannot drift from it.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Source is what the metrics read at scrape time.
type Source struct {
	// OnlineByVillage returns, per village code, terminals online and in the inventory.
	OnlineByVillage func() map[string][2]int
	// BroadcastsByState counts stored broadcasts per state.
	BroadcastsByState func() map[string]int
	// ActiveFaults counts terminals' active faults per fault kind.
	ActiveFaults func() map[string]int
	// Rejected counts reports refused as malformed or unknown, per kind.
	Rejected func() map[string]int64
	// AccessRefused counts what the broker's ACL and the audio service's token check refused,
	// per service ("mqtt", "grpc") and what (connect, subscribe, publish; unauthenticated,
	// wrong_terminal).
	AccessRefused func() map[[2]string]int64
}

// Metrics holds the registry and the instruments the controller updates as things happen.
type Metrics struct {
	reg            *prometheus.Registry
	receiptLatency *prometheus.HistogramVec
	faultEvents    *prometheus.CounterVec
	rejected       *prometheus.CounterVec
}

// New registers the controller's metrics.
func New(src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		receiptLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "dalaba_receipt_latency_seconds",
			Help:    "Time from sending a broadcast to each terminal's receipt of a state reaching the controller.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"state"}),
		faultEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dalaba_fault_events_total",
			Help: "Terminal fault and recovery events received.",
		}, []string{"kind", "active"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "dalaba_commands_rejected_total",
			Help: "Commands terminals refused to act on (unsigned, forged, unknown_key, replayed, stale, future, unreadable), as they reported them.",
		}, []string{"reason"}),
	}
	m.reg.MustRegister(m.receiptLatency, m.faultEvents, m.rejected, &stateCollector{src: src},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveReceipt records how long after sending a receipt state arrived.
func (m *Metrics) ObserveReceipt(state string, since time.Duration) {
	m.receiptLatency.WithLabelValues(state).Observe(since.Seconds())
}

// FaultEvent counts a fault or recovery.
func (m *Metrics) FaultEvent(kind string, active bool) {
	a := "false"
	if active {
		a = "true"
	}
	m.faultEvents.WithLabelValues(kind, a).Inc()
}

// CommandRejected counts n commands refused by terminals for reason.
func (m *Metrics) CommandRejected(reason string, n int) {
	m.rejected.WithLabelValues(reason).Add(float64(n))
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
