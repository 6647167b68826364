package cehttp_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

type harness struct{}

func (harness) Start(t *testing.T, h transport.Handler) (transport.Sender, func()) {
	srv := httptest.NewServer(cehttp.NewHandler(h, cehttp.HandlerOptions{Logger: discard()}))
	s := cehttp.NewSender(srv.URL)
	s.Retry = cehttp.Retry{Retries: 10, Delay: time.Millisecond}
	stop := func() { s.Close(context.Background()); srv.Close() }
	t.Cleanup(stop)
	return s, stop
}

func TestConformance(t *testing.T) {
	transporttest.Run(t, func(*testing.T) transporttest.Harness { return harness{} })
}
