// Package alerts is tweetflow's streaming alert engine. It observes the
// records the pipeline stores and raises three kinds of alerts, each its own
// CloudEvent type (event.TypeAlert*):
//
//   - threshold: a tumbling window's average of a model's value crosses the
//     model's threshold (the reference line of the dashboards) by more than
//     Config.ThresholdZ standard errors of that average;
//   - anomaly: a window's tweet rate, a model's mean or a label's share
//     departs from its EWMA baseline by more than a z-score bound;
//   - coordination: near-identical texts (prefix-filtering candidates,
//     exact Jaccard on normalised token sets) posted by at least K distinct
//     accounts within a window (defaults 60 s and K = 5).
//
// Every window is on event time (the tweets' own timestamps), never the
// wall clock, so a replay at any speed raises the same alerts with the same
// ids. The engine does no I/O: Observe and Flush return alerts, and Tee
// (tee.go), an observer of the records a sink.Writer stored, feeds the
// engine and writes the alerts out.
package alerts

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/alerts/coord"
	"github.com/tweetflow/tweetflow/alerts/internal/queue"
	"github.com/tweetflow/tweetflow/event"
)

// Stats counts what the engine saw.
type Stats struct {
	Observed int `json:"observed"`
	// Late tweets arrived after their window closed; they are left out of
	// the window checks, and out of coordination when they are also older
	// than the coordination window (their groups are gone).
	Late int `json:"late"`
	// Invalid records (no id or no timestamp) are ignored.
	Invalid int            `json:"invalid"`
	Alerts  map[string]int `json:"alerts"` // by kind
}

// Engine raises alerts from a stream of stored records. It is safe for
// concurrent use; the aggregator may call Observe from several goroutines.
type Engine struct {
	cfg Config

	mu    sync.Mutex
	win   *windower
	coord *coordinator
	// coords is coord, then one detector per Coordination.Slow window.
	coords []*coordinator
	// copied holds the tweet ids of near-copy alerts within the longest
	// window: a group that alerted in a shorter window does not alert
	// again in a longer one.
	copied recentIDs
	// df counts tokens for the IDF-weighing detectors (nil without one);
	// wbuf holds one tweet's weights.
	df      *docFreq
	wbuf    []float32
	recent  recentIDs // tweets coordination saw within its window
	nets    *coord.Engine
	crossed []coord.Crossing
	// pairs holds the (signal, pair) that alerted, with the event time,
	// so a pair alerts once per signal (not once per window) over the
	// networks' horizon.
	pairs     map[string]int64
	pairSweep int64
	// heavy holds, per signal and account, the partners whose edge
	// reached Repeat, with that crossing: a pair alerts only once the two
	// share a heavy partner (a triangle). Two hyperactive accounts meet on
	// three viral tweets by chance now and then; three accounts pairwise
	// seldom do, and rings, pushes and swarms are 4-10 accounts.
	heavy     map[heavyKey]map[string]*coord.Crossing
	newest    time.Time // the newest event time seen
	stats     Stats
	bufPool   sync.Pool // *[]uint64 token buffers for signatures
	tweetPool sync.Pool // *[]coordTweet
}

// New returns an engine. Zero fields of cfg take their defaults (Default).
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{
		cfg:   cfg,
		win:   newWindower(cfg),
		coord: newCoordinator(cfg.Coordination),
		pairs: map[string]int64{},
		heavy: map[heavyKey]map[string]*coord.Crossing{},
		stats: Stats{Alerts: map[string]int{}},
	}
	e.coords = []*coordinator{e.coord}
	for _, w := range cfg.Coordination.Slow {
		c := cfg.Coordination
		c.Window, c.K = w.Window, w.K
		if w.Similarity > 0 {
			c.LooseSimilarity *= w.Similarity / c.Similarity
			c.Similarity = w.Similarity
		}
		sc := newCoordinator(c)
		if w.IDF {
			if e.df == nil {
				e.df = newDocFreq(cfg.Coordination.IDFHalfLife)
			}
			sc.df, sc.minRare, sc.weigh = e.df, w.MinRare, w.WeightedSimilarity
		}
		// The same group can alert in the 60 s window and a longer one:
		// the window in the id keeps the two alerts apart.
		sc.idPart = w.Window.String()
		e.coords = append(e.coords, sc)
	}
	for _, c := range e.coords {
		c.named = e.named
	}
	if !cfg.Networks.Disabled {
		nets, err := coord.New(cfg.Networks.Coord)
		if err != nil {
			return nil, fmt.Errorf("alerts config: networks: %w", err)
		}
		e.nets = nets
	}
	return e, nil
}

// Config returns the engine's configuration with defaults filled in.
func (e *Engine) Config() Config { return e.cfg }

// Observe feeds stored records to the engine and returns the alerts they
// raised, in order. A record seen twice (a redelivery, or a partial record
// completed later) counts once per model.
func (e *Engine) Observe(recs []sink.Record) []event.Alert {
	if len(recs) == 0 {
		return nil
	}
	// The costly part, normalising and hashing texts, needs no shared state:
	// it runs before taking the lock, so concurrent callers overlap there.
	var tweets []coordTweet
	var buf []uint64
	if !e.cfg.Coordination.Disabled {
		tp, _ := e.tweetPool.Get().(*[]coordTweet)
		if tp == nil {
			tp = new([]coordTweet)
		}
		bp, _ := e.bufPool.Get().(*[]uint64)
		if bp == nil {
			bp = new([]uint64)
		}
		defer func() {
			clear(tweets)
			*tp, *bp = tweets[:0], buf[:0]
			e.tweetPool.Put(tp)
			e.bufPool.Put(bp)
		}()
		tweets, buf = (*tp)[:0], (*bp)[:0]
		offsets := make([]int, 0, len(recs)+1)
		for i := range recs {
			t := &recs[i].Tweet
			offsets = append(offsets, len(buf))
			// A retweet never reaches the near-copy detectors (see
			// below): its text, the original's, is not tokenised.
			// (Half of a twarc2 collection's tweets are retweets.)
			if t.RetweetOf == "" {
				buf = tokenHashes(buf, t.Text)
			}
		}
		offsets = append(offsets, len(buf))
		for i := range recs {
			t := &recs[i].Tweet
			ct := coordTweet{id: t.ID, user: t.User, text: t.Text, at: t.CreatedAt}
			ct.tokens = buf[offsets[i]:offsets[i+1]:offsets[i+1]]
			tweets = append(tweets, ct)
		}
	}

	var results []resultView
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []event.Alert
	for i := range recs {
		r := &recs[i]
		if r.Tweet.ID == "" || r.Tweet.CreatedAt.IsZero() {
			e.stats.Invalid++
			continue
		}
		e.stats.Observed++
		at := r.Tweet.CreatedAt
		if at.After(e.newest) {
			e.newest = at
			out = append(out, e.win.advance(e.watermark())...)
		}
		results = results[:0]
		for _, res := range r.Results {
			results = append(results, resultView{model: res.Model, value: res.Value, label: res.Label})
		}
		e.win.observe(r.Tweet.ID, at, results)
		// A retweet carries its source's text: five strangers retweeting a
		// viral tweet within a minute are five identical texts, not a
		// campaign. Retweets are the co-retweet network's (repeated
		// co-action), not the near-copy detector's.
		if from := e.watermark().Add(-e.longestCoordWindow()); tweets != nil && r.Tweet.RetweetOf == "" && !at.Before(from) &&
			e.recent.first(r.Tweet.ID, at.UnixNano(), from.UnixNano()) {
			if ct := &tweets[i]; e.df != nil && len(ct.tokens) > 0 {
				e.df.add(ct.tokens, at.UnixNano())
				e.wbuf, ct.info = e.df.weights(e.wbuf[:0], ct.tokens)
				ct.weights = e.wbuf
			}
			for _, c := range e.coords {
				if at.Before(e.watermark().Add(-c.cfg.Window)) {
					continue // too late for this window
				}
				if a := c.observe(&tweets[i], e.watermark()); a != nil && e.newCopies(a, c.cfg.Window, from.UnixNano()) {
					out = append(out, *a)
				}
			}
		}
		if e.nets != nil {
			e.nets.Observe(&r.Tweet)
			out = e.repeated(out, at)
		}
	}
	e.stats.Late = e.win.late
	for _, a := range out {
		e.stats.Alerts[a.Kind]++
	}
	return out
}

// Flush closes every open window, as at the end of a replay, and returns
// their alerts.
func (e *Engine) Flush() []event.Alert {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := e.win.flush()
	for _, a := range out {
		e.stats.Alerts[a.Kind]++
	}
	return out
}

// Stats returns a copy of the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.stats
	s.Alerts = make(map[string]int, len(e.stats.Alerts))
	for k, v := range e.stats.Alerts {
		s.Alerts[k] = v
	}
	return s
}

// watermark is the event time up to which windows are complete.
func (e *Engine) watermark() time.Time { return e.newest.Add(-e.cfg.Lateness) }

// newCopies reports whether near-copy alert a, of a window of length
// window, names no tweet of an earlier one (from: the oldest event time
// still remembered), and remembers its tweets with the alert's quiet
// time (its span end plus window: see coordinator.named).
func (e *Engine) newCopies(a *event.Alert, window time.Duration, from int64) bool {
	for _, id := range a.TweetIDs {
		if at, ok := e.copied.at[id]; ok && at >= from {
			return false
		}
	}
	for _, id := range a.TweetIDs {
		e.copied.first(id, a.WindowEnd.Add(window).UnixNano(), from)
	}
	return true
}

// named returns the quiet time newCopies remembers for tweet id: the
// span end plus the window of the near-copy alert that named it.
func (e *Engine) named(id string) (int64, bool) {
	q, ok := e.copied.at[id]
	return q, ok && q >= e.watermark().Add(-e.longestCoordWindow()).UnixNano()
}

// longestCoordWindow is the longest near-copy window: a tweet id is
// remembered that long, so a redelivery counts once in every window.
func (e *Engine) longestCoordWindow() time.Duration {
	w := e.cfg.Coordination.Window
	for _, s := range e.cfg.Coordination.Slow {
		w = max(w, s.Window)
	}
	return w
}

// recentIDs remembers the tweets coordination saw while they can still be
// in its window. A tweet stored twice (a partial record completed later, a
// redelivery after a restart) must count once: its group's member list
// catches most repeats, but a repeat can match another group, or none and
// seed a new one, once its own group's representatives moved on.
type recentIDs struct {
	at    map[string]int64 // tweet id -> event time, Unix ns
	queue []recentID       // in arrival order, for expiry
	head  int
}

type recentID struct {
	id string
	at int64
}

// first reports whether id is new, and remembers it; from is the oldest
// event time coordination still accepts (older entries are forgotten: a
// repeat of them is turned away by its time).
func (r *recentIDs) first(id string, at, from int64) bool {
	if r.at == nil {
		r.at = map[string]int64{}
	}
	for r.head < len(r.queue) && r.queue[r.head].at < from {
		old := queue.PopFront(&r.queue, &r.head, 1024)
		if r.at[old.id] == old.at {
			delete(r.at, old.id)
		}
	}
	if _, seen := r.at[id]; seen {
		return false
	}
	r.at[id] = at
	r.queue = append(r.queue, recentID{id: id, at: at})
	return true
}

type heavyKey struct {
	signal string
	acct   string
}

// repeated turns the networks' new crossings into alerts, one per signal
// and pair over the networks' horizon (the same pair crosses in each of a
// signal's windows), once the pair is part of a triangle of crossed edges:
// each edge of the triangle alerts then, and a later edge as soon as it
// closes a triangle of its own.
func (e *Engine) repeated(out []event.Alert, at time.Time) []event.Alert {
	e.crossed = e.nets.Crossed(e.crossed[:0])
	hz := int64(e.nets.Horizon())
	if now := at.UnixNano(); now-e.pairSweep > hz/8 {
		e.pairSweep = now
		for k, t := range e.pairs {
			if t < now-hz {
				delete(e.pairs, k)
			}
		}
		for k, partners := range e.heavy {
			for b, c := range partners {
				if c.At.UnixNano() < now-hz {
					delete(partners, b)
				}
			}
			if len(partners) == 0 {
				delete(e.heavy, k)
			}
		}
	}
	for i := range e.crossed {
		c := e.crossed[i]
		sig := string(c.Window.Signal)
		if _, done := e.pairs[pairKey(sig, c.A, c.B)]; done {
			continue
		}
		ka, kb := heavyKey{sig, c.A}, heavyKey{sig, c.B}
		if _, seen := e.heavy[ka][c.B]; seen {
			continue // crossed in another of the signal's windows, pending
		}
		for _, k := range []heavyKey{ka, kb} {
			if e.heavy[k] == nil {
				e.heavy[k] = map[string]*coord.Crossing{}
			}
		}
		e.heavy[ka][c.B], e.heavy[kb][c.A] = &c, &c
		small, other := e.heavy[ka], e.heavy[kb]
		if len(other) < len(small) {
			small, other = other, small
		}
		var third []string
		for p := range small {
			if _, ok := other[p]; ok {
				third = append(third, p)
			}
		}
		if len(third) == 0 {
			continue
		}
		slices.Sort(third) // map order must not order the alerts
		out = e.pairAlertOnce(out, &c)
		for _, p := range third {
			out = e.pairAlertOnce(out, e.heavy[ka][p])
			out = e.pairAlertOnce(out, e.heavy[kb][p])
		}
	}
	return out
}

func pairKey(signal, a, b string) string { return signal + "\x00" + a + "\x00" + b }

// pairAlertOnce appends c's pair alert unless its pair alerted already.
func (e *Engine) pairAlertOnce(out []event.Alert, c *coord.Crossing) []event.Alert {
	key := pairKey(string(c.Window.Signal), c.A, c.B)
	if _, done := e.pairs[key]; done {
		return out
	}
	e.pairs[key] = c.At.UnixNano()
	return append(out, pairAlert(*c, e.cfg.Networks.Coord.Repeat))
}

// pairAlert is the alert of a pair of accounts that co-acted repeatedly.
func pairAlert(c coord.Crossing, repeat int) event.Alert {
	metric := string(c.Window.Signal)
	name := func(id, handle string) string { return cmp.Or(handle, id) }
	items := make([]string, len(c.Items))
	for i, it := range c.Items {
		items[i] = clip(it, 200)
	}
	return event.Alert{
		ID:   event.AlertID(event.AlertCoordination, metric, c.First, c.A, c.B),
		Kind: event.AlertCoordination, Metric: metric,
		WindowStart: c.First, WindowEnd: c.At,
		Observed: float64(c.Weight), Expected: float64(repeat), Bound: float64(repeat),
		Count: c.Weight, Accounts: []string{c.A, c.B}, Items: items,
		Message: fmt.Sprintf("%s and %s: %s %d times within %s of each other (%s)", name(c.A, c.HandleA), name(c.B, c.HandleB),
			metric, c.Weight, c.Window.Span, strings.Join(items, ", ")),
	}
}
