package coord

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/alerts/coord/coordtest"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

var t0 = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// bruteForce is the toolkit's query written out: for every ordered pair of
// distinct accounts, the number of distinct tweets of the first with a tweet
// of the second on the same key at most span apart (a tweet id counted once,
// as the toolkit's "insert or ignore" keeps the first).
func bruteForce(tweets []event.Tweet, w Window) map[[2]string]int {
	type act struct {
		acct, msg, key string
		at             time.Time
	}
	var acts []act
	seen := map[string]bool{}
	for i := range tweets {
		t := &tweets[i]
		if seen[t.ID] {
			continue
		}
		seen[t.ID] = true
		keys, _ := signal.AppendKeys(nil, w.Signal, t)
		for _, k := range keys {
			acts = append(acts, act{signal.Account(t), t.ID, k, t.CreatedAt})
		}
	}
	type dir struct{ a, b, msg string }
	counted := map[dir]bool{}
	out := map[[2]string]int{}
	for _, x := range acts {
		for _, y := range acts {
			if x.key != y.key || x.msg == y.msg || x.acct == y.acct {
				continue
			}
			d := x.at.Sub(y.at)
			if d < 0 {
				d = -d
			}
			if d > w.Span || counted[dir{x.acct, y.acct, x.msg}] {
				continue
			}
			counted[dir{x.acct, y.acct, x.msg}] = true
			out[[2]string{x.acct, y.acct}]++
		}
	}
	return out
}

func directed(edges []Edge) map[[2]string]int {
	out := map[[2]string]int{}
	for _, e := range edges {
		if e.AB > 0 {
			out[[2]string{e.A, e.B}] = e.AB
		}
		if e.BA > 0 {
			out[[2]string{e.B, e.A}] = e.BA
		}
	}
	return out
}

// randomStream has few accounts and keys, so most tweets co-act, accounts
// repeat themselves, and ties in time occur.
func randomStream(r *rand.Rand, n int) []event.Tweet {
	var out []event.Tweet
	at := t0
	for i := range n {
		at = at.Add(time.Duration(r.IntN(20)) * time.Second)
		u := r.IntN(12)
		t := event.Tweet{ID: fmt.Sprint("m", i), UserID: fmt.Sprint("u", u), User: fmt.Sprint("h", u), CreatedAt: at}
		switch r.IntN(4) {
		case 0:
			t.RetweetOf = fmt.Sprint("o", r.IntN(5))
		case 1:
			t.ReplyTo = fmt.Sprint("o", r.IntN(5))
			t.Text = fmt.Sprint("text ", r.IntN(3))
		default:
			t.Text = fmt.Sprintf("Text  %d @x%d", r.IntN(4), r.IntN(3))
			for range r.IntN(3) {
				t.URLs = append(t.URLs, fmt.Sprintf("https://example.com/%d", r.IntN(6)))
			}
			t.Hashtags = []string{fmt.Sprint("tag", r.IntN(3))}
		}
		if r.IntN(30) == 0 && i > 0 { // the same tweet delivered twice
			t = out[len(out)-1]
		}
		out = append(out, t)
	}
	return out
}

func TestEngineMatchesBruteForce(t *testing.T) {
	var windows []Window
	for _, k := range []signal.Kind{signal.CoRetweet, signal.CoTweet, signal.CoLink, signal.CoReply, signal.CoHashtag, signal.CoMention} {
		for _, s := range []time.Duration{0, 30 * time.Second, time.Minute, 10 * time.Minute} {
			windows = append(windows, Window{k, s + time.Nanosecond})
		}
	}
	for seed := range uint64(20) {
		tweets := randomStream(rand.New(rand.NewPCG(seed, 1)), 400)
		e, err := New(Config{Windows: windows, Horizon: 1000 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		for i := range tweets {
			e.Observe(&tweets[i])
		}
		for _, w := range windows {
			coordtest.Diff(t, fmt.Sprintf("seed %d %s", seed, w), directed(e.Edges(w)), bruteForce(tweets, w))
		}
		for _, ws := range e.Stats().Windows {
			if ws.Backward+ws.TooLate+ws.KeyFull+ws.EvictedEarly+ws.EdgesFull+ws.Expired != 0 {
				t.Fatalf("seed %d: caps hit on an uncapped run: %+v", seed, ws)
			}
		}
	}
}

func TestEdgeWeightsAndBoundary(t *testing.T) {
	w := Window{signal.CoRetweet, time.Minute}
	e, err := New(Config{Windows: []Window{w}})
	if err != nil {
		t.Fatal(err)
	}
	rt := func(id, user string, after time.Duration, of string) {
		e.Observe(&event.Tweet{ID: id, UserID: user, User: "@" + user, RetweetOf: of, CreatedAt: t0.Add(after)})
	}
	rt("1", "a", 0, "x")
	rt("2", "a", 10*time.Second, "x") // a twice: a -> b counts both
	rt("3", "b", 60*time.Second, "x") // exactly the span after 1: inclusive
	rt("4", "c", 131*time.Second, "x")
	rt("5", "b", 130*time.Second, "y") // another key
	got := e.Edges(w)
	want := []Edge{{A: "a", B: "b", HandleA: "@a", HandleB: "@b", TweetsA: 2, TweetsB: 2, AB: 2, BA: 1, First: t0.Add(60 * time.Second), Last: t0.Add(60 * time.Second)}}
	if !slices.Equal(got, want) {
		t.Fatalf("edges\n got %+v\nwant %+v", got, want)
	}
	if got[0].Weight() != 2 {
		t.Errorf("weight %d, want 2", got[0].Weight())
	}
	if e.Edges(Window{signal.CoLink, time.Minute}) != nil {
		t.Error("an unconfigured window has edges")
	}
}

func TestBackwardAndLateCounted(t *testing.T) {
	w := Window{signal.CoRetweet, time.Minute}
	e, _ := New(Config{Windows: []Window{w}})
	e.Observe(&event.Tweet{ID: "1", UserID: "a", RetweetOf: "x", CreatedAt: t0.Add(time.Hour)})
	e.Observe(&event.Tweet{ID: "2", UserID: "b", RetweetOf: "x", CreatedAt: t0.Add(time.Hour - 30*time.Second)})
	e.Observe(&event.Tweet{ID: "3", UserID: "c", RetweetOf: "x", CreatedAt: t0})
	e.Observe(&event.Tweet{ID: "4", UserID: "", User: "", RetweetOf: "x", CreatedAt: t0})
	e.Observe(&event.Tweet{ID: "5", UserID: "d", RetweetOf: "x"})
	e.Observe(&event.Tweet{ID: "6", UserID: "d", RetweetOf: "6", CreatedAt: t0.Add(time.Hour)})
	s := e.Stats()
	ws := s.Windows[0]
	if ws.Backward != 1 || ws.TooLate != 1 || s.NoAccount != 1 || s.NoTime != 1 || s.Skipped[signal.SkipSelfRetweet] != 1 {
		t.Fatalf("stats %+v", s)
	}
	if got := e.Edges(w); len(got) != 1 || got[0].A != "a" || got[0].B != "b" {
		t.Fatalf("edges %+v, want a-b (the backward tweet taken at the latest time)", got)
	}
}

func TestCapsCounted(t *testing.T) {
	w := Window{signal.CoRetweet, time.Hour}
	e, _ := New(Config{Windows: []Window{w}, MaxPerKey: 3, MaxActions: 5, MaxEdges: 2})
	for i := range 10 {
		e.Observe(&event.Tweet{ID: fmt.Sprint(i), UserID: fmt.Sprint("u", i), RetweetOf: fmt.Sprint("x", i/4), CreatedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	ws := e.Stats().Windows[0]
	// keys x0: 0,1,2 held, 3 dropped; x1: 4,5,6 held, 7 dropped; x2: 8,9.
	// Every edge has weight 1: each new pair past the cap evicts the
	// oldest, none is dropped.
	if ws.KeyFull != 2 || ws.EvictedEarly != 3 || ws.Actions != 5 || ws.EvictedWeak == 0 || ws.EdgesFull != 0 ||
		ws.Edges != 2 || ws.PeakEdges != 2 {
		t.Fatalf("stats %+v", ws)
	}
}

// At the edge cap a new pair evicts an edge of weight 1, never a heavier
// one; when all are heavier it is dropped (counted).
func TestEdgeCapEvictsWeakEdgesFirst(t *testing.T) {
	w := Window{signal.CoRetweet, time.Minute}
	e, _ := New(Config{Windows: []Window{w}, MaxEdges: 3})
	id := 0
	co := func(key string, users ...string) {
		for _, u := range users {
			id++
			e.Observe(&event.Tweet{ID: fmt.Sprint(id), UserID: u, RetweetOf: key, CreatedAt: t0.Add(time.Duration(id) * time.Second)})
		}
	}
	co("k1", "a", "b") // a-b weight 1
	co("k2", "a", "b") // a-b weight 2: heavy
	co("k3", "c", "d") // c-d weight 1
	co("k4", "e", "f") // e-f weight 1: 3 edges, the cap
	co("k5", "g", "h") // evicts c-d, the oldest weak edge
	ws := e.Stats().Windows[0]
	pairs := func() []string {
		var out []string
		for _, ed := range e.Edges(w) {
			out = append(out, ed.A+ed.B)
		}
		return out
	}
	if got := pairs(); !slices.Equal(got, []string{"ab", "ef", "gh"}) || ws.EvictedWeak != 1 || ws.EdgesFull != 0 {
		t.Fatalf("edges %v, stats %+v: want ab (heavy) kept, cd evicted", got, ws)
	}
	co("k6", "e", "f")
	co("k7", "g", "h") // every edge heavy now
	co("k8", "i", "j") // dropped
	ws = e.Stats().Windows[0]
	if got := pairs(); !slices.Equal(got, []string{"ab", "ef", "gh"}) || ws.EdgesFull != 1 {
		t.Fatalf("edges %v, stats %+v: want the new pair dropped", got, ws)
	}
}

// An edge reaching Repeat is reported once, with the accounts and the
// items they shared; a cascade of strangers (weight 1 each) is not.
func TestRepeatCrossing(t *testing.T) {
	w := Window{signal.CoRetweet, time.Minute}
	e, _ := New(Config{Windows: []Window{w}, Repeat: 3})
	id := 0
	at := t0
	for r := range 4 {
		for _, u := range []string{"ring1", "ring2"} {
			id++
			at = at.Add(5 * time.Second)
			e.Observe(&event.Tweet{ID: fmt.Sprint(id), UserID: u, User: "@" + u, RetweetOf: fmt.Sprint("target", r), CreatedAt: at})
		}
		for k := range 20 { // strangers retweet the same tweet
			id++
			e.Observe(&event.Tweet{ID: fmt.Sprint(id), UserID: fmt.Sprint("s", r, "-", k), RetweetOf: fmt.Sprint("target", r), CreatedAt: at})
		}
		at = at.Add(10 * time.Minute)
	}
	got := e.Crossed(nil)
	if len(got) != 1 {
		t.Fatalf("crossings %+v, want ring1-ring2 once", got)
	}
	c := got[0]
	if c.A != "ring1" || c.B != "ring2" || c.HandleA != "@ring1" || c.Weight != 3 || c.Window != w ||
		!slices.Equal(c.Items, []string{"target0", "target1", "target2"}) || !c.At.After(c.First) {
		t.Errorf("crossing %+v", c)
	}
	if more := e.Crossed(nil); len(more) != 0 {
		t.Errorf("crossings reported twice: %+v", more)
	}
}

// A pair reaches Repeat on distinct keys, not on tweets: one account
// posting the same link twice makes the toolkit's weight 3 from two shared
// links, which is not a crossing until a third link is shared.
func TestRepeatCountsDistinctKeys(t *testing.T) {
	w := Window{signal.CoLink, 10 * time.Minute}
	e, _ := New(Config{Windows: []Window{w}, Repeat: 3})
	at, id := t0, 0
	post := func(u, url string) {
		id++
		at = at.Add(10 * time.Second)
		e.Observe(&event.Tweet{ID: fmt.Sprint(id), UserID: u, URLs: []string{url}, CreatedAt: at})
	}
	post("a", "https://x.org/1")
	post("a", "https://x.org/1") // the same article again
	post("b", "https://x.org/1")
	post("a", "https://x.org/2")
	post("b", "https://x.org/2")
	edges := e.Edges(w)
	if len(edges) != 1 || edges[0].Weight() != 3 {
		t.Fatalf("edges %+v, want a-b of the toolkit's weight 3", edges)
	}
	if got := e.Crossed(nil); len(got) != 0 {
		t.Fatalf("crossings %+v from 2 distinct links, want none", got)
	}
	post("a", "https://x.org/3")
	post("b", "https://x.org/3")
	got := e.Crossed(nil)
	if len(got) != 1 || got[0].Weight != 4 || len(got[0].Items) != 3 {
		t.Fatalf("crossings %+v, want a-b once with weight 4 and 3 links", got)
	}
}

func TestStateExpires(t *testing.T) {
	w := Window{signal.CoLink, time.Minute}
	e, _ := New(Config{Windows: []Window{w}, Horizon: time.Hour})
	for i := range 100 {
		e.Observe(&event.Tweet{ID: fmt.Sprint(i), UserID: fmt.Sprint("u", i%7), URLs: []string{fmt.Sprint("https://x.org/", i%3)},
			CreatedAt: t0.Add(time.Duration(i) * time.Second)})
	}
	if len(e.Edges(w)) == 0 {
		t.Fatal("no edges")
	}
	// One tweet two horizons later: every earlier action and edge is gone.
	e.Observe(&event.Tweet{ID: "late", UserID: "z", URLs: []string{"https://y.org"}, CreatedAt: t0.Add(3 * time.Hour)})
	e.Observe(&event.Tweet{ID: "late2", UserID: "z", URLs: []string{"https://y.org"}, CreatedAt: t0.Add(3*time.Hour + 10*time.Minute)})
	s := e.Stats()
	if ws := s.Windows[0]; ws.Actions != 1 || ws.Keys != 1 || ws.Edges != 0 || ws.Expired == 0 || s.Accounts != 1 {
		t.Fatalf("state not released: %+v accounts %d", ws, s.Accounts)
	}
}

func TestLongKeysHashed(t *testing.T) {
	w := Window{signal.CoLink, time.Minute}
	e, _ := New(Config{Windows: []Window{w}})
	long := "https://example.com/" + string(make([]byte, 10<<10))
	id := string(make([]byte, 10<<10))
	e.Observe(&event.Tweet{ID: "1", UserID: id + "a", URLs: []string{long}, CreatedAt: t0})
	e.Observe(&event.Tweet{ID: "2", UserID: id + "b", URLs: []string{long}, CreatedAt: t0})
	got := e.Edges(w)
	if len(got) != 1 || len(got[0].A) > 100 || len(got[0].B) > 100 || got[0].A == got[0].B {
		t.Fatalf("edges %+v", got)
	}
	if e.Stats().LongKey == 0 {
		t.Error("long keys not counted")
	}
}

func TestConfigErrors(t *testing.T) {
	for _, c := range []Config{
		{Windows: []Window{{signal.CoSimilar, time.Minute}}},
		{Windows: []Window{{"co-nothing", time.Minute}}},
		{Windows: []Window{{signal.CoLink, 0}}},
		{Windows: []Window{{signal.CoLink, time.Minute}, {signal.CoLink, time.Minute}}},
		{MaxPerKey: -1},
		{MaxKeyBytes: 10},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("New(%+v) accepted", c)
		}
	}
	if _, err := New(Config{}); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestPopularKeyStaysDropped(t *testing.T) {
	w := Window{signal.CoRetweet, time.Minute}
	e, _ := New(Config{Windows: []Window{w}, MaxPerKey: 3})
	rt := func(i int, at time.Duration) {
		e.Observe(&event.Tweet{ID: fmt.Sprint(i), UserID: fmt.Sprint("u", i), RetweetOf: "viral", CreatedAt: t0.Add(at)})
	}
	rt(0, 0)
	rt(1, 30*time.Second)
	rt(2, 30*time.Second)
	rt(3, 31*time.Second) // reaches the cap: the key is popular
	// u0 leaves at two spans: two held, under the cap, but the key stays
	// popular while it holds actions.
	rt(4, 121*time.Second)
	if ws := e.Stats().Windows[0]; ws.KeyFull != 2 || ws.Actions != 2 {
		t.Fatalf("popular key with held actions: %+v", ws)
	}
	// u1 and u2 leave too: the key is gone and starts afresh.
	rt(5, 151*time.Second)
	rt(6, 152*time.Second)
	if ws := e.Stats().Windows[0]; ws.KeyFull != 2 || ws.Actions != 2 {
		t.Fatalf("after expiry the key should start afresh: %+v", ws)
	}
	var pairs [][2]string
	for _, ed := range e.Edges(w) {
		pairs = append(pairs, [2]string{ed.A, ed.B})
	}
	want := [][2]string{{"u0", "u1"}, {"u0", "u2"}, {"u1", "u2"}, {"u5", "u6"}}
	if !slices.Equal(pairs, want) {
		t.Fatalf("edges %v, want %v", pairs, want)
	}
}
