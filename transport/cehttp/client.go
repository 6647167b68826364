package cehttp

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/tweetflow/tweetflow/transport"
)

// Post delivers e to url in binary mode and returns the status and, for a
// 200 with an event, the reply. A transport error (connection refused, reset)
// is returned as err with status 0; a non-2xx answer is *ErrStatus.
func Post(ctx context.Context, c *http.Client, url string, e cloudevents.Event) (*cloudevents.Event, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("event %s: %w", e.ID(), err)
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(&e), req); err != nil {
		return nil, 0, fmt.Errorf("event %s: encode: %w", e.ID(), err)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("event %s: POST %s: %w", e.ID(), url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return nil, resp.StatusCode, &ErrStatus{EventID: e.ID(), URL: url, Status: resp.StatusCode, Body: string(bytes.TrimSpace(b))}
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, resp.StatusCode, nil
	}
	msg := cehttp.NewMessageFromHttpResponse(resp)
	if msg.ReadEncoding() == binding.EncodingUnknown {
		// 200 without an event: Knative treats it as "no reply".
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil, resp.StatusCode, nil
	}
	reply, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("event %s: reply from %s: %w", e.ID(), url, err)
	}
	return reply, resp.StatusCode, nil
}

// Retry is a delivery retry policy in the shape of Knative's delivery spec
// (retry, backoffPolicy exponential, backoffDelay).
type Retry struct {
	// Attempts after the first; 0 means no retry.
	Retries int
	// Delay is the first back-off; it doubles on each retry (with jitter).
	Delay time.Duration
	// MaxDelay caps one back-off; zero means no cap.
	MaxDelay time.Duration
}

// Backoff returns the wait before retry number n (0-based), with up to 20%
// jitter so that retries of many events do not arrive in lock-step.
func (p Retry) Backoff(n int) time.Duration {
	d := p.Delay << min(n, 20)
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d + time.Duration(rand.Int64N(int64(d)/5+1))
}

// Do calls try until it succeeds, fails for good, or the policy or ctx runs
// out. try returns whether its error may be retried.
func (p Retry) Do(ctx context.Context, try func() (retryable bool, err error)) error {
	for n := 0; ; n++ {
		retryable, err := try()
		if err == nil || !retryable || n >= p.Retries {
			return err
		}
		t := time.NewTimer(p.Backoff(n))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (retry cancelled: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// Sender POSTs events to one URL, e.g. K_SINK set by a SinkBinding or
// ContainerSource. It implements transport.Sender.
type Sender struct {
	URL    string
	Client *http.Client
	// Retry is applied to network errors and retryable statuses.
	Retry Retry
	// Concurrency is how many events of one Send are in flight at once.
	Concurrency int
}

var _ transport.Sender = (*Sender)(nil)

// NewSender returns a Sender for url with Knative-like defaults: 10 retries
// from 100 ms doubling up to 10 s, 16 events in flight.
func NewSender(url string) *Sender {
	return &Sender{
		URL:         url,
		Client:      &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		Retry:       Retry{Retries: 10, Delay: 100 * time.Millisecond, MaxDelay: 10 * time.Second},
		Concurrency: 16,
	}
}

// Send delivers every event; it returns the first error after every event
// has been tried, so one refused event does not stop the others.
func (s *Sender) Send(ctx context.Context, events []cloudevents.Event) error {
	n := max(s.Concurrency, 1)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		sem      = make(chan struct{}, n)
	)
	for i := range events {
		sem <- struct{}{}
		wg.Add(1)
		go func(e cloudevents.Event) {
			defer func() { <-sem; wg.Done() }()
			err := s.Retry.Do(ctx, func() (bool, error) {
				_, status, err := Post(ctx, s.Client, s.URL, e)
				if err == nil {
					return false, nil
				}
				return status == 0 || Retryable(status), err
			})
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		}(events[i])
	}
	wg.Wait()
	return firstErr
}

// Close releases idle connections.
func (s *Sender) Close(context.Context) error {
	s.Client.CloseIdleConnections()
	return nil
}
