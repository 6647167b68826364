package cehttp

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tweetflow/tweetflow/transport"
)

// Receiver serves CloudEvents over HTTP on Addr as Knative delivers them and
// implements transport.Receiver, so a handler written for Kafka serves HTTP
// unchanged. Each request waits for its event's ack (transport.Sync): the
// 2xx means done. A request whose event is not acked when Receive ends is
// answered 503, which the sender (Knative's data plane, or Sender) retries:
// the event is redelivered to whichever receiver serves Addr next.
type Receiver struct {
	// Addr is the address to listen on ("127.0.0.1:8080", ":8080").
	Addr string
	// Options are the handler's (body limit, observer, logger).
	Options HandlerOptions
	// ShutdownTimeout bounds the drain after ctx ends. Default 10s.
	ShutdownTimeout time.Duration
}

var _ transport.Receiver = (*Receiver)(nil)

// Receive listens on r.Addr and serves until ctx ends, then stops taking
// requests and gives in-flight ones ShutdownTimeout to be answered. It
// returns nil after a cancellation, or the error that stopped serving (the
// address in use, say) at once.
func (r *Receiver) Receive(ctx context.Context, h transport.AckHandler) error {
	ln, err := net.Listen("tcp", r.Addr)
	if err != nil {
		return fmt.Errorf("cehttp: listen %s: %w", r.Addr, err)
	}
	srv := &http.Server{
		Handler: NewHandler(transport.Sync(transport.Protect(h)), r.Options),
		// Requests see ctx: when it ends, a handler still waiting for its
		// ack gives up and the request is answered 503 (retried).
		BaseContext:       func(net.Listener) context.Context { return ctx },
		ReadHeaderTimeout: 10 * time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("cehttp: serve %s: %w", r.Addr, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cmp.Or(r.ShutdownTimeout, 10*time.Second))
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Past the bound: cut the connections that are left; their
		// senders see a network error and retry.
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("cehttp: serve %s: %w", r.Addr, err)
	}
	return nil
}
