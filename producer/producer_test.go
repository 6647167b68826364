package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// fakeClock advances only when slept on.
type fakeClock struct {
	now    time.Time
	sleeps []time.Duration
	// cancelAt cancels this context at the n-th sleep (1-based).
	cancelAt int
	cancel   context.CancelFunc
}

func (c *fakeClock) Now() time.Time { return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	if len(c.sleeps) == c.cancelAt {
		c.cancel()
		return ctx.Err()
	}
	c.now = c.now.Add(d)
	return nil
}

// sliceSource yields rows and errors from a list.
type sliceSource struct {
	items []any // csv.Row or error
}

func (s *sliceSource) Read(ctx context.Context) (csv.Row, error) {
	if err := ctx.Err(); err != nil {
		return csv.Row{}, err
	}
	if len(s.items) == 0 {
		return csv.Row{}, io.EOF
	}
	it := s.items[0]
	s.items = s.items[1:]
	if err, ok := it.(error); ok {
		return csv.Row{}, err
	}
	return it.(csv.Row), nil
}

var t0 = time.Date(2009, 4, 6, 22, 0, 0, 0, time.UTC)

func rows(offsets ...int) *sliceSource {
	s := &sliceSource{}
	for i, off := range offsets {
		s.items = append(s.items, csv.Row{Line: i + 1, Tweet: event.Tweet{ID: fmt.Sprint(i), Text: "x", CreatedAt: t0.Add(time.Duration(off) * time.Second)}})
	}
	return s
}

// recorder is a Sender that records batches and the fake time they arrived.
type recorder struct {
	clock   *fakeClock
	batches [][]string
	at      []time.Duration
}

func (r *recorder) Send(_ context.Context, tws []event.Tweet) error {
	var ids []string
	for _, t := range tws {
		ids = append(ids, t.ID)
	}
	r.batches = append(r.batches, ids)
	if r.clock != nil {
		r.at = append(r.at, r.clock.now.Sub(time.Unix(0, 0)))
	}
	return nil
}

func (r *recorder) ids() []string {
	var all []string
	for _, b := range r.batches {
		all = append(all, b...)
	}
	return all
}

func TestPacingKeepsGapsDividedBySpeed(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	rec := &recorder{clock: clk}
	// Event times 0, 10, 5 (backwards), 20, 20 seconds; speed 10.
	st, err := Run(context.Background(), rows(0, 10, 5, 20, 20), rec, Options{Speed: 10, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	// Gaps: 1s, 0 (backwards counts 0), 1s (measured from 10, not 5), 0.
	if want := []time.Duration{time.Second, time.Second}; !slices.Equal(clk.sleeps, want) {
		t.Fatalf("sleeps %v, want %v", clk.sleeps, want)
	}
	if want := [][]string{{"0"}, {"1", "2"}, {"3", "4"}}; !slices.EqualFunc(rec.batches, want, slices.Equal) {
		t.Fatalf("batches %v, want %v", rec.batches, want)
	}
	if want := []time.Duration{0, time.Second, 2 * time.Second}; !slices.Equal(rec.at, want) {
		t.Fatalf("sent at %v, want %v", rec.at, want)
	}
	if st.Sent != 5 || st.RowsRead != 5 || st.LastLine != 5 {
		t.Fatalf("stats %+v", st)
	}
}

func TestMaxRate(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	rec := &recorder{clock: clk}
	// All at the same event time, at most 4 per second.
	if _, err := Run(context.Background(), rows(0, 0, 0, 0), rec, Options{MaxRate: 4, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond}; !slices.Equal(clk.sleeps, want) {
		t.Fatalf("sleeps %v, want %v", clk.sleeps, want)
	}
	// Speed and max-rate together: the slower of the two wins.
	clk2 := &fakeClock{now: time.Unix(0, 0)}
	if _, err := Run(context.Background(), rows(0, 100, 101), &recorder{}, Options{Speed: 100, MaxRate: 0.5, Clock: clk2}); err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{2 * time.Second, 2 * time.Second}; !slices.Equal(clk2.sleeps, want) {
		t.Fatalf("sleeps %v, want %v", clk2.sleeps, want)
	}
}

func TestSpeedZeroBatchesWithoutWaiting(t *testing.T) {
	clk := &fakeClock{now: time.Unix(0, 0)}
	rec := &recorder{}
	offs := make([]int, 10)
	for i := range offs {
		offs[i] = i * 1000
	}
	st, err := Run(context.Background(), rows(offs...), rec, Options{BatchSize: 4, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if len(clk.sleeps) != 0 || len(rec.batches) != 3 || len(rec.batches[2]) != 2 || st.Sent != 10 {
		t.Fatalf("sleeps %v batches %v", clk.sleeps, rec.batches)
	}
}

func TestLimit(t *testing.T) {
	rec := &recorder{}
	st, err := Run(context.Background(), rows(0, 1, 2, 3, 4, 5), rec, Options{Limit: 4, BatchSize: 3})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.ids(); !slices.Equal(got, []string{"0", "1", "2", "3"}) || st.Sent != 4 {
		t.Fatalf("sent %v", got)
	}
}

func TestRowErrorPolicy(t *testing.T) {
	mk := func() *sliceSource {
		s := rows(0, 1, 2)
		bad1 := &csv.RowError{File: "f.csv", Line: 2, Reason: csv.ReasonBadTimestamp, Detail: "x"}
		bad2 := &csv.RowError{File: "f.csv", Line: 4, Reason: csv.ReasonBrokenQuotes, Detail: "y"}
		s.items = []any{s.items[0], bad1, s.items[1], bad2, s.items[2]}
		return s
	}
	rec := &recorder{}
	st, err := Run(context.Background(), mk(), rec, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsRead != 5 || st.Sent != 3 || st.Rejected["bad_timestamp"] != 1 || st.Rejected["broken_quotes"] != 1 || st.RejectedTotal() != 2 {
		t.Fatalf("skip: stats %+v", st)
	}
	rec = &recorder{}
	st, err = Run(context.Background(), mk(), rec, Options{OnError: Stop})
	if err == nil || !strings.Contains(err.Error(), "f.csv:2") {
		t.Fatalf("stop: err %v, want one naming f.csv:2", err)
	}
	// The row read before the bad one is still sent.
	if got := rec.ids(); !slices.Equal(got, []string{"0"}) || st.Sent != 1 {
		t.Fatalf("stop: sent %v", got)
	}
	if _, err := Run(context.Background(), mk(), rec, Options{OnError: "ignore"}); err == nil {
		t.Fatal("unknown policy accepted")
	}
}

// Ctrl-C while waiting for the next tweet: what was read is still sent.
func TestCancelSendsWhatWasRead(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	clk := &fakeClock{now: time.Unix(0, 0), cancelAt: 2, cancel: cancel}
	rec := &recorder{}
	st, err := Run(ctx, rows(0, 10, 20, 30), rec, Options{Speed: 1, Clock: clk})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if got := rec.ids(); !slices.Equal(got, []string{"0", "1", "2"}) || st.Sent != 3 || st.RowsRead != 3 {
		t.Fatalf("sent %v stats %+v", got, st)
	}
}

func TestSendError(t *testing.T) {
	boom := errors.New("broker down")
	_, err := Run(context.Background(), rows(0, 1), SenderFunc(func(context.Context, []event.Tweet) error { return boom }), Options{})
	if !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
}

// run and produce resume the same way: the next start row of a replay that
// read N rows from row S is S+N, and S is 1-based.
func TestResumeArithmetic(t *testing.T) {
	if _, err := SkipRows(0); err == nil {
		t.Fatal("start row 0 accepted")
	}
	skip, err := SkipRows(1)
	if err != nil || skip != 0 {
		t.Fatalf("SkipRows(1) = %d, %v", skip, err)
	}
	if got := NextStartRow(301, Stats{RowsRead: 200}); got != 501 {
		t.Fatalf("NextStartRow(301, 200 rows) = %d, want 501", got)
	}
}
