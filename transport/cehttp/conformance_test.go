package cehttp_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

type harness struct{}

func (harness) Start(t *testing.T, h transport.Handler) (transport.Sender, func()) {
	srv := httptest.NewServer(cehttp.NewHandler(h, cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	s := cehttp.NewSender(srv.URL)
	s.Retry = cehttp.Retry{Retries: 10, Delay: time.Millisecond}
	stop := func() { s.Close(context.Background()); srv.Close() }
	t.Cleanup(stop)
	return s, stop
}

// receiverHarness runs the suite through Receiver (the receiving role)
// rather than the bare handler.
type receiverHarness struct{}

func (receiverHarness) Start(t *testing.T, h transport.Handler) (transport.Sender, func()) {
	src := receiverHarness{}.Open(t).(source)
	return src.s, transporttest.Receive(t, src.Receiver(t), transport.Async(h, 16))
}

// Open picks a free address; every Receiver listens on it, so a restart is
// a new server on the address the sender keeps retrying.
func (receiverHarness) Open(t *testing.T) transporttest.Source {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := cehttp.NewSender("http://" + addr)
	// Enough retries to cover a receiver restart and a first answer before
	// the server listens (connection refused).
	s.Retry = cehttp.Retry{Retries: 50, Delay: time.Millisecond, MaxDelay: 50 * time.Millisecond}
	t.Cleanup(func() { s.Close(context.Background()) })
	return source{addr: addr, s: s}
}

type source struct {
	addr string
	s    *cehttp.Sender
}

func (s source) Sender() transport.Sender { return s.s }
func (s source) Receiver(*testing.T) transport.Receiver {
	return &cehttp.Receiver{Addr: s.addr, Options: cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)}, ShutdownTimeout: time.Second}
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Harness { return harness{} })
}

func TestReceiverConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Harness { return receiverHarness{} })
	transporttest.RunAtLeastOnce(t, func(*testing.T) transporttest.SourceHarness { return receiverHarness{} })
}

func TestReceiverAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := &cehttp.Receiver{Addr: ln.Addr().String()}
	err = r.Receive(context.Background(), func(context.Context, cloudevents.Event, func(error)) {})
	if err == nil || !strings.Contains(err.Error(), ln.Addr().String()) {
		t.Fatalf("Receive on an address in use = %v, want an error naming it", err)
	}
}
