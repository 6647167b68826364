package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport/cehttp"
)

// dispatcher plays KafkaSource + Kafka Broker + Triggers for the test: each
// tweet event consumed from Kafka is POSTed (binary mode) to every model
// function's URL (one Trigger per model, filter type = tweet); each 200
// reply is a metadata event, routed to the aggregator's URL (the Trigger on
// the metadata type). It follows Knative's data-plane rules: 404, 408, 409,
// 429 and 5xx (and connection errors) are retried with exponential back-off,
// any other 4xx is not retried and goes to the dead letters. A tweet is acked
// (its offset may be committed) only when every trigger's delivery has
// finished, so a crash of the dispatcher redelivers it.
type dispatcher struct {
	client     *http.Client
	functions  map[string]string // model → URL
	aggregator string
	retry      cehttp.Retry
	// duplicate says whether to deliver an event twice (at-least-once).
	duplicate func(id string) bool
	// onAcked, if set, is called after an event is acked without error;
	// onUnreachable after a POST to the aggregator failed without any
	// answer (its pod gone). Tests wait on these instead of polling.
	onAcked       func(e cloudevents.Event)
	onUnreachable func()
	// source, if set, models the KafkaSource's own delivery to the Broker
	// ingress (ingressUp says whether it accepts): when the source's retries
	// run out it commits the record anyway, to its dead-letter sink if it has
	// one, otherwise the record is lost. Nil keeps the older model (the
	// ingress always up, a failed trigger redelivers).
	source    *sourceDelivery
	ingressUp func() bool
	lost      atomic.Int64 // records committed without delivery or dead letter

	mu          sync.Mutex
	deadLetters []deadLetter
	attempts    atomic.Int64 // POSTs made, including retries
	retried     atomic.Int64 // retryable answers seen
}

type deadLetter struct {
	EventID string
	URL     string
	Status  int
	Err     string
}

// deliver POSTs e to url until it is accepted, refused for good, or retries
// run out. It returns the reply (nil for 202) and, for a refusal, an error.
func (d *dispatcher) deliver(ctx context.Context, url string, e cloudevents.Event) (*cloudevents.Event, error) {
	var reply *cloudevents.Event
	var lastStatus int
	err := d.retry.Do(ctx, func() (bool, error) {
		d.attempts.Add(1)
		r, status, err := cehttp.Post(ctx, d.client, url, e)
		lastStatus = status
		if err == nil {
			reply = r
			return false, nil
		}
		if status == 0 && url == d.aggregator && d.onUnreachable != nil {
			d.onUnreachable()
		}
		retryable := status == 0 || cehttp.Retryable(status)
		if retryable {
			d.retried.Add(1)
		}
		return retryable, err
	})
	if err != nil {
		var es *cehttp.ErrStatus
		if errors.As(err, &es) && !cehttp.Retryable(es.Status) {
			d.mu.Lock()
			d.deadLetters = append(d.deadLetters, deadLetter{EventID: e.ID(), URL: url, Status: lastStatus, Err: err.Error()})
			d.mu.Unlock()
			return nil, nil // dead-lettered: delivery is finished
		}
		return nil, err
	}
	return reply, nil
}

// handle is the KafkaSource side: an AckHandler for the tweets topic.
func (d *dispatcher) handle(ctx context.Context, e cloudevents.Event, ack func(error)) {
	go func() {
		if d.source != nil && !d.toIngress(ctx, e) {
			ack(nil) // committed either way, as the KafkaSource does
			return
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(d.functions))
		for model, url := range d.functions {
			wg.Go(func() {
				if err := d.trigger(ctx, model, url, e); err != nil {
					errs <- err
				}
			})
		}
		wg.Wait()
		close(errs)
		err := <-errs // nil when every trigger finished
		ack(err)
		if err == nil && d.onAcked != nil {
			d.onAcked(e)
		}
	}()
}

// toIngress retries the source's send to the Broker ingress under the
// source's delivery config; when retries run out it dead-letters the record
// or counts it lost, and returns false.
func (d *dispatcher) toIngress(ctx context.Context, e cloudevents.Event) bool {
	err := d.source.retry.Do(ctx, func() (bool, error) {
		if d.ingressUp == nil || d.ingressUp() {
			return false, nil
		}
		return true, errors.New("broker ingress unavailable")
	})
	if err == nil {
		return true
	}
	if d.source.deadLetterSink {
		d.mu.Lock()
		d.deadLetters = append(d.deadLetters, deadLetter{EventID: e.ID(), URL: "broker-ingress", Err: err.Error()})
		d.mu.Unlock()
	} else {
		d.lost.Add(1)
	}
	return false
}

func (d *dispatcher) trigger(ctx context.Context, model, url string, e cloudevents.Event) error {
	times := 1
	if d.duplicate != nil && d.duplicate(e.ID()) {
		times = 2
	}
	for range times {
		reply, err := d.deliver(ctx, url, e)
		if err != nil {
			return fmt.Errorf("trigger %s: %w", model, err)
		}
		if reply == nil {
			continue
		}
		if reply.Type() != event.TypeMetadata {
			return fmt.Errorf("trigger %s: reply of type %q", model, reply.Type())
		}
		// The broker routes the reply to the aggregator's trigger.
		for range times {
			if _, err := d.deliver(ctx, d.aggregator, *reply); err != nil {
				return fmt.Errorf("aggregator trigger for %s: %w", reply.ID(), err)
			}
		}
	}
	return nil
}

func (d *dispatcher) dead() []deadLetter {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]deadLetter(nil), d.deadLetters...)
}

// faulty wraps a handler: while fail() is true it answers 503, like a
// function whose pods are being replaced.
func faulty(h http.Handler, fail func() bool, failures *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail() {
			failures.Add(1)
			http.Error(w, "temporarily unavailable", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// restartable serves handlers on one fixed address, and can stop and
// restart, as a pod that is killed and rescheduled behind the same Service.
type restartable struct {
	addr string
	mu   sync.Mutex
	srv  *http.Server
}

func (r *restartable) start(h http.Handler) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	// No retry: the stopped server's listener is closed by the time
	// close or stop returned (http.Server.Close closes its listeners, and
	// a socket's Close returns once the descriptor is released), and Go
	// listens with SO_REUSEADDR, so the old connections' TIME_WAIT does
	// not hold the port. Failing here means someone else took it.
	l, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("restart on %s: %w", r.addr, err)
	}
	r.addr = l.Addr().String()
	r.srv = &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go r.srv.Serve(l) //nolint:errcheck // ErrServerClosed on stop
	return nil
}

// close drops the server and its connections at once (a crash).
func (r *restartable) close() {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	_ = srv.Close()
}

func (r *restartable) stop(ctx context.Context) error {
	r.mu.Lock()
	srv := r.srv
	r.mu.Unlock()
	return srv.Shutdown(ctx)
}
