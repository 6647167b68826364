package dashboard

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/cputime"
	"github.com/tweetflow/tweetflow/producer/source"
)

// The benchmarks run over a store of TWEETFLOW_BENCH_ROWS tweets (default
// 1,600,000, the size of sentiment140), built once at
// $TWEETFLOW_BENCH_DB (default $TMPDIR/tweetflow-dashboard-bench.db) through
// the real SQLite sink: texts and users of data/sample.csv, one tweet every
// 4 s (1.6M tweets span 74 days, as the real 1.6M span about 80),
// sentiment and offense values, and the #10 fields (benchFields).
func benchStore(b *testing.B) (*sqlite.Store, *Store) {
	b.Helper()
	ctx := context.Background()
	rows := envInt(b, "TWEETFLOW_BENCH_ROWS", 1_600_000)
	path := os.Getenv("TWEETFLOW_BENCH_DB")
	if path == "" {
		// "fields": files built before benchFields lack them.
		path = filepath.Join(os.TempDir(), fmt.Sprintf("tweetflow-dashboard-bench-fields-%d.db", rows))
	}
	_, statErr := os.Stat(path)
	sk, err := sqlite.Open(ctx, path, []string{"offense", "sentiment"})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sk.Close(ctx) })
	if statErr != nil {
		start := time.Now()
		fillBench(b, sk, rows)
		b.Logf("built %d tweets in %s", rows, time.Since(start))
	}
	start := time.Now()
	st, err := NewStore(ctx, sk.DB())
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("rollup ready in %s", time.Since(start))
	start = time.Now()
	if err := st.CatchUp(ctx); err != nil {
		b.Fatal(err)
	}
	b.Logf("text index caught up in %s", time.Since(start))
	return sk, st
}

// envInt is the integer in the environment variable name, or def when it
// is unset.
func envInt(b *testing.B, name string, def int) int {
	b.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return n
}

func fillBench(b *testing.B, sk *sqlite.Store, rows int) {
	tweets, err := source.ReadTweets(context.Background(), []string{"../data/sample.csv"}, source.Options{Format: source.Sentiment140})
	if err != nil {
		b.Fatal(err)
	}
	var texts, users []string
	for _, tw := range tweets {
		texts, users = append(texts, tw.Text), append(users, tw.User)
	}
	t0 := time.Date(2009, 4, 6, 22, 19, 45, 0, time.UTC)
	recs := make([]sink.Record, 0, 2000)
	for i := range rows {
		k := i % len(texts)
		r := sink.Record{}
		r.Tweet.ID = strconv.Itoa(1_000_000_000 + i)
		r.Tweet.User = users[(i*7919)%len(users)]
		r.Tweet.Text = texts[k]
		r.Tweet.CreatedAt = t0.Add(time.Duration(i) * 4 * time.Second)
		benchFields(&r.Tweet, i, (i*7919)%len(users))
		s := float64(k%200)/100 - 1
		r.Results = []sink.Result{
			{Model: "sentiment", Version: "1", Value: s, Label: "neutral"},
			{Model: "offense", Version: "1", Value: float64(k%97) / 97, Label: "not"},
		}
		recs = append(recs, r)
		if len(recs) == cap(recs) || i == rows-1 {
			if err := sk.WriteBatch(context.Background(), recs); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
}

// benchFields gives tweet i (by user number u) the #10 fields with known
// frequencies over 1.6M tweets: an account id per handle; lang en, es
// (160,000) or ja (32,000); hashtags covid (every 5th: 320,000), trend
// (16,000) and tag0..tag4999 (80 each); links https://news.example.org/top
// (40,000) and https://example.com/a/0..1999 (100 each); a third retweets,
// a 17th quotes and a 13th replies to an earlier tweet.
func benchFields(tw *event.Tweet, i, u int) {
	tw.UserID = strconv.Itoa(100_000 + u)
	tw.Lang = "en"
	switch {
	case i%10 == 0:
		tw.Lang = "es"
	case i%50 == 1:
		tw.Lang = "ja"
	}
	if i%5 == 0 {
		tw.Hashtags = append(tw.Hashtags, "covid")
	}
	if i%100 == 3 {
		tw.Hashtags = append(tw.Hashtags, "trend")
	}
	if i%4 == 0 {
		tw.Hashtags = append(tw.Hashtags, fmt.Sprintf("tag%d", (i/4)%5000))
	}
	if i%40 == 1 {
		tw.URLs = append(tw.URLs, "https://news.example.org/top")
	}
	if i%8 == 0 {
		tw.URLs = append(tw.URLs, fmt.Sprintf("https://example.com/a/%d", (i/8)%2000))
	}
	id := func(j int) string { return strconv.Itoa(1_000_000_000 + j) }
	if i%3 == 0 && i > 0 {
		tw.RetweetOf = id(i - 1 - i%300)
	}
	if i%17 == 0 && i > 0 {
		tw.QuoteOf = id(i / 2)
	}
	if i%13 == 0 && i > 0 {
		tw.ReplyTo = id(i - 1)
	}
}

func BenchmarkDashboard(b *testing.B) {
	ctx := context.Background()
	_, st := benchStore(b)
	first, last, _, err := st.Extent(ctx)
	if err != nil {
		b.Fatal(err)
	}
	end := last.Add(time.Millisecond)
	mid := first.Add(last.Sub(first) / 2)
	overview := func(from, to time.Time) func(b *testing.B) {
		return func(b *testing.B) {
			defer reportCPU(b)()
			for b.Loop() {
				if _, err := st.Series(ctx, from, to); err != nil {
					b.Fatal(err)
				}
				if _, err := st.Count(ctx, from, to); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("overview/all", overview(first, end))
	b.Run("overview/7d", overview(mid, mid.Add(7*24*time.Hour)))
	b.Run("overview/1d", overview(mid, mid.Add(24*time.Hour)))
	b.Run("overview/1h-raw", overview(mid, mid.Add(time.Hour)))
	b.Run("overview/unaligned", overview(first.Add(1234567*time.Millisecond), end.Add(-7654321*time.Millisecond)))
	b.Run("extent", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, _, _, err := st.Extent(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
	search := func(q SearchQuery) func(b *testing.B) {
		q.From, q.To, q.Limit = first, end, 50
		return func(b *testing.B) {
			defer reportCPU(b)()
			var res SearchResult
			for b.Loop() {
				var err error
				if res, err = st.Search(ctx, q, 80*time.Millisecond); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(res.Tweets)), "hits")
			b.ReportMetric(b2f(res.Complete), "complete")
			b.ReportMetric(b2f(res.Indexed), "indexed")
		}
	}
	// Hits in the whole 1.6M: love 77,600; birthday 11,920; vegas 1,600;
	// hamilton 400; kindle 160; zzqxj none.
	b.Run("search/common-word", search(SearchQuery{Text: "love"}))
	b.Run("search/word-11920", search(SearchQuery{Text: "birthday"}))
	b.Run("search/word-1600", search(SearchQuery{Text: "vegas"}))
	b.Run("search/word-400", search(SearchQuery{Text: "hamilton"}))
	b.Run("search/word-160", search(SearchQuery{Text: "Kindle"}))
	b.Run("search/rare-word", search(SearchQuery{Text: "zzqxj"}))
	b.Run("search/phrase", search(SearchQuery{Text: "at the rink"}))
	b.Run("search/user", search(SearchQuery{User: "scotthamilton"}))
	// The filters (benchFields gives the frequencies).
	b.Run("filter/hashtag-80", search(SearchQuery{Hashtag: "tag42"}))
	b.Run("filter/hashtag-16000", search(SearchQuery{Hashtag: "trend"}))
	b.Run("filter/hashtag-320000", search(SearchQuery{Hashtag: "covid"}))
	b.Run("filter/hashtag-none", search(SearchQuery{Hashtag: "nosuchtag"}))
	b.Run("filter/url-100", search(SearchQuery{URL: "https://example.com/a/42"}))
	b.Run("filter/url-40000", search(SearchQuery{URL: "https://news.example.org/top"}))
	b.Run("filter/lang-32000", search(SearchQuery{Lang: "ja"}))
	b.Run("filter/lang-160000", search(SearchQuery{Lang: "es"}))
	b.Run("filter/lang-none", search(SearchQuery{Lang: "xx"}))
	b.Run("filter/account-handle", search(SearchQuery{Account: "scotthamilton"}))
	b.Run("filter/account-id", search(SearchQuery{Account: "100042"}))
	b.Run("filter/hashtag-and-lang", search(SearchQuery{Hashtag: "covid", Lang: "es"}))
	b.Run("filter/common-hashtag-and-lang-none", search(SearchQuery{Hashtag: "covid", Lang: "ja"}))
	b.Run("filter/text-and-hashtag", search(SearchQuery{Text: "love", Hashtag: "trend"}))
}

// BenchmarkRollupRebuild measures the one-off build of the rollup on an
// existing store (the first 'tweetflow serve' on a database).
func BenchmarkRollupRebuild(b *testing.B) {
	ctx := context.Background()
	sk, _ := benchStore(b)
	for b.Loop() {
		if _, err := sk.DB().Exec("DROP TABLE " + levels()[0].table); err != nil {
			b.Fatal(err)
		}
		if _, err := NewStore(ctx, sk.DB()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSinkWrite is what the rollup triggers cost the pipeline: the
// SQLite sink's writes (batches of 512, two models) without and with them.
func BenchmarkSinkWrite(b *testing.B) {
	for _, withRollup := range []bool{false, true} {
		name := "plain"
		if withRollup {
			name = "with-rollup"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			sk, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "w.db"), []string{"offense", "sentiment"})
			if err != nil {
				b.Fatal(err)
			}
			defer sk.Close(ctx)
			if withRollup {
				if _, err := NewStore(ctx, sk.DB()); err != nil {
					b.Fatal(err)
				}
			}
			t0 := time.Date(2009, 4, 6, 22, 19, 45, 0, time.UTC)
			recs := make([]sink.Record, 512)
			n := 0
			cpu0 := cputime.Process()
			for b.Loop() {
				for i := range recs {
					recs[i] = sink.Record{Results: []sink.Result{
						{Model: "sentiment", Version: "1", Value: 0.3, Label: "positive"},
						{Model: "offense", Version: "1", Value: 0.1, Label: "not"},
					}}
					recs[i].Tweet.ID = strconv.Itoa(n)
					recs[i].Tweet.User = "someone"
					recs[i].Tweet.Text = "a tweet of about the usual length, with a few words in it"
					recs[i].Tweet.CreatedAt = t0.Add(time.Duration(n) * 1500 * time.Millisecond)
					n++
				}
				if err := sk.WriteBatch(ctx, recs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/tweet")
			b.ReportMetric(float64((cputime.Process()-cpu0).Nanoseconds())/float64(n), "cpu-ns/tweet")
		})
	}
}

// reportCPU reports the process's CPU milliseconds per operation: the
// machine is shared, so wall time overstates what a query costs.
func reportCPU(b *testing.B) func() {
	cpu0 := cputime.Process()
	return func() {
		b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
}

func b2f(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

// BenchmarkTextIndex measures the text indexer's cost per tweet: the
// index dropped and rebuilt over a store of sample texts (20,000 by
// default, TWEETFLOW_BENCH_INDEX_ROWS to change).
func BenchmarkTextIndex(b *testing.B) {
	ctx := context.Background()
	rows := envInt(b, "TWEETFLOW_BENCH_INDEX_ROWS", 20_000)
	sk, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "i.db"), []string{"offense", "sentiment"})
	if err != nil {
		b.Fatal(err)
	}
	defer sk.Close(ctx)
	fillBench(b, sk, rows)
	st, err := NewStore(ctx, sk.DB())
	if err != nil {
		b.Fatal(err)
	}
	defer reportCPU(b)()
	for b.Loop() {
		for _, q := range ftsSchema() {
			if _, err := sk.DB().ExecContext(ctx, q); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.CatchUp(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/tweet")
}
