// Package knative is the composition root of the Knative mode: it runs a
// tweetflow component (a model function, mode/knative/function; the
// aggregator, AggregatorLoader) as a Knative function: a knative.dev/func-go instance with
// Start, Stop, Ready, Alive and Handle, served by func-go's runtime, which
// binds LISTEN_ADDRESS, serves /health/readiness and /health/liveness, and on
// SIGTERM drains in-flight requests before calling Stop.
//
// func-go hands every request to the CloudEvents SDK's receive handler,
// which answers 500 to a body it cannot parse (Knative would retry that
// forever) and has no size limit. So the instance's root path is served by
// transport/cehttp instead (400/413/415/429/503 as the data plane expects),
// and /metrics is added; func-go still owns the listener, the health
// endpoints, the signals and the shutdown order.
package knative

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	fce "knative.dev/func-go/cloudevents"

	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
)

// Component is a started core: the handler for its events and how to stop it.
type Component struct {
	Handler transport.Handler
	// Close flushes and releases the core (the micro-batcher, the
	// aggregator's pending writes, the store). Called once, from Stop.
	Close func(ctx context.Context) error
}

// Loader builds the component from the function's configuration (func-go's
// cfg: the ./cfg file merged with the environment). It may take a while
// (loading a model); the instance reports not ready until it returns.
type Loader func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (Component, error)

// Instance is the func-go instance. Its zero value is not usable; use New.
type Instance struct {
	load    Loader
	metrics *metrics.Metrics
	log     *slog.Logger

	mu       sync.RWMutex
	comp     *Component
	stopping bool
	// loaded closes once the component is loaded; draining once func-go
	// begins its HTTP shutdown (readiness turns false then, so Kubernetes
	// stops routing while in-flight events are answered).
	loaded    chan struct{}
	draining  chan struct{}
	drainOnce sync.Once
	loadErr   error
	startedAt time.Time
	readyAt   time.Time
}

// New returns an instance that will load its component with load.
func New(load Loader, m *metrics.Metrics, log *slog.Logger) *Instance {
	if log == nil {
		log = slog.Default()
	}
	return &Instance{load: load, metrics: m, log: log, startedAt: time.Now(),
		loaded: make(chan struct{}), draining: make(chan struct{})}
}

// Start loads the component. func-go calls it in a goroutine while the
// server already listens, so Ready gates traffic until the model is loaded.
func (i *Instance) Start(ctx context.Context, cfg map[string]string) error {
	c, err := i.load(ctx, cfg, i.metrics)
	i.mu.Lock()
	defer i.mu.Unlock()
	if err != nil {
		i.loadErr = err
		return fmt.Errorf("start: %w", err)
	}
	i.comp = &c
	i.readyAt = time.Now()
	close(i.loaded)
	i.log.Info("ready", "after", i.readyAt.Sub(i.startedAt))
	return nil
}

// Stop closes the component after func-go has drained the HTTP server.
func (i *Instance) Stop(ctx context.Context) error {
	i.mu.Lock()
	c := i.comp
	i.stopping = true
	i.mu.Unlock()
	if c == nil || c.Close == nil {
		return nil
	}
	if err := c.Close(ctx); err != nil {
		return fmt.Errorf("stop: %w", err)
	}
	return nil
}

// Ready reports whether the component is loaded and not stopping.
func (i *Instance) Ready(context.Context) (bool, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.loadErr != nil {
		return false, i.loadErr
	}
	select {
	case <-i.draining:
		return false, nil
	default:
	}
	return i.comp != nil && !i.stopping, nil
}

// Alive reports false once loading failed, so Kubernetes restarts the pod.
func (i *Instance) Alive(context.Context) (bool, error) {
	i.mu.RLock()
	defer i.mu.RUnlock()
	return i.loadErr == nil, nil
}

// ErrNotReady answers events that arrive before the component is loaded.
var ErrNotReady = errors.New("not ready: component still loading")

// Handle is the func-go CloudEvents handler signature, over the component.
func (i *Instance) Handle(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	i.mu.RLock()
	c := i.comp
	i.mu.RUnlock()
	if c == nil {
		return nil, transport.NotReady(fmt.Errorf("event %s: %w", e.ID(), ErrNotReady))
	}
	return c.Handler(ctx, e)
}

// ReadyAfter is the time from New to ready (zero until ready).
func (i *Instance) ReadyAfter() time.Duration {
	i.mu.RLock()
	defer i.mu.RUnlock()
	if i.readyAt.IsZero() {
		return 0
	}
	return i.readyAt.Sub(i.startedAt)
}

// Options configure Serve.
type Options struct {
	// MaxBodyBytes bounds an event's body (413 above); 0 = cehttp's default.
	MaxBodyBytes int64
	Logger       *slog.Logger
}

// NewService wraps inst in func-go's Service with tweetflow's event handler
// at / and the metrics at /metrics. Start it with (*fce.Service).Start(ctx).
func NewService(inst *Instance, opts Options) *fce.Service {
	svc := fce.New(inst)
	svc.RegisterOnShutdown(func() { inst.drainOnce.Do(func() { close(inst.draining) }) })
	funcgo := svc.Handler // func-go's mux: health endpoints (and its own "/")
	events := cehttp.NewHandler(inst.Handle, cehttp.HandlerOptions{
		MaxBodyBytes: opts.MaxBodyBytes, Observer: inst.metrics, Logger: opts.Logger,
	})
	mux := http.NewServeMux()
	mux.Handle("/health/", funcgo)
	mux.Handle("/metrics", inst.metrics.Handler())
	mux.Handle("/", events)
	svc.Handler = mux
	return svc
}

// Run serves inst until ctx ends or SIGTERM/SIGINT, then drains and stops.
func Run(ctx context.Context, inst *Instance, opts Options) error {
	return NewService(inst, opts).Start(ctx)
}

// Main is a Knative function's main: a JSON logger on stderr, the instance
// of the component loaded by load (named component in the metrics and in
// the exit message), served until SIGTERM; it exits 1 on a failure.
func Main(component string, load func(log *slog.Logger) Loader) {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	inst := New(load(log), metrics.New(component, ""), log)
	if err := Run(context.Background(), inst, Options{Logger: log}); err != nil {
		fmt.Fprintln(os.Stderr, component+":", err)
		os.Exit(1)
	}
}
