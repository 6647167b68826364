package knative

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/transport/cehttp"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func tweet(t *testing.T, id string) cloudevents.Event {
	e, err := event.NewTweetEvent(event.Tweet{ID: id, User: "u", Text: "hello", CreatedAt: time.Unix(1, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// The lifecycle Knative sees: not ready while loading (events get 503),
// ready after, events answered, metrics served; on shutdown readiness turns
// false at once, the event in flight is answered, and only then does Stop
// close the component. Each step waits on a signal (the loader entered, the
// component loaded, the drain begun), never on a sleep.
func TestLifecycle(t *testing.T) {
	addr := freeAddr(t)
	t.Setenv("LISTEN_ADDRESS", addr)
	t.Setenv("TWEETFLOW_TEST_CFG", "seen")
	base := "http://" + addr

	loading, release := make(chan struct{}), make(chan struct{})
	inHandler := make(chan string, 2)
	var closed atomic.Bool
	var inst *Instance
	load := func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (Component, error) {
		if cfg["TWEETFLOW_TEST_CFG"] != "seen" {
			return Component{}, errors.New("environment not passed in cfg")
		}
		close(loading) // func-go listens before it starts the instance
		<-release      // a slow model load
		return Component{
			Handler: func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
				inHandler <- e.ID()
				if e.ID() == "t2" {
					<-inst.draining // answered only after the shutdown began
				}
				if closed.Load() {
					return nil, errors.New("handled after Close")
				}
				tw, err := event.DecodeTweet(&e)
				if err != nil {
					return nil, err
				}
				r, err := event.NewMetadataEvent(event.Metadata{TweetID: tw.ID, Model: "m", ModelVersion: "1", Label: "l", Tweet: tw})
				return &r, err
			},
			Close: func(context.Context) error { closed.Store(true); return nil },
		}, nil
	}
	inst = New(load, metrics.New("function", "m"), slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, inst, Options{}) }()

	<-loading
	if code, _ := get(t, base+"/health/liveness"); code != 200 {
		t.Fatalf("liveness while loading = %d, want 200", code)
	}
	if code, _ := get(t, base+"/health/readiness"); code != http.StatusServiceUnavailable {
		t.Fatalf("readiness while loading = %d, want 503", code)
	}
	client := &http.Client{Timeout: 10 * time.Second}
	if _, status, _ := cehttp.Post(ctx, client, base, tweet(t, "early")); status != http.StatusServiceUnavailable {
		t.Fatalf("event while loading = %d, want 503", status)
	}
	close(release)
	<-inst.loaded
	if code, _ := get(t, base+"/health/readiness"); code != 200 {
		t.Fatalf("readiness once loaded = %d, want 200", code)
	}
	reply, status, err := cehttp.Post(ctx, client, base, tweet(t, "t1"))
	if err != nil || status != 200 || reply.ID() != event.MetadataID("t1", "m") {
		t.Fatalf("status %d err %v reply %v", status, err, reply)
	}
	<-inHandler // t1's
	if code, body := get(t, base+"/metrics"); code != 200 || !strings.Contains(body, `tweetflow_events_total{component="function",model="m",outcome="ok"} 1`) {
		t.Fatalf("metrics %d:\n%s", code, body)
	}
	if inst.ReadyAfter() <= 0 {
		t.Fatal("ReadyAfter not set")
	}

	// Shutdown with an event in flight: it is answered, then Close runs.
	got := make(chan int, 1)
	go func() {
		_, status, _ := cehttp.Post(context.Background(), client, base, tweet(t, "t2"))
		got <- status
	}()
	<-inHandler // t2 is in the handler, held until the drain begins
	cancel()
	if status := <-got; status != 200 {
		t.Fatalf("in-flight event answered %d during shutdown, want 200", status)
	}
	if ok, _ := inst.Ready(context.Background()); ok {
		t.Fatal("ready while draining")
	}
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !closed.Load() {
		t.Fatal("Stop did not close the component")
	}
}

func TestLoadFailureIsNotAlive(t *testing.T) {
	inst := New(func(context.Context, map[string]string, *metrics.Metrics) (Component, error) {
		return Component{}, errors.New("models/x/model.onnx: no such file")
	}, metrics.New("function", "x"), nil)
	if err := inst.Start(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "model.onnx") {
		t.Fatalf("Start err = %v", err)
	}
	if ok, _ := inst.Alive(context.Background()); ok {
		t.Fatal("alive after a failed load")
	}
	if ok, err := inst.Ready(context.Background()); ok || err == nil {
		t.Fatal("ready after a failed load")
	}
}
