package dashboard

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
)

// textCorpus holds the texts the index tests search: mixed case, non-ASCII
// (whose case the index folds and the scan's LIKE does not), quotes, LIKE
// wildcards and backslashes, FTS5 query syntax, and a rare word.
var textCorpus = []string{
	"Scott Hamilton is at the rink", "scotthamilton fan club", "HAMILTON!!!", "the rain in Spain",
	`she said "hello" to me`, "100% sure_thing", `back\slash and 50%`, "Éclair ÉCLAIR éclair", "straße STRASSE",
	"NEAR(a b) AND OR NOT * ^", "zzqxj is a rare word", "emoji 😀 party", "tab\there", "ab",
	"Kelvin sign \u212a and k", "love love love", "i love the rain",
}

// textFixture writes n tweets cycling through textCorpus, one per second.
func textFixture(t testing.TB, n int) (*sqlite.Store, *Store) {
	t.Helper()
	ctx := context.Background()
	sk, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"), []string{"sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sk.Close(ctx) })
	writeTexts(t, sk, 0, n)
	st, err := NewStore(ctx, sk.DB())
	if err != nil {
		t.Fatal(err)
	}
	return sk, st
}

func writeTexts(t testing.TB, sk *sqlite.Store, lo, hi int) {
	t.Helper()
	var recs []sink.Record
	for i := lo; i < hi; i++ {
		recs = append(recs, sink.Record{
			Tweet: event.Tweet{ID: fmt.Sprint("t", i), User: fmt.Sprint("u", i%7), Text: textCorpus[i%len(textCorpus)] + fmt.Sprint(" #", i),
				CreatedAt: t0.Add(time.Duration(i) * time.Second)},
			Results: []sink.Result{{Model: "sentiment", Value: 0.5, Label: "positive", Version: "1"}},
		})
	}
	if err := sk.WriteBatch(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
}

// oracle is the search's meaning, computed in Go from every stored tweet:
// the newest limit tweets in [from, to) whose text holds q, ignoring ASCII
// case (SQLite's LIKE), newest first, ties by id.
func oracle(t testing.TB, sk *sqlite.Store, q SearchQuery) []string {
	t.Helper()
	rows, err := sk.DB().Query("SELECT id, text, created_at FROM tweets")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	type hit struct {
		id string
		at int64
	}
	var hits []hit
	needle := asciiLower(q.Text)
	for rows.Next() {
		var h hit
		var text string
		if err := rows.Scan(&h.id, &text, &h.at); err != nil {
			t.Fatal(err)
		}
		if h.at >= q.From.UnixMilli() && h.at < q.To.UnixMilli() && strings.Contains(asciiLower(text), needle) {
			hits = append(hits, h)
		}
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if a.at != b.at {
			return int(b.at - a.at)
		}
		return strings.Compare(a.id, b.id)
	})
	var ids []string
	for _, h := range hits[:min(len(hits), q.Limit)] {
		ids = append(ids, h.id)
	}
	return ids
}

func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func ids(ts []Tweet) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

// checkSearch runs q and compares it with the oracle; it returns whether
// the index answered.
func checkSearch(t *testing.T, sk *sqlite.Store, st *Store, q SearchQuery) bool {
	t.Helper()
	res, err := st.Search(context.Background(), q, time.Minute)
	if err != nil {
		t.Fatalf("search %q: %v", q.Text, err)
	}
	if want := oracle(t, sk, q); !slices.Equal(ids(res.Tweets), want) {
		t.Fatalf("search %q (indexed=%v): got %v, want %v", q.Text, res.Indexed, ids(res.Tweets), want)
	}
	if !res.Complete {
		t.Errorf("search %q: incomplete with a minute's budget", q.Text)
	}
	return res.Indexed
}

func TestIndexedSearchMatchesTheScan(t *testing.T) {
	ctx := context.Background()
	sk, st := textFixture(t, 340)
	all := SearchQuery{From: t0, To: t0.Add(time.Hour), Limit: 50}
	queries := []string{"hamilton", "HAMILTON", "Hamilton!", "zzqxj", "ZZQ", `"hello"`, `he"l`, "100%", "% s", "e_t",
		`k\s`, "clair", "ÉCLAIR", "éclair", "strasse", "near(a", "and or not *", "😀", "tab\th", "ab", "a", "rain",
		"the rain in spain", "rink #33", "nothing like this", "kelvin sign k", "love love"}
	// Before the indexer has run, the index answers from its (empty) posting
	// lists plus the unindexed tail: every tweet.
	for _, q := range queries {
		all.Text = q
		checkSearch(t, sk, st, all)
	}
	if err := st.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	indexed := 0
	for _, q := range queries {
		all.Text = q
		if checkSearch(t, sk, st, all) {
			indexed++
		}
		narrow := all
		narrow.From, narrow.To, narrow.Limit = t0.Add(100*time.Second), t0.Add(200*time.Second), 3
		checkSearch(t, sk, st, narrow)
	}
	// Every ASCII query of three bytes or more goes through the index.
	if want := 22; indexed != want {
		t.Errorf("%d of %d queries used the index, want %d", indexed, len(queries), want)
	}

	// New tweets past the mark are found before the indexer reaches them.
	writeTexts(t, sk, 340, 360)
	all.Text = "zzqxj"
	if !checkSearch(t, sk, st, all) {
		t.Error("zzqxj: not through the index")
	}
	// A changed text behind the mark is found by its new text, not its old.
	if _, err := sk.DB().Exec("UPDATE tweets SET text = 'now about qwertyuiop' WHERE id = 't10'"); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"qwertyuiop", "zzqxj"} {
		all.Text = q
		checkSearch(t, sk, st, all)
	}
	// A deleted tweet behind the mark is gone from the index too; its rowid
	// reused by a new tweet is indexed by the insert trigger.
	if _, err := sk.DB().Exec("DELETE FROM tweets WHERE id = 't359'"); err != nil {
		t.Fatal(err)
	}
	if err := st.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sk.DB().Exec("DELETE FROM tweets WHERE rowid = (SELECT MAX(rowid) FROM tweets)"); err != nil {
		t.Fatal(err)
	}
	if _, err := sk.DB().Exec("INSERT INTO tweets (id, created_at, text) VALUES ('reused', ?, 'asdfghjkl reused rowid')", t0.UnixMilli()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"asdfghjkl", "#358", "#359", "zzqxj"} {
		all.Text = q
		checkSearch(t, sk, st, all)
	}
}

func TestCommonQueriesScan(t *testing.T) {
	sk, st := textFixture(t, ftsMaxCandidates+200)
	if err := st.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := SearchQuery{Text: " #", From: t0, To: t0.Add(3 * time.Hour), Limit: 20}
	if checkSearch(t, sk, st, q) {
		t.Errorf("%q is in every tweet: want the scan, got the index", q.Text)
	}
	q.Text = "zzqxj"
	if !checkSearch(t, sk, st, q) {
		t.Errorf("%q is rare: want the index", q.Text)
	}
}

func TestTextIndexRebuiltAfterRenumbering(t *testing.T) {
	ctx := context.Background()
	sk, st := textFixture(t, 200)
	if err := st.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	// VACUUM may renumber the rowids of a table without an INTEGER PRIMARY
	// KEY (and so may a tool that copies the table): the index would then
	// point at other tweets. Renumber them as such a copy would, behind the
	// triggers' back.
	if _, err := sk.DB().Exec("UPDATE tweets SET rowid = rowid + 1000"); err != nil {
		t.Fatal(err)
	}
	st, err := NewStore(ctx, sk.DB())
	if err != nil {
		t.Fatal(err)
	}
	var upto int64
	if err := sk.DB().QueryRow("SELECT upto FROM " + ftsState).Scan(&upto); err != nil {
		t.Fatal(err)
	}
	if upto != 0 {
		t.Fatalf("after VACUUM the index was kept (mark %d)", upto)
	}
	if err := st.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	q := SearchQuery{From: t0, To: t0.Add(time.Hour), Limit: 100}
	for _, text := range []string{"zzqxj", "hamilton", "#7", "#77"} {
		q.Text = text
		checkSearch(t, sk, st, q)
	}
	// Opening again keeps the index: nothing to rebuild.
	if _, err := NewStore(ctx, sk.DB()); err != nil {
		t.Fatal(err)
	}
	if err := sk.DB().QueryRow("SELECT upto FROM " + ftsState).Scan(&upto); err != nil || upto == 0 {
		t.Fatalf("reopening reset the index: mark %d, %v", upto, err)
	}
}

func TestIndexTextFollowsWrites(t *testing.T) {
	sk, st := textFixture(t, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); st.IndexText(ctx, 10*time.Millisecond, nil) }()
	writeTexts(t, sk, 100, 150)
	var upto, top int64
	for range 500 {
		if err := sk.DB().QueryRow("SELECT (SELECT upto FROM "+ftsState+"), (SELECT MAX(rowid) FROM tweets)").Scan(&upto, &top); err != nil {
			t.Fatal(err)
		}
		if upto == top {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if upto != top {
		t.Fatalf("indexer stopped at rowid %d of %d", upto, top)
	}
}

func FuzzIndexedSearch(f *testing.F) {
	for _, s := range textCorpus {
		f.Add(s)
		f.Add(strings.ToUpper(s[:min(len(s), 6)]))
	}
	f.Add(`"""`)
	f.Add("\x00ab")
	f.Add("a\"b\"c")
	sk, st := textFixture(f, 120)
	if err := st.CatchUp(context.Background()); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		if text == "" || len(text) > 200 {
			return
		}
		if strings.ContainsRune(text, 0) || !utf8.ValidString(text) {
			if _, err := st.Search(context.Background(), SearchQuery{Text: text, From: t0, To: t0.Add(time.Hour), Limit: 30}, time.Second); err == nil {
				t.Fatalf("search %q: no error for a NUL", text)
			}
			return
		}
		checkSearch(t, sk, st, SearchQuery{Text: text, From: t0, To: t0.Add(time.Hour), Limit: 30})
	})
}

func TestFTSQueryPicksTheRarestTrigrams(t *testing.T) {
	freq := map[string]int{"at ": 900, "t t": 20, " th": 950, "the": 990, "he ": 800, "e r": 30, " ri": 40, "rin": 60, "ink": 70}
	got := ftsQuery("At The Rink", func(s string) int { return freq[s] })
	if want := `"t t" AND "e r" AND " ri"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// Quotes are doubled inside FTS5 strings; unseen trigrams come first.
	got = ftsQuery(`a"b"c`, func(s string) int { return freq[s] })
	if want := `"a""b" AND """b""" AND "b""c"`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, q := range []string{"ab", "éclair", "x\x00yz"} {
		if indexable(q) {
			t.Errorf("%q: indexable, want the scan", q)
		}
	}
}

func TestIndexLookupOverBudgetFallsBackToTheScan(t *testing.T) {
	sk, st := textFixture(t, 340)
	if err := st.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	q := SearchQuery{Text: "hamilton", From: t0, To: t0.Add(time.Hour), Limit: 50}
	res, err := st.Search(context.Background(), q, time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	if res.Indexed {
		t.Error("the index answered with no time for it")
	}
	// 340 tweets are one scan step: complete even so.
	if want := oracle(t, sk, q); !slices.Equal(ids(res.Tweets), want) || !res.Complete {
		t.Errorf("got %v (complete=%v), want %v", ids(res.Tweets), res.Complete, want)
	}
}

func TestIndexTextDefersToABusyWriter(t *testing.T) {
	sk, st := textFixture(t, 100)
	st.busyRate = 50
	// The loop runs on the test's ticks and clock: a pass happens when the
	// test sends a tick, and a writer's rate is tweets per second of the
	// test's clock, so busy or not does not depend on the machine's speed
	// (a wall-clock rate failed this test under load).
	var mu sync.Mutex
	clock := t0
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	ticks, passed, done := make(chan time.Time), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		st.indexLoop(ctx, ticks, now, func() {
			select {
			case passed <- struct{}{}:
			case <-ctx.Done():
			}
		}, nil)
	}()
	defer func() { cancel(); <-done }()
	pass := func() { ticks <- now(); <-passed }
	marks := func() (upto, top int64) {
		t.Helper()
		if err := sk.DB().QueryRow("SELECT (SELECT upto FROM "+ftsState+"), (SELECT MAX(rowid) FROM tweets)").Scan(&upto, &top); err != nil {
			t.Fatal(err)
		}
		return upto, top
	}
	caughtUp := func(when string) {
		t.Helper()
		if upto, top := marks(); upto != top {
			t.Fatalf("%s: indexer at rowid %d of %d, want caught up", when, upto, top)
		}
	}
	<-passed // the first pass runs at once
	caughtUp("first pass")

	// A replay at full speed: 3000 tweets in a second of the clock, 60
	// times the busy rate. The pass after it leaves them to the scan.
	before, _ := marks()
	for i := range 30 {
		writeTexts(t, sk, 100+100*i, 200+100*i)
	}
	advance(time.Second)
	pass()
	if upto, top := marks(); upto != before {
		t.Errorf("the indexer took %d of the %d tweets a busy writer wrote", upto-before, top-before)
	}
	// The replay ends: nothing new in the next second, the index catches up.
	advance(time.Second)
	pass()
	caughtUp("after the writer stopped")
	// A writer below the busy rate (10 tweets in a second) is no reason to wait.
	writeTexts(t, sk, 3100, 3110)
	advance(time.Second)
	pass()
	caughtUp("with a slow writer")
}

func TestCatchUpCountsTweets(t *testing.T) {
	_, st := textFixture(t, 2345)
	n, err := st.catchUp(context.Background(), 2345, st.busyRate, time.Now)
	if err != nil || n != 2345 {
		t.Fatalf("catchUp = %d, %v; want 2345", n, err)
	}
	if n, err = st.catchUp(context.Background(), 2345, st.busyRate, time.Now); err != nil || n != 0 {
		t.Fatalf("second catchUp = %d, %v; want 0", n, err)
	}
}
