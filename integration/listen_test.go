package integration

import (
	"context"
	"net"
	"time"
)

type listenConfig struct{}

// listen binds addr, retrying briefly: after a restart the port may still be
// held by the closing server.
func (listenConfig) listen(addr string) (net.Listener, error) {
	var lc net.ListenConfig
	deadline := time.Now().Add(5 * time.Second)
	for {
		l, err := lc.Listen(context.Background(), "tcp", addr)
		if err == nil || time.Now().After(deadline) {
			return l, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
