package embedded_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/functions/functionstest"
	"github.com/tweetflow/tweetflow/mode/embedded"
	"github.com/tweetflow/tweetflow/mode/shutdown"
)

// hungStore never returns from a write (it ignores its context, as a
// store stuck in a system call would) until the test ends.
type hungStore struct {
	once    sync.Once     // writes can be concurrent: close writing once
	writing chan struct{} // closed at the first write
	release chan struct{} // closed by the test's cleanup
}

func newHungStore() *hungStore {
	return &hungStore{writing: make(chan struct{}), release: make(chan struct{})}
}

func (s *hungStore) WriteBatch(ctx context.Context, recs []sink.Record) error {
	s.once.Do(func() { close(s.writing) })
	<-s.release
	return ctx.Err()
}

func (s *hungStore) Close(context.Context) error { return nil }

func hungConfig(t *testing.T, st sink.Driver) embedded.Config {
	var lines []string
	for i := range 50 {
		lines = append(lines, fmt.Sprintf(good, 100+i, i%60, i, i))
	}
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	return embedded.Config{
		Data:     path,
		StartRow: 7,
		Scorers:  []functions.Scorer{&functionstest.Scorer{ModelName: "a"}},
		Sink:     st,
		Alerts:   embedded.Alerts{Off: true},
	}
}

// A store that never returns holds the drain after Ctrl-C for at most
// DrainTimeout: then Run gives up, says so, and resumes from its own start
// row (nothing after it is known to be stored). Before the bound, Ctrl-C
// waited for the store forever.
func TestDrainTimeoutBoundsAHungStore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := newHungStore()
		defer close(st.release)
		cfg := hungConfig(t, st)
		cfg.DrainTimeout = 30 * time.Second
		ctx, cancel := context.WithCancel(context.Background())
		type result struct {
			sum embedded.Summary
			err error
		}
		done := make(chan result, 1)
		go func() {
			sum, err := embedded.Run(ctx, cfg)
			done <- result{sum, err}
		}()
		<-st.writing
		cancel() // Ctrl-C
		stopped := time.Now()
		r := <-done
		if waited := time.Since(stopped); waited != cfg.DrainTimeout {
			t.Errorf("Run returned %v after the stop, want the drain timeout %v", waited, cfg.DrainTimeout)
		}
		if r.err == nil || !strings.Contains(r.err.Error(), "drain-timeout") {
			t.Fatalf("err = %v, want one naming --drain-timeout", r.err)
		}
		if r.sum.NextStartRow != 7 {
			t.Fatalf("next start row %d after an unfinished drain, want the run's own 7", r.sum.NextStartRow)
		}
	})
}

// The second SIGINT ends a drain stuck on a hung store at once, with a
// drain timeout far away: the signals are real, sent to this process.
func TestSecondSignalStopsAHungDrain(t *testing.T) {
	st := newHungStore()
	defer close(st.release)
	cfg := hungConfig(t, st)
	cfg.DrainTimeout = time.Hour
	ctx, release := shutdown.Notify(context.Background(), syscall.SIGINT)
	defer release()
	done := make(chan error, 1)
	go func() {
		_, err := embedded.Run(ctx, cfg)
		done <- err
	}()
	<-st.writing
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-ctx.Done()
	select {
	case err := <-done:
		t.Fatalf("Run returned after one signal with the store hung: %v", err)
	default:
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := <-done // the test binary's timeout is the failure if it hangs
	if err == nil || !strings.Contains(err.Error(), "second signal") {
		t.Fatalf("err = %v, want one saying the drain was aborted by a second signal", err)
	}
}

// slowStore takes 30 s (of the bubble's clock) for its first write, then
// stores at once: a busy disk, not a hung one.
type slowStore struct {
	mu     sync.Mutex
	writes int
	stored map[string]bool
}

func (s *slowStore) WriteBatch(ctx context.Context, recs []sink.Record) error {
	s.mu.Lock()
	s.writes++
	first := s.writes == 1
	s.mu.Unlock()
	if first {
		select {
		case <-time.After(30 * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range recs {
		s.stored[r.Tweet.ID] = true
	}
	return nil
}

func (s *slowStore) Close(context.Context) error { return nil }

// A write slower than the cluster modes' budget (sink.DefaultWriteBudget,
// kept below Knative's delivery timeout) is waited for: a run has no
// redelivery to fall back on. With that budget the first batch failed the
// run (TestSampleEndToEnd, under -race at load 16).
func TestSlowWriteWithinTheRunsBudget(t *testing.T) {
	if embedded.Defaults().WriteBudget <= 30*time.Second {
		t.Fatalf("the run's write budget %v does not outlast this test's 30 s write", embedded.Defaults().WriteBudget)
	}
	synctest.Test(t, func(t *testing.T) {
		st := &slowStore{stored: map[string]bool{}}
		cfg := hungConfig(t, st)
		sum, err := embedded.Run(context.Background(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		if sum.TweetsStored != 44 || len(st.stored) != 44 {
			t.Fatalf("%d tweets stored by the summary, %d by the store, want 44", sum.TweetsStored, len(st.stored))
		}
	})
}
