package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"modernc.org/sqlite"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/cputime"
)

type harness struct {
	path string
	mu   sync.Mutex
	rd   *Store

	// FailNext's faults: a trigger on tweets aborts every insert while
	// fails is positive, through the SQL function named fault, which each
	// harness registers for itself (modernc registers functions for every
	// connection opened afterwards, so before the driver opens its pool).
	// The counter lives in Go because a count in the database would be
	// rolled back with the aborted write.
	fault string
	fails atomic.Int64
}

// newHarness returns a harness on a fresh file in dir.
func newHarness(dir string) (*harness, error) {
	h := &harness{path: filepath.Join(dir, "t.db")}
	f := fnv.New64a()
	f.Write([]byte(h.path))
	h.fault = fmt.Sprintf("tweetflow_test_fault_%x", f.Sum64())
	err := sqlite.RegisterScalarFunction(h.fault, 0, func(*sqlite.FunctionContext, []driver.Value) (driver.Value, error) {
		for {
			n := h.fails.Load()
			if n <= 0 {
				return int64(0), nil
			}
			if h.fails.CompareAndSwap(n, n-1) {
				return int64(1), nil
			}
		}
	})
	return h, err
}

// FailNext makes the next n inserts into tweets fail as a busy or broken
// database would: the statement aborts and the transaction rolls back.
func (h *harness) FailNext(n int) {
	rd, err := h.reader(context.Background())
	if err == nil {
		_, err = rd.db.Exec("CREATE TRIGGER IF NOT EXISTS test_fault BEFORE INSERT ON tweets WHEN " + h.fault +
			"() BEGIN SELECT RAISE(ABORT, 'injected transient fault'); END")
	}
	if err != nil {
		panic(fmt.Sprintf("FailNext: %v", err)) // the suite's interface has no error; the test fails loudly
	}
	h.fails.Store(int64(n))
}

func (h *harness) Open(ctx context.Context, models []string) (sink.Driver, error) {
	return Open(ctx, h.path, models)
}

// reader opens a store (no configured models) to read back with.
func (h *harness) reader(ctx context.Context) (*Store, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rd == nil {
		rd, err := Open(ctx, h.path, nil)
		if err != nil {
			return nil, err
		}
		h.rd = rd
	}
	// Columns may have been added by another Store since.
	rd := h.rd
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.closeStatements()
	rd.known = nil
	return rd, rd.ensureModels(ctx, nil)
}

func (h *harness) Read(ctx context.Context, id string) (sinktest.Doc, bool, error) {
	rd, err := h.reader(ctx)
	if err != nil {
		return sinktest.Doc{}, false, err
	}
	t, found, err := rd.Get(ctx, id)
	if err != nil || !found {
		return sinktest.Doc{}, found, err
	}
	return sinktest.Doc{
		TweetID: t.ID, User: t.User, Text: t.Text, Timestamp: t.CreatedAt, Fields: t.Fields,
		UserID: t.UserID, Lang: t.Lang, RetweetOf: t.RetweetOf, QuoteOf: t.QuoteOf, ReplyTo: t.ReplyTo,
		ConversationID: t.ConversationID, Hashtags: t.Hashtags, URLs: t.URLs, Mentions: t.Mentions,
		Results: t.Results, Complete: t.Complete, Missing: t.Missing, Partial: t.TimedOut && !t.Complete,
	}, true, nil
}

func (h *harness) Count(ctx context.Context) (int, error) {
	rd, err := h.reader(ctx)
	if err != nil {
		return 0, err
	}
	n, err := rd.Count(ctx, time.Time{}, time.Time{})
	return int(n), err
}

func (h *harness) Close() {
	if h.rd != nil {
		h.rd.Close(context.Background())
	}
}

// The harness has no sinktest.Rejecter: SQLite refuses no record that
// sink.Validate accepts (a bad model name, which could not be a column, is
// refused per record: TestBadModelNameRefused).

func TestBadModelNameRefused(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t)
	recs := []sink.Record{sinktest.Full(1), sinktest.Full(2)}
	recs[1].Results = append(recs[1].Results, sink.Result{Model: "x; DROP TABLE tweets", Label: "x"})
	err := s.WriteBatch(ctx, recs)
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || sink.ErrorCode(be.Failed[1]) != sink.Permanent {
		t.Fatalf("WriteBatch = %v, want #1 refused for good", err)
	}
	if n, err := s.Count(ctx, time.Time{}, time.Time{}); err != nil || n != 1 {
		t.Fatalf("count %d, %v; want 1", n, err)
	}
}

func TestConformance(t *testing.T) {
	sinktest.RunConformanceTests(t, func(ctx context.Context, t *testing.T) (sinktest.Harness, error) {
		return newHarness(t.TempDir())
	})
}

func rec(i int, models ...string) sink.Record {
	r := sink.Record{Tweet: sinktest.Tweet(i)}
	for _, m := range models {
		r.Results = append(r.Results, sinktest.Result(m, i))
	}
	return r
}

// tempStore opens a store on a fresh file, closed when tb ends.
func tempStore(tb testing.TB, models ...string) *Store {
	tb.Helper()
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(tb.TempDir(), "t.db"), models)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := s.Close(ctx); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

// A model added to an existing store gets its columns and nothing stored is lost.
// Columns reads a table's columns through a *sql.DB or inside a
// transaction: the tweets table has a written model's three columns, a
// table that does not exist has none.
func TestColumns(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "t.db"), []string{"sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	if err := s.WriteBatch(ctx, []sink.Record{rec(1, "sentiment")}); err != nil {
		t.Fatal(err)
	}
	cols, err := Columns(ctx, s.DB(), "tweets")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"id", "created_at", "hashtags", "sentiment_value", "sentiment_label", "sentiment_version"} {
		if !cols[c] {
			t.Errorf("tweets columns %v: no %s", cols, c)
		}
	}
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if cols, err := Columns(ctx, tx, "no_such_table"); err != nil || len(cols) != 0 {
		t.Errorf("columns of a missing table: %v, %v; want none", cols, err)
	}
}

func TestNewModelKeepsData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "t.db")
	s, err := Open(ctx, path, []string{"sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	var recs []sink.Record
	for i := range 100 {
		recs = append(recs, rec(i, "sentiment"))
	}
	if err := s.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)

	s2, err := Open(ctx, path, []string{"sentiment", "offense"})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close(ctx)
	// A third model appears in a record without being configured.
	if err := s2.WriteBatch(ctx, []sink.Record{rec(5, "offense", "topic")}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s2.Count(ctx, time.Time{}, time.Time{}); n != 100 {
		t.Fatalf("count %d, want 100", n)
	}
	got, _, err := s2.Get(ctx, sinktest.Tweet(5).ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Results) != 3 || got.Results["sentiment"] != sinktest.Result("sentiment", 5) || !got.Complete {
		t.Fatalf("merged row %+v", got)
	}
	other, _, _ := s2.Get(ctx, sinktest.Tweet(6).ID)
	if other.Results["sentiment"] != sinktest.Result("sentiment", 6) || len(other.Results) != 1 {
		t.Fatalf("old row %+v", other)
	}
	var models []string
	rows, _ := s2.DB().QueryContext(ctx, "SELECT name FROM models ORDER BY name")
	for rows.Next() {
		var m string
		rows.Scan(&m)
		models = append(models, m)
	}
	rows.Close()
	if !slices.Equal(models, []string{"offense", "sentiment", "topic"}) {
		t.Fatalf("models table %v", models)
	}
}

func TestQueries(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t, "offense", "sentiment")
	base := time.Date(2009, 4, 6, 0, 0, 0, 0, time.UTC)
	var recs []sink.Record
	// 3 tweets in minute 0 (sentiment -1, 0, 1), 2 in minute 2 (0.5, 0.5), 1 partial in minute 2.
	vals := []struct {
		min   int
		sent  float64
		multi bool
	}{{0, -1, true}, {0, 0, true}, {0, 1, true}, {2, 0.5, true}, {2, 0.5, true}, {2, 0, false}}
	for i, v := range vals {
		r := sink.Record{Tweet: sinktest.Tweet(i)}
		r.Tweet.CreatedAt = base.Add(time.Duration(v.min)*time.Minute + time.Duration(i)*time.Second)
		r.Tweet.User = fmt.Sprintf("u%d", i%2)
		r.Results = []sink.Result{{Model: "offense", Version: "1", Value: 0.1, Label: "no"}}
		if v.multi {
			r.Results = append(r.Results, sink.Result{Model: "sentiment", Version: "1", Value: v.sent, Label: "x"})
		} else {
			r.TimedOut = true
		}
		recs = append(recs, r)
	}
	recs[1].Tweet.Text = "100% sure_thing"
	if err := s.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, base, base.Add(time.Minute)); n != 3 {
		t.Fatalf("count minute 0 = %d", n)
	}
	if got, found, err := s.Get(ctx, recs[1].Tweet.ID); err != nil || !found || got.Text != "100% sure_thing" || len(got.Results) != 2 {
		t.Fatalf("get: %+v %v %v", got, found, err)
	}
	st, err := s.Stats(ctx, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Tweets != 6 || st.Complete != 5 || st.Partial != 1 || st.Models["sentiment"].Scored != 5 || st.Models["offense"].Scored != 6 {
		t.Fatalf("stats %+v", st)
	}
	if m := st.Models["sentiment"].Mean; m < 0.19 || m > 0.21 {
		t.Fatalf("sentiment mean %v, want 0.2", m)
	}
}

func BenchmarkWriteBatch(b *testing.B) { benchWriteBatch(b, sinktest.Tweet) }

// benchWriteBatch writes batches of 512 records with two models' results,
// the tweet of record n made by tweet(n).
func benchWriteBatch(b *testing.B, tweet func(int) event.Tweet) {
	ctx := context.Background()
	s := tempStore(b, "offense", "sentiment")
	const batch = 512
	n := 0
	w0, measured := writtenBytes()
	c0 := cputime.Process()
	for b.Loop() {
		recs := make([]sink.Record, batch)
		for k := range recs {
			recs[k] = rec(n, "offense", "sentiment")
			recs[k].Tweet = tweet(n)
			n++
		}
		if err := s.WriteBatch(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64((cputime.Process()-c0).Microseconds())/float64(n), "cpu-us/record")
	if w1, ok := writtenBytes(); ok && measured {
		b.ReportMetric(float64(w1-w0)/float64(n), "wbytes/record")
	}
}

// writtenBytes is the bytes this process has passed to write calls
// (wchar of /proc/self/io: WAL appends, checkpoints, spills of the page
// cache), false where the file does not exist (not Linux).
func writtenBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// scattered is sinktest.WithFields(i) with the indexed fields and the
// entities spread over the key space, as in a twarc2 replay (retweets of
// many tweets by many users, thousands of hashtags), rather than
// increasing with i: each batch then touches index pages all over the
// file, which is what the page cache and checkpoint settings are for.
func scattered(i int) event.Tweet {
	tw := sinktest.WithFields(i)
	p := uint64(i)*2654435761%1000003 + 1 // a permutation of 0..1000002
	tw.UserID = fmt.Sprint(p % 200000)
	tw.RetweetOf = fmt.Sprint(p)
	tw.QuoteOf = fmt.Sprint(p * 7 % 1000003)
	tw.ReplyTo = fmt.Sprint(p * 11 % 1000003)
	tw.ConversationID = fmt.Sprint(p * 13 % 1000003)
	tw.Hashtags = []string{fmt.Sprint("tag", p%5000), fmt.Sprint("tag", p*3%5000), "zeta"}
	tw.Mentions = []string{fmt.Sprint("user", p%200000), fmt.Sprint("user", p*5%200000)}
	tw.URLs = []string{fmt.Sprint("https://example.org/", p%50000)}
	return tw
}

// The same tweet twice inside one multi-row statement merges in order.
func TestSameTweetInOneChunk(t *testing.T) {
	ctx := context.Background()
	s := tempStore(t, "offense", "sentiment")
	var recs []sink.Record
	for i := range 2*chunkRows + 5 {
		recs = append(recs, rec(i, "offense", "sentiment"))
	}
	recs[3] = rec(7, "offense")
	recs[3].TimedOut = true
	recs[9] = rec(7, "sentiment")
	if err := s.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Get(ctx, sinktest.Tweet(7).ID)
	if !got.Complete || got.TimedOut || len(got.Results) != 2 || got.Results["sentiment"] != sinktest.Result("sentiment", 7) {
		t.Fatalf("merged %+v", got)
	}
	if n, _ := s.Count(ctx, time.Time{}, time.Time{}); n != int64(len(recs)-2) { // ids 3 and 9 replaced by 7
		t.Fatalf("count %d", n)
	}
}

// The harness's faults reach the driver as Transient errors that lose
// nothing: two failed writes, then the same batch succeeds.
func TestInjectedFaultsAreTransient(t *testing.T) {
	ctx := context.Background()
	h, err := newHarness(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	d, err := h.Open(ctx, []string{"sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close(ctx)
	recs := []sink.Record{rec(1, "sentiment"), rec(2, "sentiment")}
	h.FailNext(2)
	for i := range 2 {
		if err := d.WriteBatch(ctx, recs); sink.ErrorCode(err) != sink.Transient {
			t.Fatalf("write %d under a fault: %v, want a Transient error", i+1, err)
		}
	}
	if n, err := h.Count(ctx); err != nil || n != 0 {
		t.Fatalf("failed writes stored %d tweets (%v)", n, err)
	}
	if err := d.WriteBatch(ctx, recs); err != nil {
		t.Fatalf("write after the faults: %v", err)
	}
	if n, err := h.Count(ctx); err != nil || n != 2 {
		t.Fatalf("count = %d (%v), want 2", n, err)
	}
}

// BenchmarkWriteBatchFields is BenchmarkWriteBatch with every #10 field set
// (the tweet_entities triggers fire for 4 hashtags, 2 URLs, 2 mentions).
func BenchmarkWriteBatchFields(b *testing.B) { benchWriteBatch(b, sinktest.WithFields) }

// BenchmarkWriteBatchScattered is BenchmarkWriteBatchFields with the keys
// of the indexes spread (see scattered): the twarc2 replay case.
func BenchmarkWriteBatchScattered(b *testing.B) { benchWriteBatch(b, scattered) }
