package coord

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/alerts/coord/coordtest"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

// fuzzTweets turns bytes into tweets, five bytes each: account, kind, key,
// a signed time step in seconds (so time may go backward) and extras (a
// second link, a 1 KB id, a self-retweet, a missing time).
func fuzzTweets(data []byte) []event.Tweet {
	var out []event.Tweet
	at := t0
	for i := 0; i+5 <= len(data); i += 5 {
		b := data[i : i+5]
		at = at.Add(time.Duration(int8(b[3])) * time.Second)
		t := event.Tweet{ID: fmt.Sprint("m", i/5), UserID: fmt.Sprint("u", b[0]%8), User: fmt.Sprint("h", b[0]%8), CreatedAt: at}
		key := fmt.Sprint("k", b[2]%5)
		switch b[1] % 4 {
		case 0:
			t.RetweetOf = key
		case 1:
			t.ReplyTo = key
		case 2:
			t.Text = key
		case 3:
			t.URLs = []string{"https://x.org/" + key}
			t.Hashtags = []string{key}
			t.Mentions = []string{key}
		}
		switch b[4] % 16 {
		case 0:
			t.URLs = append(t.URLs, "https://x.org/k0", "x.org/k1/")
		case 1:
			t.UserID = strings.Repeat("u", 1024)
		case 2:
			t.RetweetOf, t.ReplyTo = t.ID, t.ID
		case 3:
			t.CreatedAt = time.Time{}
		case 4: // redelivered: the previous tweet again (an id reused with
			// other content is a different tweet to the engine, which keeps
			// no index of every id; the stores keep the first)
			if len(out) > 0 {
				t = out[len(out)-1]
			}
		}
		out = append(out, t)
	}
	return out
}

// FuzzObserve: no input panics, the references the state holds add up, and
// when no cap, backward time or duplicate was hit the networks are the
// toolkit's (bruteForce).
func FuzzObserve(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 5, 1, 0, 0, 1, 5, 2, 0, 0, 200, 5}, uint8(0))
	f.Add([]byte{0, 3, 1, 10, 0, 1, 3, 1, 10, 0, 1, 3, 1, 10, 1, 2, 3, 2, 128, 2}, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, caps uint8) {
		var windows []Window
		for _, k := range []signal.Kind{signal.CoRetweet, signal.CoTweet, signal.CoLink, signal.CoReply, signal.CoHashtag, signal.CoMention} {
			windows = append(windows, Window{k, 30 * time.Second}, Window{k, 5 * time.Minute})
		}
		cfg := Config{Windows: windows, Horizon: 10 * time.Minute}
		if caps%2 == 1 {
			cfg.MaxActions, cfg.MaxPerKey, cfg.MaxEdges = int(caps/2)%7+1, int(caps/16)%3+1, 3
		}
		e, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tweets := fuzzTweets(data)
		for i := range tweets {
			e.Observe(&tweets[i])
		}
		refs := 0
		for _, w := range e.wins {
			refs += len(w.queue) - w.qhead + 2*len(w.edges)
			n := 0
			for _, ks := range w.keys {
				n += ks.len()
			}
			if n != len(w.queue)-w.qhead {
				t.Fatalf("%s: keys hold %d actions, the queue %d", w, n, len(w.queue)-w.qhead)
			}
		}
		sum := 0
		for _, r := range e.accts.refs {
			if r < 0 {
				t.Fatalf("negative reference count")
			}
			sum += int(r)
		}
		if sum != refs {
			t.Fatalf("references %d, state holds %d", sum, refs)
		}
		exact := true
		for _, ws := range e.Stats().Windows {
			if ws.Backward+ws.TooLate+ws.KeyFull+ws.EvictedEarly+ws.EdgesFull+ws.Expired+ws.Duplicate != 0 {
				exact = false
			}
		}
		for _, w := range windows {
			for _, ed := range e.Edges(w) {
				if ed.Weight() < 1 || ed.A >= ed.B {
					t.Fatalf("%s: edge %+v", w, ed)
				}
			}
		}
		if !exact {
			return
		}
		var kept []event.Tweet
		for _, tw := range tweets {
			if !tw.CreatedAt.IsZero() {
				kept = append(kept, tw)
			}
		}
		for _, w := range windows {
			coordtest.Diff(t, w.String(), directed(e.Edges(w)), hashed(e, bruteForce(kept, w)))
		}
	})
}

// hashed maps the account ids of a brute-force network to what the engine
// keeps of them (long ids become their hash).
func hashed(e *Engine, m map[[2]string]int) map[[2]string]int {
	out := map[[2]string]int{}
	for k, v := range m {
		out[[2]string{e.boundQuiet(k[0]), e.boundQuiet(k[1])}] = v
	}
	return out
}
