package knative

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

// funcgoHarness serves the handler the way a Knative function is served:
// an Instance started by func-go's own Service (Run: its listener on
// LISTEN_ADDRESS, its instance start, its shutdown), with tweetflow's
// event handler at its root. The panic case then proves that a handler
// panicking under func-go is a 400 (dead-lettered), not a dropped
// connection that Knative retries.
type funcgoHarness struct{}

func (funcgoHarness) Start(t *testing.T, h transport.Handler) (transport.Sender, func()) {
	addr := freeAddr(t)
	t.Setenv("LISTEN_ADDRESS", addr)
	log := slog.New(slog.DiscardHandler)
	inst := New(func(context.Context, map[string]string, *metrics.Metrics) (Component, error) {
		return Component{Handler: h, Close: func(context.Context) error { return nil }}, nil
	}, metrics.New("function", "conformance"), log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, inst, Options{Logger: log}) }()
	select {
	case <-inst.loaded:
	case err := <-done:
		cancel()
		t.Fatalf("func-go service ended before the instance loaded: %v", err)
	}
	s := cehttp.NewSender("http://" + addr)
	// func-go binds its listener before it starts the instance, so once
	// loaded the first send finds it; the retries are the transient case's.
	s.Retry = cehttp.Retry{Retries: 10, Delay: time.Millisecond}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		s.Close(context.Background())
		cancel()
		if err := <-done; err != nil {
			t.Errorf("func-go service: %v", err)
		}
	}
	t.Cleanup(stop)
	return s, stop
}

func TestConformanceThroughFuncGo(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Harness { return funcgoHarness{} })
}
