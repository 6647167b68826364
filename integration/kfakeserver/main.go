// Command kfakeserver runs franz-go's kfake, an in-memory Kafka-protocol
// cluster, as its own process on 127.0.0.1, so that a test can put a broker
// between two processes that share nothing (integration/kcat_test.go: the
// pipeline and Debian's kcat). It prints "listening ADDR" once the broker
// accepts connections and runs until stdin closes or it gets SIGINT/SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kfakeserver:", err)
		os.Exit(1)
	}
}

func run() error {
	port := flag.Int("port", 0, "port on 127.0.0.1 (0: any free one)")
	session := flag.Duration("group-min-session-timeout", 100*time.Millisecond, "smallest consumer-group session timeout accepted (kfake's default is 6s)")
	flag.Parse()
	opts := []kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(*session)}
	if *port != 0 {
		opts = append(opts, kfake.Ports(*port))
	}
	c, err := kfake.NewCluster(opts...)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	defer c.Close()
	fmt.Printf("listening %s\n", c.ListenAddrs()[0])

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdinClosed := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin) // the parent holds the pipe open while it needs us
		close(stdinClosed)
	}()
	select {
	case <-ctx.Done():
	case <-stdinClosed:
	}
	return nil
}
