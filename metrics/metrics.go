// Package metrics exposes what an operator needs to see of a tweetflow
// service at /metrics in the Prometheus text format: events handled by
// outcome, errors, handling latency and micro-batch sizes. Each service owns
// its own registry (no global state), so tests and several components in one
// process do not collide.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tweetflow/tweetflow/transport"
)

// Metrics records one component's events. It implements transport.Observer.
type Metrics struct {
	reg      *prometheus.Registry
	events   *prometheus.CounterVec
	errors   *prometheus.CounterVec
	latency  prometheus.Observer
	batch    prometheus.Observer
	outcomes map[string]prometheus.Counter // pre-resolved children: no label lookup per event
}

var _ transport.Observer = (*Metrics)(nil)

// New returns the metrics of component (e.g. "function", "aggregator",
// "producer"), labelled with it and, when non-empty, the model.
func New(component, model string) *Metrics {
	labels := prometheus.Labels{"component": component}
	if model != "" {
		labels["model"] = model
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tweetflow_events_total", Help: "Events received, by outcome (ok, rejected, overloaded, failed, malformed, unsupported, too_large, panicked).",
			ConstLabels: labels,
		}, []string{"outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tweetflow_event_errors_total", Help: "Events not handled successfully, by outcome.",
			ConstLabels: labels,
		}, []string{"outcome"}),
		outcomes: map[string]prometheus.Counter{},
	}
	lat := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "tweetflow_event_duration_seconds", Help: "Time from receiving an event to answering or acking it.",
		ConstLabels: labels,
		Buckets:     []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 10},
	})
	bs := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "tweetflow_batch_size", Help: "Events per micro-batch (one ONNX Runtime call, one store write).",
		ConstLabels: labels,
		Buckets:     []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
	})
	reg.MustRegister(m.events, m.errors, lat, bs)
	m.latency, m.batch = lat, bs
	for _, o := range []string{transport.OutcomeOK, transport.OutcomeRejected, transport.OutcomeOverloaded, transport.OutcomeFailed,
		transport.OutcomeMalformed, transport.OutcomeUnsupported, transport.OutcomeTooLarge, transport.OutcomePanicked} {
		m.outcomes[o] = m.events.WithLabelValues(o)
		if o != transport.OutcomeOK {
			m.errors.WithLabelValues(o) // exported at 0 so alerts can rate() it from the start
		}
	}
	return m
}

// Observe implements transport.Observer.
func (m *Metrics) Observe(outcome string, d time.Duration) {
	if c, ok := m.outcomes[outcome]; ok {
		c.Inc()
	} else {
		m.events.WithLabelValues(outcome).Inc()
	}
	if outcome != transport.OutcomeOK {
		m.errors.WithLabelValues(outcome).Inc()
	}
	m.latency.Observe(d.Seconds())
}

// ObserveBatch records the size of one micro-batch.
func (m *Metrics) ObserveBatch(n int) { m.batch.Observe(float64(n)) }

// Registry is where more collectors of the same component can register.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry at /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
