package coord

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

// benchPool is a pool of tweets shaped like a collection: a quarter
// retweets (Zipf over 100,000 originals, so a few go viral), 15% carrying
// links (Zipf over 50,000 URLs), 5% replies (Zipf over 20,000 targets), the
// rest own texts, mostly distinct; a million accounts.
func benchPool(n int) []event.Tweet {
	r := rand.New(rand.NewPCG(1, 2))
	rts := rand.NewZipf(r, 1.1, 10, 100_000-1)
	urls := rand.NewZipf(r, 1.1, 10, 50_000-1)
	reps := rand.NewZipf(r, 1.1, 10, 20_000-1)
	out := make([]event.Tweet, n)
	for i := range out {
		u := r.IntN(1_000_000)
		t := event.Tweet{UserID: strconv.Itoa(u), User: "user" + strconv.Itoa(u)}
		switch p := r.Float64(); {
		case p < 0.25:
			t.RetweetOf = "o" + strconv.FormatUint(rts.Uint64(), 10)
			t.Text = "RT original text"
		case p < 0.40:
			t.Text = "read this " + strconv.Itoa(r.IntN(1_000_000))
			t.URLs = []string{"https://news.example/story/" + strconv.FormatUint(urls.Uint64(), 10) + "?utm_source=tw"}
		case p < 0.45:
			t.ReplyTo = "o" + strconv.FormatUint(reps.Uint64(), 10)
			t.Text = "@someone I agree " + strconv.Itoa(r.IntN(1_000_000))
		default:
			t.Text = fmt.Sprintf("my own thoughts number %d today", r.IntN(1_000_000))
		}
		out[i] = t
	}
	return out
}

// benchRun feeds b.N tweets at rate tweets per second of event time.
func benchRun(b *testing.B, cfg Config, rate int) *Engine {
	pool := benchPool(1 << 18)
	e, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	step := time.Second / time.Duration(rate)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t := pool[i&(len(pool)-1)]
		t.ID = strconv.Itoa(i)
		t.CreatedAt = t0.Add(time.Duration(i) * step)
		e.Observe(&t)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
	var pairs uint64
	for _, w := range e.Stats().Windows {
		pairs += w.Pairs
	}
	b.ReportMetric(float64(pairs)/float64(b.N), "pairs/tweet")
	return e
}

// BenchmarkObserve: the default windows (ten: four signals, 1 min to 1 h)
// at 50,000 tweets/s of event time.
func BenchmarkObserve(b *testing.B) {
	benchRun(b, DefaultConfig(), 50_000)
}

// BenchmarkObserveMinute: the one-minute windows only.
func BenchmarkObserveMinute(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Windows = []Window{{signal.CoRetweet, time.Minute}, {signal.CoTweet, time.Minute}, {signal.CoLink, time.Minute}, {signal.CoReply, 2 * time.Minute}}
	benchRun(b, cfg, 50_000)
}

// BenchmarkState1h reports the state of 1 h windows (co-retweet, co-tweet,
// co-link, co-reply) at 50,000 tweets/s: held actions and edges per window
// and the live heap after a GC. Run with -benchtime=Nx for N tweets; at
// 50,000/s the 1 h windows would hold two hours, 360M tweets, so the
// MaxActions cap is what bounds them (run long enough to reach it).
func BenchmarkState1h(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Windows = []Window{{signal.CoRetweet, time.Hour}, {signal.CoTweet, time.Hour}, {signal.CoLink, time.Hour}, {signal.CoReply, time.Hour}}
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	e := benchRun(b, cfg, 50_000)
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	s := e.Stats()
	acts, edges, evicted := 0, 0, uint64(0)
	for _, w := range s.Windows {
		acts += w.PeakActions
		edges += w.PeakEdges
		evicted += w.EvictedEarly + w.KeyFull + w.EdgesFull
	}
	b.ReportMetric(float64(acts), "peak-actions")
	b.ReportMetric(float64(edges), "peak-edges")
	b.ReportMetric(float64(evicted), "capped")
	b.ReportMetric(float64(after.HeapAlloc-min(before.HeapAlloc, after.HeapAlloc))/(1<<20), "heap-MiB")
	runtime.KeepAlive(e)
}
