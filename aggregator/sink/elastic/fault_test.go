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
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
	"github.com/tweetflow/tweetflow/internal/esfake"
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

func (e *env) options(t *testing.T) elastic.Options {
	dl, err := elastic.OpenDeadLetterFile(e.dl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dl.Close() })
	return elastic.Options{
		Config:     elastic.Config{Addresses: []string{e.url}, Index: index},
		Models:     elastictest.Models(models),
		DeadLetter: dl,
		Logger:     slog.New(slog.DiscardHandler),
		Clock:      e.clock,
		// The transport's own retries run on the wall clock: keep them
		// short. Item retries run on the controllable clock with realistic
		// backoff (100 ms doubling to 5 s).
		Retry:          elastic.RetryPolicy{RequestRetries: 2, RequestBackoff: func(int) time.Duration { return time.Millisecond }},
		ItemBackoffMin: 100 * time.Millisecond,
		ItemBackoffMax: 5 * time.Second,
		ItemRetryFor:   2 * time.Minute,
		FlushBytes:     64 << 10, // several bulk requests per batch
	}
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

// writeAll writes n tweets in batches as the aggregator does: records
// reported Transient are written again; Permanent ones are returned.
func writeAll(t *testing.T, d sink.Driver, recs []sink.Record, batch int) map[string]error {
	t.Helper()
	ctx := context.Background()
	permanent := map[string]error{}
	for start := 0; start < len(recs); start += batch {
		todo := recs[start:min(start+batch, len(recs))]
		for attempt := 0; len(todo) > 0; attempt++ {
			if attempt == 50 {
				t.Fatalf("batch at %d: still failing after %d attempts", start, attempt)
			}
			err := d.WriteBatch(ctx, todo)
			if err == nil {
				break
			}
			var be *sink.BatchError
			if !errors.As(err, &be) {
				if sink.ErrorCode(err) == sink.Permanent {
					t.Fatalf("batch at %d: %v", start, err)
				}
				continue
			}
			var again []sink.Record
			for i, e := range be.Failed {
				if sink.ErrorCode(e) == sink.Permanent {
					permanent[todo[i].Tweet.ID] = e
					continue
				}
				again = append(again, todo[i])
			}
			todo = again
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
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{e.url}}, elastic.RetryPolicy{})
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

func TestFaultPerItem429(t *testing.T) {
	e := newEnv(t)
	// One id in three fails its first two attempts.
	var mu sync.Mutex
	seen := map[string]int{}
	e.fake.SetItemFault(func(action, _, id string) int {
		mu.Lock()
		defer mu.Unlock()
		seen[id]++
		if len(id) > 0 && id[len(id)-1]%3 == 0 && seen[id] <= 2 {
			// Mostly 429 (queue full); some 409 (a version conflict left
			// after retry_on_conflict, as with concurrent replicas) and 503.
			return [...]int{429, 429, 409, 503}[id[len(id)-2]%4]
		}
		return 0
	})
	d := e.open(t, e.options(t))
	recs := records(3000)
	if perm := writeAll(t, d, recs, 500); len(perm) > 0 {
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
			d := e.open(t, e.options(t))
			recs := records(2000)
			// More consecutive failures than the transport retries, so
			// the item-level retry has to take over as well.
			e.fake.FailRequests(7, status)
			if perm := writeAll(t, d, recs, 400); len(perm) > 0 {
				t.Fatalf("permanent failures: %v", perm)
			}
			e.checkAll(t, recs, nil)
			if st := e.fake.Stats(); st.RejectedReqs != 7 {
				t.Errorf("rejected requests = %d, want 7", st.RejectedReqs)
			}
		})
	}
}

func TestFaultOutage30s(t *testing.T) {
	for _, mode := range []esfake.OutageMode{esfake.OutageDrop, esfake.OutageUnavailable} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			e := newEnv(t)
			d := e.open(t, e.options(t))
			recs := records(2000)
			// First half before the outage.
			writeAll(t, d, recs[:1000], 250)
			start := e.clock.Now()
			e.fake.Outage(30*time.Second, mode)
			if perm := writeAll(t, d, recs[1000:], 250); len(perm) > 0 {
				t.Fatalf("permanent failures: %v", perm)
			}
			waited := e.clock.Now().Sub(start)
			if waited < 30*time.Second {
				t.Errorf("writes finished %v into a 30 s outage", waited)
			}
			e.checkAll(t, recs, nil)
			t.Logf("outage 30s: writer backed off %v of (virtual) time; fake stats %+v", waited, e.fake.Stats())
		})
	}
}

// TestOutagePushesBack: when the outage outlasts the retry budget,
// WriteBatch returns Transient errors for every record (the caller keeps
// its inputs unacknowledged), and a later retry stores them all.
func TestOutagePushesBack(t *testing.T) {
	e := newEnv(t)
	o := e.options(t)
	o.ItemRetryFor = 10 * time.Second
	d := e.open(t, o)
	recs := records(300)
	e.fake.Outage(30*time.Second, esfake.OutageDrop)
	err := d.WriteBatch(context.Background(), recs)
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != len(recs) {
		t.Fatalf("WriteBatch during outage = %v, want every record failed", err)
	}
	for i, e := range be.Failed {
		if sink.ErrorCode(e) != sink.Transient {
			t.Fatalf("record %d: %v is not transient", i, e)
		}
	}
	// A caller whose context ends gets a Transient error at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := d.WriteBatch(ctx, recs); sink.ErrorCode(err) != sink.Transient {
		t.Fatalf("WriteBatch with a cancelled context = %v, want transient", err)
	}
	e.clock.Advance(30 * time.Second)
	writeAll(t, d, recs, 300)
	e.checkAll(t, recs, nil)
}

// letter is a dead-letter line as read back (values may be strings: NaN).
type letter struct {
	TweetID   string `json:"tweet_id"`
	Status    int    `json:"status"`
	ErrorType string `json:"error_type"`
	Reason    string `json:"reason"`
	Record    struct {
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
	d := e.open(t, e.options(t))
	recs := records(500)
	bad := map[string]bool{}
	for _, i := range []int{3, 250, 499} {
		recs[i].Results = append(recs[i].Results, sink.Result{Model: "unregistered", Version: "1", Value: 0.5, Label: "x"})
		bad[recs[i].Tweet.ID] = true
	}
	perm := writeAll(t, d, recs, 100)
	if len(perm) != len(bad) {
		t.Fatalf("permanent failures %v, want %v", perm, bad)
	}
	for id, err := range perm {
		if !bad[id] || !errors.Is(err, elastic.ErrDeadLettered) || !strings.Contains(err.Error(), "strict_dynamic_mapping_exception") {
			t.Errorf("tweet %s: %v", id, err)
		}
	}
	e.checkAll(t, recs, perm)
	letters := readLetters(t, e.dl)
	if len(letters) != len(bad) {
		t.Fatalf("%d dead letters, want %d", len(letters), len(bad))
	}
	for _, l := range letters {
		if !bad[l.TweetID] || l.Status != 400 || l.ErrorType != "strict_dynamic_mapping_exception" || l.Reason == "" || l.Record.Tweet.ID != l.TweetID || len(l.Record.Results) != 3 {
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
	d := e.open(t, o2)
	recs := records(20)
	recs[7].Results = append(recs[7].Results, sink.Result{Model: "topic", Version: "1", Value: 2, Label: "politics"})
	perm := writeAll(t, d, recs, 20)
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

// TestBadRecordsNeverBlock: records the driver cannot encode (NaN value, no
// timestamp) fail alone, permanently, named by index.
func TestBadRecordsNeverBlock(t *testing.T) {
	e := newEnv(t)
	d := e.open(t, e.options(t))
	recs := records(10)
	recs[2].Results[0].Value = nan()
	recs[5].Tweet.CreatedAt = time.Time{}
	err := d.WriteBatch(context.Background(), recs)
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
	d := e.open(t, e.options(t))
	writeAll(t, d, records(50), 50)
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
