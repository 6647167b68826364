package elastic_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
)

var models = []string{"offense", "sentiment"}

const index = "tweetflow"

type env struct {
	fake  *esfake.Server
	url   string
	clock *esfake.Clock
	dl    string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	clock := esfake.NewClock(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))
	fake, url := elastictest.NewFake(t, esfake.Options{Now: clock.Now})
	return &env{fake: fake, url: url, clock: clock, dl: filepath.Join(t.TempDir(), "dead.ndjson")}
}

func (e *env) options(*testing.T) elastic.Options {
	o := elastictest.Options(e.url, index, models)
	o.FlushBytes = 64 << 10 // several bulk requests per batch
	return o
}

// writer returns a sink.Writer over d, as the aggregator writes: any valid
// model name (so the store's own refusals are what the tests see), a
// dead-letter file, short backoff (the fake's faults are counted, not
// timed) and the given write budget.
func (e *env) writer(t *testing.T, d sink.Driver, budget time.Duration) *sink.Writer {
	t.Helper()
	dl, err := sink.OpenDeadLetterFile(e.dl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dl.Close() })
	w, err := sink.NewWriter(d, sink.Options{
		WriteBudget: budget, BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond,
		DeadLetter: dl, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func (e *env) open(t *testing.T, o elastic.Options) *elastic.Driver {
	t.Helper()
	d, err := elastic.Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// writeAll writes recs in batches through w and returns the records that
// failed for good; a record still failing transiently fails the test.
func writeAll(t *testing.T, w *sink.Writer, recs []sink.Record, batch int) map[string]error {
	t.Helper()
	permanent := map[string]error{}
	for start := 0; start < len(recs); start += batch {
		todo := recs[start:min(start+batch, len(recs))]
		err := w.Write(context.Background(), todo)
		if err == nil {
			continue
		}
		var be *sink.BatchError
		if !errors.As(err, &be) {
			t.Fatalf("batch at %d: %v", start, err)
		}
		for i, e := range be.Failed {
			if sink.ErrorCode(e) != sink.Permanent {
				t.Fatalf("batch at %d: record %d: %v", start, i, e)
			}
			permanent[todo[i].Tweet.ID] = e
		}
	}
	return permanent
}

func records(n int) []sink.Record {
	recs := make([]sink.Record, n)
	for i := range recs {
		recs[i] = sinktest.Full(i)
	}
	return recs
}

// checkAll checks that every tweet is stored exactly once with every field.
func (e *env) checkAll(t *testing.T, recs []sink.Record, skip map[string]error) {
	t.Helper()
	want := len(recs) - len(skip)
	if got := e.fake.DocCount(index); got != want {
		t.Errorf("documents = %d, want %d", got, want)
	}
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{e.url}}, elastic.RetryPolicy{RequestRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := elastictest.Search(context.Background(), es, index, map[string]any{"match_all": map[string]any{}}, 10000)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]sinktest.Doc{}
	for _, d := range docs {
		if _, dup := byID[d.TweetID]; dup {
			t.Errorf("tweet %s stored twice", d.TweetID)
		}
		byID[d.TweetID] = d
	}
	bad := 0
	for _, r := range recs {
		if skip[r.Tweet.ID] != nil {
			continue
		}
		d, ok := byID[r.Tweet.ID]
		if !ok {
			t.Errorf("tweet %s lost", r.Tweet.ID)
			bad++
		} else if diff := sinktest.CheckDoc(d, r.Tweet, r.Results, models, false); diff != "" {
			t.Errorf("tweet %s: %s", r.Tweet.ID, diff)
			bad++
		}
		if bad > 10 {
			t.Fatal("too many bad documents")
		}
	}
}

// tryCounter counts each id's bulk attempts; its fault fails attempt try
// of id with the status fail returns (0 lets it through).
type tryCounter struct {
	mu    sync.Mutex
	tries map[string]int
	fail  func(id string, try int) int
}

func countTries(fail func(id string, try int) int) *tryCounter {
	return &tryCounter{tries: map[string]int{}, fail: fail}
}

// fault is an esfake.ItemFault; the fake may call it concurrently.
func (c *tryCounter) fault(_, _, id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tries[id]++
	return c.fail(id, c.tries[id])
}

// of returns how often id was tried.
func (c *tryCounter) of(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tries[id]
}

func TestFaultPerItem429(t *testing.T) {
	e := newEnv(t)
	// One id in three fails its first two attempts.
	e.fake.SetItemFault(countTries(func(id string, try int) int {
		if len(id) > 0 && id[len(id)-1]%3 == 0 && try <= 2 {
			// Mostly 429 (queue full); some 409 (a version conflict left
			// after retry_on_conflict, as with concurrent replicas) and 503.
			return [...]int{429, 429, 409, 503}[id[len(id)-2]%4]
		}
		return 0
	}).fault)
	w := e.writer(t, e.open(t, e.options(t)), time.Minute)
	recs := records(3000)
	if perm := writeAll(t, w, recs, 500); len(perm) > 0 {
		t.Fatalf("permanent failures: %v", perm)
	}
	e.checkAll(t, recs, nil)
	if st := e.fake.Stats(); st.FailedItems == 0 {
		t.Error("no item failed: the fault was not injected")
	}
}

func TestFaultWholeRequest429And503(t *testing.T) {
	for _, status := range []int{429, 503} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			e := newEnv(t)
			w := e.writer(t, e.open(t, e.options(t)), time.Minute)
			recs := records(2000)
			// The client does not retry: the Writer does, alone.
			e.fake.FailRequests(7, status)
			if perm := writeAll(t, w, recs, 400); len(perm) > 0 {
				t.Fatalf("permanent failures: %v", perm)
			}
			e.checkAll(t, recs, nil)
			if st := e.fake.Stats(); st.RejectedReqs != 7 {
				t.Errorf("rejected requests = %d, want 7", st.RejectedReqs)
			}
		})
	}
}

// TestFaultOutage30s: during an outage longer than the write budget, Write
// returns within the budget with every record Transient (the aggregator
// acks its inputs with the error, and the broker redelivers); once the
// cluster is back, the same records are stored, each once. A cancelled
// caller gets Transient errors at once.
func TestFaultOutage30s(t *testing.T) {
	for _, mode := range []esfake.OutageMode{esfake.OutageDrop, esfake.OutageUnavailable} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			e := newEnv(t)
			const budget = 300 * time.Millisecond
			d := e.open(t, e.options(t))
			w := e.writer(t, d, budget)
			// Writes outside the outage get a budget a loaded machine
			// cannot miss; the short one is for the outage only.
			long := e.writer(t, d, time.Minute)
			recs := records(2000)
			writeAll(t, long, recs[:1000], 250)
			e.fake.Outage(30*time.Second, mode) // by the fake's clock, which only the test moves
			start := time.Now()
			err := w.Write(context.Background(), recs[1000:1300])
			if el := time.Since(start); el > budget+time.Second {
				t.Errorf("Write during the outage took %v, budget %v", el, budget)
			}
			var be *sink.BatchError
			if !errors.As(err, &be) || len(be.Failed) != 300 {
				t.Fatalf("Write during the outage = %v, want every record failed", err)
			}
			for i, err := range be.Failed {
				if sink.ErrorCode(err) != sink.Transient || errors.Is(err, sink.ErrDeadLettered) {
					t.Fatalf("record %d: %v is not transient", i, err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := w.Write(ctx, recs[1000:1010]); !errors.As(err, &be) || sink.ErrorCode(be.Failed[0]) != sink.Transient {
				t.Fatalf("Write with a cancelled context = %v, want transient", err)
			}
			e.clock.Advance(30 * time.Second)
			if perm := writeAll(t, long, recs[1000:], 250); len(perm) > 0 {
				t.Fatalf("permanent failures: %v", perm)
			}
			e.checkAll(t, recs, nil)
		})
	}
}

// letter is a dead-letter line as read back (values may be strings: NaN).
type letter struct {
	TweetID string `json:"tweet_id"`
	Code    string `json:"code"`
	Reason  string `json:"reason"`
	Record  struct {
		Tweet struct {
			ID string `json:"id"`
		} `json:"tweet"`
		Results []struct {
			Model string `json:"model"`
			Value any    `json:"value"`
		} `json:"results"`
	} `json:"record"`
}

func readLetters(t *testing.T, path string) []letter {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []letter
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l letter
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("dead letter line: %v", err)
		}
		out = append(out, l)
	}
	return out
}

// TestMappingConflictDeadLetter: records the mapping rejects go to the
// dead-letter file with the reason; the others are stored.
func TestMappingConflictDeadLetter(t *testing.T) {
	e := newEnv(t)
	w := e.writer(t, e.open(t, e.options(t)), time.Minute)
	recs := records(500)
	bad := map[string]bool{}
	for _, i := range []int{3, 250, 499} {
		recs[i].Results = append(recs[i].Results, sink.Result{Model: "unregistered", Version: "1", Value: 0.5, Label: "x"})
		bad[recs[i].Tweet.ID] = true
	}
	perm := writeAll(t, w, recs, 100)
	if len(perm) != len(bad) {
		t.Fatalf("permanent failures %v, want %v", perm, bad)
	}
	for id, err := range perm {
		if !bad[id] || !errors.Is(err, sink.ErrDeadLettered) || !strings.Contains(err.Error(), "strict_dynamic_mapping_exception") {
			t.Errorf("tweet %s: %v", id, err)
		}
	}
	e.checkAll(t, recs, perm)
	letters := readLetters(t, e.dl)
	if len(letters) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(letters), len(bad))
	}
	for _, l := range letters {
		if !bad[l.TweetID] || l.Code != "permanent" || !strings.Contains(l.Reason, "status 400: strict_dynamic_mapping_exception") || l.Record.Tweet.ID != l.TweetID || len(l.Record.Results) != 3 {
			t.Errorf("dead letter %+v", l)
		}
	}
}

// TestValueTypeConflictDeadLetter: the live index maps a model's value as a
// number, a driver that believes it is a keyword writes labels: the items
// fail to parse and are dead-lettered; Open itself refuses to change the
// field's type.
func TestValueTypeConflictDeadLetter(t *testing.T) {
	e := newEnv(t)
	o := e.options(t)
	o.Models = append(elastictest.Models(models), elastic.Model{Name: "topic", ValueType: "float"})
	e.open(t, o)

	o2 := e.options(t)
	o2.Models = append(elastictest.Models(models), elastic.Model{Name: "topic", ValueType: "keyword"})
	if _, err := elastic.Open(context.Background(), o2); err == nil || !strings.Contains(err.Error(), "cannot be changed from type [float] to [keyword]") {
		t.Fatalf("open with a conflicting mapping = %v", err)
	}
	o2.SkipEnsureIndex = true
	w := e.writer(t, e.open(t, o2), time.Minute)
	recs := records(20)
	recs[7].Results = append(recs[7].Results, sink.Result{Model: "topic", Version: "1", Value: 2, Label: "politics"})
	perm := writeAll(t, w, recs, 20)
	if len(perm) != 1 || perm[recs[7].Tweet.ID] == nil || !strings.Contains(perm[recs[7].Tweet.ID].Error(), "document_parsing_exception") {
		t.Fatalf("permanent = %v", perm)
	}
	letters := readLetters(t, e.dl)
	if len(letters) != 1 || letters[0].TweetID != recs[7].Tweet.ID {
		t.Fatalf("letters = %+v", letters)
	}
	if got := e.fake.DocCount(index); got != 19 {
		t.Errorf("documents = %d, want 19", got)
	}
}

// TestBadRecordsNeverBlock: records Validate refuses (NaN value, no
// timestamp) fail alone, permanently, named by index, and are
// dead-lettered; the driver alone refuses what it cannot encode too.
func TestBadRecordsNeverBlock(t *testing.T) {
	e := newEnv(t)
	d := e.open(t, e.options(t))
	recs := records(10)
	recs[2].Results[0].Value = nan()
	recs[5].Tweet.CreatedAt = time.Time{}
	raw := d.WriteBatch(context.Background(), recs[2:3])
	var rbe *sink.BatchError
	if !errors.As(raw, &rbe) || sink.ErrorCode(rbe.Failed[0]) != sink.Permanent {
		t.Fatalf("driver WriteBatch of a NaN value = %v, want it refused for good", raw)
	}
	err := e.writer(t, d, time.Minute).Write(context.Background(), recs)
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 2 || be.Failed[2] == nil || be.Failed[5] == nil {
		t.Fatalf("WriteBatch = %v, want #2 and #5 failed", err)
	}
	for _, i := range []int{2, 5} {
		if sink.ErrorCode(be.Failed[i]) != sink.Permanent || !strings.Contains(be.Failed[i].Error(), recs[i].Tweet.ID) {
			t.Errorf("#%d: %v", i, be.Failed[i])
		}
	}
	letters := readLetters(t, e.dl)
	if len(letters) != 2 {
		t.Fatalf("%d dead letters, want 2", len(letters))
	}
	if v := letters[0].Record.Results[0].Value; v != "NaN" {
		t.Errorf("dead letter keeps value %v, want \"NaN\"", v)
	}
	if got := e.fake.DocCount(index); got != 8 {
		t.Errorf("documents = %d, want 8", got)
	}
}

func nan() float64 { var z float64; return z / z }

// TestNeverDeletesAtOpen: opening on an index with data keeps it.
func TestNeverDeletesAtOpen(t *testing.T) {
	e := newEnv(t)
	writeAll(t, e.writer(t, e.open(t, e.options(t)), time.Minute), records(50), 50)
	o := e.options(t)
	o.Models = append(elastictest.Models(models), elastic.Model{Name: "topic", ValueType: "keyword"})
	e.open(t, o)
	if got := e.fake.DocCount(index); got != 50 {
		t.Fatalf("documents after reopen = %d, want 50", got)
	}
	m, _ := e.fake.Mapping(index)
	props := m["properties"].(map[string]any)
	if _, ok := props["topic"]; !ok {
		t.Error("reopening with a new model did not add its fields")
	}
}

// TestLongIDRejectsWholeBulk: Elasticsearch refuses a whole bulk request
// (400 action_request_validation_exception) when one _id passes 512 bytes,
// and the fake does too: the driver alone then fails every record of the
// batch, for good. Through the Writer, Validate refuses the long id first,
// so only that record fails and the others are stored.
func TestLongIDRejectsWholeBulk(t *testing.T) {
	e := newEnv(t)
	o := e.options(t)
	o.Workers = 1 // one bulk request for the batch (each worker sends its own)
	d := e.open(t, o)
	recs := records(5)
	recs[3].Tweet.ID = strings.Repeat("x", 513)
	err := d.WriteBatch(context.Background(), recs)
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 5 {
		t.Fatalf("driver WriteBatch = %v, want all 5 failed with the request", err)
	}
	for i, err := range be.Failed {
		if sink.ErrorCode(err) != sink.Permanent || !strings.Contains(err.Error(), "action_request_validation_exception") || !strings.Contains(err.Error(), "Validation Failed: 1: id [xxx") {
			t.Errorf("#%d: %v", i, err)
		}
	}
	if n := e.fake.DocCount(index); n != 0 {
		t.Fatalf("%d documents stored from a refused request", n)
	}
	err = e.writer(t, d, time.Minute).Write(context.Background(), recs)
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[3] == nil {
		t.Fatalf("Write = %v, want only #3", err)
	}
	if n := e.fake.DocCount(index); n != 4 {
		t.Errorf("documents = %d, want 4", n)
	}
}

// TestBlocksClassified: answers whose status alone misleads are classified
// by their type (see classify): an operator's write block (403) is
// operational, so it is retried, not dead-lettered, and the record is
// stored once the block is lifted; overload (429) is retried too.
func TestBlocksClassified(t *testing.T) {
	e := newEnv(t)
	tries := countTries(func(id string, try int) int {
		switch {
		case id == sinktest.Tweet(1).ID && try <= 3:
			return 403 // FORBIDDEN/8/index write (api), until the operator lifts it
		case id == sinktest.Tweet(2).ID && try <= 2:
			return 429
		}
		return 0
	})
	e.fake.SetItemFault(tries.fault)
	w := e.writer(t, e.open(t, e.options(t)), time.Minute)
	if perm := writeAll(t, w, records(4), 4); len(perm) != 0 {
		t.Fatalf("permanent = %v, want none (a write block is not a dead letter)", perm)
	}
	if n := tries.of(sinktest.Tweet(1).ID); n != 4 {
		t.Errorf("a write-blocked item was tried %d times, want 4 (3 blocked, then stored)", n)
	}
	if got := e.fake.DocCount(index); got != 4 {
		t.Errorf("documents = %d, want 4", got)
	}
}
