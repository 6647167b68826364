// Package cosim builds the co-similarity network of a stored collection
// with the QUT coordination-network-toolkit's definition
// (compute_networks.compute_co_similar_tweet): two tweets, neither a
// retweet, are similar when the Jaccard index of their word sets
// (AppendTokens) is at least the threshold, and the weight from account A
// to account B counts A's tweets that have a similar tweet of B at most the
// window apart, before or after.
//
// The toolkit compares every pair of tweets within the window in SQL, with
// the similarity in Python: on 200,000 tweets and a 60 s window that is
// about 90 s here. This compares only the pairs that can reach the
// threshold, as similarity joins do (Bayardo et al., "Scaling up all pairs
// similarity search", 2007): the words of each tweet are ordered rarest
// first over the whole collection, and two sets of sizes n and m with
// Jaccard >= t must share one of the first n-ceil(t*n)+1 words of each
// (the prefix filter) and have t*n <= m <= n/t (the size filter). Each
// tweet's prefix words are indexed with its time; a tweet is compared with
// the tweets of the window found under its own prefix words, and the
// candidates are verified with the exact Jaccard index, computed as the
// toolkit does (intersection over union, in float64), so the network is
// the toolkit's, not an approximation.
//
// The collection is held in memory (its word ids, about 4 bytes a word):
// the global word order needs every tweet before the first pair.
package cosim

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tweetflow/tweetflow/alerts/coord"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

// Defaults of the toolkit's command line (compute co_similar_tweet).
const (
	DefaultThreshold = 0.8
	DefaultMinTokens = 1
)

// Config is one co-similarity network.
type Config struct {
	Window time.Duration
	// Threshold is the least Jaccard index of two similar tweets, in
	// (0, 1] (0: DefaultThreshold).
	Threshold float64
	// MinTokens: tweets with fewer distinct words match nothing (the
	// toolkit's --min_document_size_similarity; 0: DefaultMinTokens).
	MinTokens int
}

// Builder collects tweets (Add) and computes the network (Edges).
type Builder struct {
	cfg    Config
	words  map[string]uint32
	df     []uint32 // tweets per word id
	accts  map[string]uint32
	names  []string
	hands  []string
	counts []int // tweets per account, every tweet Added
	docs   []doc
	toks   []uint32 // docs' word ids, doc by doc
	scr    []string
	seen   map[uint32]struct{}
	// Skipped counts tweets that matched nothing by rule: retweets, no
	// account or time, fewer than MinTokens words.
	Retweets, NoAccount, Short int
}

type doc struct {
	acct    uint32
	at      int64 // Unix ns
	off, n  uint32
	ordered bool
}

// New returns a builder for cfg.
func New(cfg Config) (*Builder, error) {
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultThreshold
	}
	if cfg.MinTokens == 0 {
		cfg.MinTokens = DefaultMinTokens
	}
	if !(cfg.Threshold > 0 && cfg.Threshold <= 1) {
		return nil, fmt.Errorf("co-similar: threshold %g: want a Jaccard index in (0, 1]", cfg.Threshold)
	}
	if cfg.Window <= 0 || cfg.MinTokens < 0 {
		return nil, fmt.Errorf("co-similar: window %s, min tokens %d: want both positive", cfg.Window, cfg.MinTokens)
	}
	return &Builder{cfg: cfg, words: map[string]uint32{}, accts: map[string]uint32{}, seen: map[uint32]struct{}{}}, nil
}

// Add takes one tweet. Tweets may come in any order; a retweet, or a
// tweet without an account or time, only counts.
func (b *Builder) Add(t *event.Tweet) {
	name := signal.Account(t)
	if name == "" || t.CreatedAt.IsZero() {
		b.NoAccount++
		return
	}
	a, ok := b.accts[name]
	if !ok {
		a = uint32(len(b.names))
		b.accts[name] = a
		b.names = append(b.names, name)
		b.hands = append(b.hands, "")
		b.counts = append(b.counts, 0)
	}
	if t.User != "" {
		b.hands[a] = t.User
	}
	b.counts[a]++
	if t.RetweetOf != "" {
		b.Retweets++
		return
	}
	b.scr = AppendTokens(b.scr[:0], t.Text)
	clear(b.seen)
	off := len(b.toks)
	for _, w := range b.scr {
		id, ok := b.words[w]
		if !ok {
			id = uint32(len(b.df))
			b.words[w] = id
			b.df = append(b.df, 0)
		}
		if _, dup := b.seen[id]; dup {
			continue
		}
		b.seen[id] = struct{}{}
		b.df[id]++
		b.toks = append(b.toks, id)
	}
	n := len(b.toks) - off
	if n < b.cfg.MinTokens || n == 0 {
		b.Short++
		b.toks = b.toks[:off]
		return
	}
	b.docs = append(b.docs, doc{acct: a, at: t.CreatedAt.UnixNano(), off: uint32(off), n: uint32(n)})
}

// Stats says how much work Edges did.
type Stats struct {
	Tweets     int // compared (not retweets, enough words)
	Candidates int // pairs that passed the prefix and size filters
	Similar    int // pairs at or above the threshold, same account included
}

// edge is one unordered pair's weights: w[0] from the lower account id to
// the higher, w[1] back.
type edge struct {
	w           [2]int
	first, last int64
}

// Edges computes the network: one edge per pair of distinct accounts with
// a similar pair of tweets, sorted by A then B, with the counts of the
// tweets Added per account. It may be called once.
func (b *Builder) Edges() ([]coord.Edge, Stats) {
	var st Stats
	st.Tweets = len(b.docs)
	// Rarest words first, ties by id: the order both prefixes are taken in.
	order := make([]uint32, len(b.df))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int {
		if c := cmp.Compare(b.df[x], b.df[y]); c != 0 {
			return c
		}
		return cmp.Compare(x, y)
	})
	rank := make([]uint32, len(b.df))
	for r, id := range order {
		rank[id] = uint32(r)
	}
	for i := range b.toks {
		b.toks[i] = rank[b.toks[i]]
	}
	for _, d := range b.docs {
		slices.Sort(b.toks[d.off : d.off+d.n])
	}
	slices.SortStableFunc(b.docs, func(x, y doc) int { return cmp.Compare(x.at, y.at) })

	t, span := b.cfg.Threshold, int64(b.cfg.Window)
	lists := make([][]int32, len(b.df)) // per word rank: docs indexing it, in time order
	heads := make([]int32, len(b.df))
	stamp := make([]int32, len(b.docs)) // stamp[j] == i+1: doc j already a candidate of i
	credited := map[uint64]struct{}{}   // doc<<32 | partner account
	edges := map[uint64]*edge{}
	// bump adds one to the weight from account a to account b.
	bump := func(a, b uint32, at int64) {
		k, dir := pair(a, b)
		e := edges[k]
		if e == nil {
			e = &edge{first: at}
			edges[k] = e
		}
		e.w[dir]++
		e.last = at
	}
	credit := func(d int, partner uint32) bool {
		k := uint64(d)<<32 | uint64(partner)
		if _, ok := credited[k]; ok {
			return false
		}
		credited[k] = struct{}{}
		return true
	}
	for i, x := range b.docs {
		xs := b.toks[x.off : x.off+x.n]
		n := float64(x.n)
		p := prefix(int(x.n), t)
		// The size bounds get the same slack as prefix: 0.7*10 is 7.000...1.
		lo, hi := t*n-1e-9, n/t+1e-9
		from := x.at - span
		for _, w := range xs[:p] {
			l := lists[w]
			h := heads[w]
			for int(h) < len(l) && b.docs[l[h]].at < from {
				h++
			}
			heads[w] = h
			for _, j := range l[h:] {
				if stamp[j] == int32(i+1) {
					continue
				}
				stamp[j] = int32(i + 1)
				y := b.docs[j]
				if m := float64(y.n); m < lo || m > hi {
					continue
				}
				st.Candidates++
				if !similar(xs, b.toks[y.off:y.off+y.n], t) {
					continue
				}
				st.Similar++
				if y.acct == x.acct {
					continue
				}
				// The toolkit counts x towards y's account and y towards
				// x's, each once per partner account.
				if credit(i, y.acct) {
					bump(x.acct, y.acct, x.at)
				}
				if credit(int(j), x.acct) {
					bump(y.acct, x.acct, x.at)
				}
			}
		}
		for _, w := range xs[:p] {
			lists[w] = append(lists[w], int32(i))
		}
		// Lists whose head moved far are compacted, so memory follows the
		// window, not the collection.
		for _, w := range xs[:p] {
			if h := heads[w]; h > 64 && int(h) > len(lists[w])/2 {
				lists[w] = append(lists[w][:0], lists[w][h:]...)
				heads[w] = 0
			}
		}
	}
	out := make([]coord.Edge, 0, len(edges))
	for k, e := range edges {
		// Edges are named in account-name order, A < B.
		ends, w := [2]uint32{uint32(k >> 32), uint32(k)}, e.w
		if b.names[ends[0]] > b.names[ends[1]] {
			ends, w = [2]uint32{ends[1], ends[0]}, [2]int{w[1], w[0]}
		}
		a, c := ends[0], ends[1]
		out = append(out, coord.Edge{A: b.names[a], B: b.names[c], HandleA: b.hands[a], HandleB: b.hands[c],
			TweetsA: b.counts[a], TweetsB: b.counts[c], AB: w[0], BA: w[1],
			First: time.Unix(0, e.first).UTC(), Last: time.Unix(0, e.last).UTC()})
	}
	slices.SortFunc(out, func(x, y coord.Edge) int {
		if c := cmp.Compare(x.A, y.A); c != 0 {
			return c
		}
		return cmp.Compare(x.B, y.B)
	})
	return out, st
}

// prefix is how many of a set's n rarest words another set with a Jaccard
// index of at least t must share one of: n - ceil(t*n) + 1. The product is
// nudged down before ceil so that rounding (0.8*5 = 4.000...1) can only
// lengthen the prefix, which costs candidates, never pairs.
func prefix(n int, t float64) int {
	p := n - int(math.Ceil(t*float64(n)-1e-9)) + 1
	return min(max(p, 1), n)
}

// similar reports whether the Jaccard index of the sorted distinct sets x
// and y is at least t, computed as the toolkit's Python does:
// len(x & y) / len(x | y) in float64.
func similar(x, y []uint32, t float64) bool {
	inter := 0
	for i, j := 0, 0; i < len(x) && j < len(y); {
		switch {
		case x[i] == y[j]:
			inter++
			i++
			j++
		case x[i] < y[j]:
			i++
		default:
			j++
		}
	}
	return float64(inter)/float64(len(x)+len(y)-inter) >= t
}

// pair is the key of a and b's edge and the direction a to b has in it.
func pair(a, b uint32) (uint64, int) {
	if a < b {
		return uint64(a)<<32 | uint64(b), 0
	}
	return uint64(b)<<32 | uint64(a), 1
}
