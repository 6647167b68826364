package dashboard

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/model"
)

var t0 = time.Date(2009, 4, 6, 22, 0, 0, 0, time.UTC)

func record(i int, at time.Time, models ...string) sink.Record {
	r := sink.Record{Tweet: event.Tweet{ID: fmt.Sprint("t", i), User: fmt.Sprint("user", i%50),
		Text: fmt.Sprintf("tweet number %d about %s", i, []string{"rain", "sun", "snow"}[i%3]), CreatedAt: at}}
	for _, m := range models {
		r.Results = append(r.Results, sink.Result{Model: m, Value: float64(i%7) / 7, Label: "l", Version: "1"})
	}
	return r
}

// fixture writes n tweets, one every gap, through the real SQLite sink.
func fixture(t testing.TB, n int, gap time.Duration) (*sqlite.Store, *Store) {
	t.Helper()
	sk := openSink(t)
	write(t, sk, 0, n, gap, "offense", "sentiment")
	st, err := NewStore(context.Background(), sk.DB())
	if err != nil {
		t.Fatal(err)
	}
	return sk, st
}

// openSink opens a SQLite store with both models in a temporary folder,
// closed at the end of the test.
func openSink(t testing.TB) *sqlite.Store {
	t.Helper()
	ctx := context.Background()
	sk, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "d.db"), []string{"offense", "sentiment"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sk.Close(ctx) })
	return sk
}

func write(t testing.TB, sk *sqlite.Store, lo, hi int, gap time.Duration, models ...string) {
	t.Helper()
	var recs []sink.Record
	for i := lo; i < hi; i++ {
		recs = append(recs, record(i, t0.Add(time.Duration(i)*gap), models...))
		if len(recs) == 1000 || i == hi-1 {
			if err := sk.WriteBatch(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
			recs = recs[:0]
		}
	}
}

// rawSeries recomputes a series from the tweets table, the slow way.
func rawSeries(t *testing.T, db *sql.DB, model string, lo, hi, iv int64) map[int64][2]float64 {
	t.Helper()
	rows, err := db.Query(fmt.Sprintf(`SELECT (created_at / ?) * ?, COUNT(*), AVG(%s_value) FROM tweets
		WHERE created_at >= ? AND created_at < ? GROUP BY 1`, model), iv, iv, lo, hi)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64][2]float64{}
	for rows.Next() {
		var b, n int64
		var avg sql.NullFloat64
		if err := rows.Scan(&b, &n, &avg); err != nil {
			t.Fatal(err)
		}
		out[b] = [2]float64{float64(n), avg.Float64}
	}
	return out
}

func checkSeries(t *testing.T, sk *sqlite.Store, st *Store, from, to time.Time, wantSource string) Series {
	t.Helper()
	s, err := st.Series(context.Background(), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != wantSource {
		t.Errorf("source = %s, want %s", s.Source, wantSource)
	}
	if len(s.Points) > MaxPoints || (s.To-s.From)/s.Interval > MaxPoints {
		t.Errorf("%d points / %d intervals > %d", len(s.Points), (s.To-s.From)/s.Interval, MaxPoints)
	}
	want := rawSeries(t, sk.DB(), "sentiment", s.From, s.To, s.Interval)
	if len(want) != len(s.Points) {
		t.Fatalf("%d points, want %d", len(s.Points), len(want))
	}
	for _, p := range s.Points {
		w := want[p.T]
		if float64(p.N) != w[0] || math.Abs(p.Avg["sentiment"]-w[1]) > 1e-9 {
			t.Errorf("point %d: n=%d avg=%v, want %v", p.T, p.N, p.Avg["sentiment"], w)
		}
	}
	return s
}

func TestSeriesAndCountMatchTheTweets(t *testing.T) {
	ctx := context.Background()
	sk, st := fixture(t, 5000, 7*time.Second) // about 9.7 hours
	first, last, ok, err := st.Extent(ctx)
	if err != nil || !ok || !first.Equal(t0) || !last.Equal(t0.Add(4999*7*time.Second)) {
		t.Fatalf("extent = %v %v %v %v", first, last, ok, err)
	}
	// Whole range: minute-multiple intervals from the rollup.
	s := checkSeries(t, sk, st, first, last.Add(time.Millisecond), "dash_rollup_minute")
	if s.Interval != (2 * time.Minute).Milliseconds() {
		t.Errorf("interval = %d ms, want 2 min for 9.7 h", s.Interval)
	}
	// A short range with few tweets: seconds from the tweets.
	checkSeries(t, sk, st, t0.Add(time.Hour), t0.Add(time.Hour+5*time.Minute), "tweets")
	// A huge range is still bounded.
	checkSeries(t, sk, st, time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2199, 1, 1, 0, 0, 0, 0, time.UTC), "dash_rollup_hour")
	// Counts at unaligned edges are exact.
	for _, r := range [][2]time.Time{
		{t0.Add(13 * time.Second), t0.Add(3*time.Hour + 17*time.Second)},
		{t0.Add(10 * time.Second), t0.Add(50 * time.Second)},
		{t0, t0.Add(24 * time.Hour)},
	} {
		got, err := st.Count(ctx, r[0], r[1])
		if err != nil {
			t.Fatal(err)
		}
		want, _ := sk.Count(ctx, r[0], r[1])
		if got != want {
			t.Errorf("count %v..%v = %d, want %d", r[0], r[1], got, want)
		}
	}
}

// The rollup stays exact through merges, reruns, deletes and new models.
func TestRollupStaysExact(t *testing.T) {
	ctx := context.Background()
	sk, st := fixture(t, 2000, 3*time.Second)
	all := func() (time.Time, time.Time) { return t0, t0.Add(24 * time.Hour) }
	// A rerun of the same data: every row updated, nothing double counted.
	write(t, sk, 0, 2000, 3*time.Second, "offense", "sentiment")
	// Partial records (one model) for new tweets, then their completion.
	write(t, sk, 2000, 2500, 3*time.Second, "offense")
	write(t, sk, 2000, 2500, 3*time.Second, "sentiment")
	// A delete (not something the pipeline does, but the triggers cover it).
	if _, err := sk.DB().Exec("DELETE FROM tweets WHERE id IN ('t5', 't6', 't7')"); err != nil {
		t.Fatal(err)
	}
	from, to := all()
	checkSeries(t, sk, st, from, to, "dash_rollup_minute")
	if got, _ := st.Count(ctx, from, to); got != 2497 {
		t.Errorf("count = %d, want 2497", got)
	}
	// A new model appears mid-run: the next query rebuilds and charts it.
	write(t, sk, 2500, 2600, 3*time.Second, "offense", "sentiment", "toxicity")
	s, err := st.Series(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	seen := false
	for _, p := range s.Points {
		_, ok := p.Avg["toxicity"]
		seen = seen || ok
	}
	if !seen || len(st.Models()) != 3 {
		t.Errorf("new model not charted: models %v", st.Models())
	}
	// A second dashboard on the same file finds the rollup current.
	if ok, err := rollupCurrent(ctx, sk.DB(), st.Models()); err != nil || !ok {
		t.Errorf("rollup not current after writes: %v %v", ok, err)
	}
}

func TestSearch(t *testing.T) {
	ctx := context.Background()
	_, st := fixture(t, 1500, time.Second)
	res, err := st.Search(ctx, SearchQuery{Text: "SNOW", From: t0, To: t0.Add(time.Hour), Limit: 10}, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Tweets) != 10 || !res.Complete {
		t.Fatalf("got %d tweets, complete=%v", len(res.Tweets), res.Complete)
	}
	for i, tw := range res.Tweets {
		if !strings.Contains(tw.Text, "snow") || len(tw.Scores) != 2 {
			t.Errorf("hit %+v", tw)
		}
		if i > 0 && tw.Time > res.Tweets[i-1].Time {
			t.Error("not newest first")
		}
	}
	// LIKE wildcards in the query are literal.
	res, err = st.Search(ctx, SearchQuery{Text: "%", From: t0, To: t0.Add(time.Hour), Limit: 10}, time.Second)
	if err != nil || len(res.Tweets) != 0 {
		t.Errorf("%%: %d hits, %v", len(res.Tweets), err)
	}
	res, err = st.Search(ctx, SearchQuery{User: "user7", From: t0, To: t0.Add(time.Hour), Limit: 200}, time.Second)
	if err != nil || len(res.Tweets) != 30 || !res.Complete {
		t.Errorf("user7: %d hits (want 30), complete=%v, %v", len(res.Tweets), res.Complete, err)
	}
	for i, tw := range res.Tweets {
		if tw.User != "user7" {
			t.Errorf("user search hit %+v", tw)
		}
		if i > 0 && tw.Time > res.Tweets[i-1].Time {
			t.Error("user search: not newest first")
		}
	}
	// A user search (through the user index) also honours the time range.
	res, err = st.Search(ctx, SearchQuery{User: "user7", From: t0, To: t0.Add(500 * time.Second), Limit: 200}, time.Second)
	if err != nil || len(res.Tweets) != 10 || !res.Complete {
		t.Errorf("user7 in the first 500 s: %d hits (want 10), complete=%v, %v", len(res.Tweets), res.Complete, err)
	}
	for _, tw := range res.Tweets {
		if tw.Time >= t0.Add(500*time.Second).UnixMilli() {
			t.Errorf("hit outside the range: %+v", tw)
		}
	}
}

func newTestServer(t *testing.T) (*httptest.Server, *sqlite.Store) {
	t.Helper()
	sk, st := fixture(t, 1000, 2*time.Second)
	as, err := alertstore.Open(context.Background(), sk.DB())
	if err != nil {
		t.Fatal(err)
	}
	err = as.WriteAlerts(context.Background(), []event.Alert{{
		ID: "coordination/similar_texts/1/t1", Kind: event.AlertCoordination, Metric: "similar_texts",
		WindowStart: t0.Add(time.Minute), WindowEnd: t0.Add(90 * time.Second), Observed: 5, Expected: 5, Bound: 5,
		Count: 5, Accounts: []string{"a", "b", "c", "d", "e"}, Message: "5 accounts",
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(st, as, Options{Models: []model.View{{Name: "sentiment", Min: -1, Max: 1, Threshold: &model.ThresholdSpec{Value: -0.25, Direction: "below"}}}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs, sk
}

func getJSON(t *testing.T, u string, wantCode int, v any) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != wantCode {
		t.Fatalf("GET %s: status %d, want %d", u, resp.StatusCode, wantCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

func TestServerAPI(t *testing.T) {
	hs, _ := newTestServer(t)
	var ov Overview
	getJSON(t, hs.URL+"/api/overview", 200, &ov)
	if ov.Count != 1000 || len(ov.Series.Points) == 0 || ov.Alerts != 1 || len(ov.Models) != 2 {
		t.Fatalf("overview = %+v", ov)
	}
	if m := ov.Models[1]; m.Name != "sentiment" || m.Threshold == nil || *m.Threshold != -0.25 || m.Direction != "below" || m.Min != -1 {
		t.Errorf("models = %+v", ov.Models)
	}
	var sr SearchResult
	getJSON(t, hs.URL+"/api/search?q=rain&limit=5", 200, &sr)
	if len(sr.Tweets) != 5 {
		t.Errorf("search: %+v", sr)
	}
	var al struct{ Alerts []event.Alert }
	getJSON(t, hs.URL+"/api/alerts?kind=coordination", 200, &al)
	if len(al.Alerts) != 1 || al.Alerts[0].Accounts[4] != "e" {
		t.Errorf("alerts = %+v", al)
	}
	// The page and its assets are served from the binary.
	for _, p := range []string{"/", "/app.js", "/style.css"} {
		resp, err := http.Get(hs.URL + p)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("GET %s: %v %v", p, resp.Status, err)
		}
		resp.Body.Close()
	}
}

func TestServerRejectsBadParams(t *testing.T) {
	hs, sk := newTestServer(t)
	cases := map[string]string{
		"/api/overview?from=yesterday":                                    "from",
		"/api/overview?from=2009-04-07T00:00:00Z&to=2009-04-06T00:00:00Z": "to",
		"/api/overview?to=99999999999999999":                              "to",
		"/api/search?q=":                                                  "q",
		"/api/search?q=" + strings.Repeat("x", 201):                       "q",
		"/api/search?q=a&limit=0":                                         "limit",
		"/api/search?q=a&limit=10000":                                     "limit",
		"/api/search?q=%ff%fe":                                            "q",
		"/api/alerts?kind=x%27%20OR%201%3D1":                              "kind",
		"/api/search?user=" + strings.Repeat("u", 101):                    "user",
	}
	for path, param := range cases {
		var body struct{ Error string }
		getJSON(t, hs.URL+path, 400, &body)
		if !strings.HasPrefix(body.Error, param+":") {
			t.Errorf("%s: error %q does not name %s", path, body.Error, param)
		}
	}
	// SQL in a search is just text.
	var sr SearchResult
	getJSON(t, hs.URL+"/api/search?q="+url.QueryEscape("'; DROP TABLE tweets; --"), 200, &sr)
	if n, _ := sk.Count(context.Background(), time.Time{}, time.Time{}); n != 1000 {
		t.Errorf("tweets = %d after an injection attempt", n)
	}
}

func FuzzQueryParams(f *testing.F) {
	for _, s := range []string{"2009-04-06T22:00:00Z", "1239055200000", "", "-1", "9e99", "2009-13-01T00:00:00Z", "\x00"} {
		f.Add(s, s)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		q := queryParams{url.Values{"from": {a}, "to": {b}, "q": {a}, "limit": {b}}}
		if tm, ok, err := q.time("from"); err == nil && ok {
			if ms := tm.UnixMilli(); ms < minMillis || ms >= maxMillis {
				t.Fatalf("accepted %q as %v", a, tm)
			}
		}
		if s, err := q.text("q", maxSearchRunes); err == nil && strings.ContainsRune(s, 0) {
			t.Fatal("accepted NUL")
		}
		if n, err := q.limit(50); err == nil && (n < 1 || n > maxLimit) {
			t.Fatalf("accepted limit %d", n)
		}
	})
}
