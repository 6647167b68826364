package metrics_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/transport"
)

func TestExposition(t *testing.T) {
	m := metrics.New("function", "sentiment")
	m.Observe(transport.OutcomeOK, 3*time.Millisecond)
	m.Observe(transport.OutcomeOK, time.Millisecond)
	m.Observe(transport.OutcomeTooLarge, time.Microsecond)
	m.ObserveBatch(32)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{
		`tweetflow_events_total{component="function",model="sentiment",outcome="ok"} 2`,
		`tweetflow_events_total{component="function",model="sentiment",outcome="too_large"} 1`,
		`tweetflow_event_errors_total{component="function",model="sentiment",outcome="too_large"} 1`,
		`tweetflow_event_errors_total{component="function",model="sentiment",outcome="malformed"} 0`,
		`tweetflow_event_errors_total{component="function",model="sentiment",outcome="panicked"} 0`,
		`tweetflow_event_duration_seconds_count{component="function",model="sentiment"} 3`,
		`tweetflow_batch_size_sum{component="function",model="sentiment"} 32`,
		`go_goroutines`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("missing %q in:\n%s", want, body)
		}
	}
}

func BenchmarkObserve(b *testing.B) {
	m := metrics.New("function", "x")
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Observe(transport.OutcomeOK, time.Millisecond)
		}
	})
}
