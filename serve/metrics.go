package serve

import (
	"net/http"

	"github.com/loomml/loom/serve/engine"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are what /metrics reports, all prefixed loom_.
type metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec   // by endpoint and status
	tokens    *prometheus.CounterVec   // generated, by model
	ttft      *prometheus.HistogramVec // seconds from request to first token, by model
	itl       *prometheus.HistogramVec // seconds between tokens of one sequence, by model
	promptTok *prometheus.CounterVec   // prompt tokens, by model
}

func newMetrics(reg *prometheus.Registry, s *Server) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	m := &metrics{reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loom_http_requests_total",
			Help: "HTTP requests by endpoint and status code."}, []string{"endpoint", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loom_generated_tokens_total",
			Help: "Tokens generated (rate() of it is tokens/s)."}, []string{"model"}),
		promptTok: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loom_prompt_tokens_total",
			Help: "Prompt tokens processed."}, []string{"model"}),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "loom_time_to_first_token_seconds",
			Help:    "Time from a request's arrival to its first generated token.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 14)}, []string{"model"}),
		itl: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "loom_inter_token_latency_seconds",
			Help:    "Time between consecutive generated tokens of one sequence.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"model"}),
	}
	// Engines shared by aliases count once.
	engines := func() []engine.Engine {
		var out []engine.Engine
		seen := map[engine.Engine]bool{}
		for _, n := range s.order {
			if e := s.models[n].Engine; !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
		return out
	}
	sum := func(f func(engine.Stats) float64) func() float64 {
		return func() float64 {
			var t float64
			for _, e := range engines() {
				t += f(e.Stats())
			}
			return t
		}
	}
	reg.MustRegister(m.requests, m.tokens, m.promptTok, m.ttft, m.itl,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "loom_queue_depth", Help: "Requests waiting for a slot."},
			sum(func(s engine.Stats) float64 { return float64(s.Queued) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "loom_batch_size", Help: "Sequences decoding now (the running batch)."},
			sum(func(s engine.Stats) float64 { return float64(s.Running) })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "loom_kv_bytes", Help: "KV cache memory in use."},
			sum(func(s engine.Stats) float64 { return float64(s.KVBytes) })),
	)
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
