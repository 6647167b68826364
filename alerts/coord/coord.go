// Package coord maintains coordination networks over a tweet stream, in
// event time: for each signal (co-retweet, co-tweet, co-link, co-reply,
// co-hashtag, co-mention; see alerts/signal) and each of its windows, the
// weight of the edge between two accounts counts their co-actions, with the
// QUT coordination-network-toolkit's definition (compute_networks.py): the
// weight from account A to account B is the number of A's tweets that have a
// tweet of B with the same key (retweeted id, URL, ...) at most the window
// apart. Several windows run at once, so a burst of seconds and a drip over
// an hour are both seen.
//
// State is bounded: actions leave when they are two windows old in event
// time (see window.add for why two), a window holds at most MaxActions
// actions (the oldest leave early beyond it) and a key at most MaxPerKey (a
// viral tweet's later retweets are then dropped for a while), edges untouched for
// Horizon are forgotten and at most MaxEdges exist per window; every drop is
// counted in Stats. An Engine is not safe for concurrent use: it is meant to
// be fed by one observer of the tweet stream.
package coord

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"time"

	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

// Window is one signal at one time scale.
type Window struct {
	Signal signal.Kind
	Span   time.Duration
}

func (w Window) String() string { return fmt.Sprintf("%s/%s", w.Signal, w.Span) }

// DefaultWindows are bursts (a minute or two) and slow campaigns (10 min, an
// hour) for the id- and link-based signals. co-hashtag and co-mention are
// left out: organic trends are many unrelated accounts sharing a hashtag or
// a mention within minutes. co-similar has no keys (texts are compared, not
// matched) and is the job of the similarity detector in package alerts.
func DefaultWindows() []Window {
	return []Window{
		{signal.CoRetweet, time.Minute}, {signal.CoRetweet, 10 * time.Minute}, {signal.CoRetweet, time.Hour},
		{signal.CoTweet, time.Minute}, {signal.CoTweet, time.Hour},
		{signal.CoLink, time.Minute}, {signal.CoLink, 10 * time.Minute}, {signal.CoLink, time.Hour},
		{signal.CoReply, 2 * time.Minute}, {signal.CoReply, time.Hour},
	}
}

// Config bounds the engine. Zero fields take the DefaultConfig values.
type Config struct {
	Windows []Window
	// Horizon is how long, in event time, an edge is kept after its last
	// co-action: the network is windowed, not decayed, so a weight is an
	// exact count over the last Horizon.
	Horizon time.Duration
	// MaxActions caps the actions one window holds; beyond it the oldest
	// leave early (counted as evicted_early).
	MaxActions int
	// MaxPerKey caps the actions held per key (one retweeted tweet, one
	// URL): a key that reaches it is popular, and its later actions are
	// dropped (key_full) until its held ones expire, at most two spans.
	// Pairing costs one step per held action, so this bounds the work per
	// tweet and the edges one key makes (MaxPerKey^2/2). A tweet retweeted
	// by more accounts than this within the window is a cascade: pairing
	// its retweeters says little about coordination and would flood the
	// network with weight-1 edges.
	MaxPerKey int
	// MaxEdges caps the edges per window. A new pair beyond it takes the
	// place of the oldest edge still of weight 1 (evicted_weak): a pair
	// that co-acted once is the commonest and least telling edge. Only
	// when every edge is heavier is the new pair dropped (edges_full);
	// existing edges still count.
	MaxEdges int
	// Repeat, when positive, is the weight at which an edge is reported
	// (Crossed): accounts that co-acted Repeat times within the window of
	// each other, on as many tweets and as many distinct keys (at most 8
	// are counted), over the horizon. Edge weights themselves count tweets,
	// as the toolkit does.
	Repeat int
	// MaxKeyBytes: longer keys and account ids are replaced by their SHA-256
	// (long_key), so a 10 KB URL costs 71 bytes and still matches itself.
	MaxKeyBytes int
}

// DefaultConfig is DefaultWindows with caps sized for about 1 GB of state.
func DefaultConfig() Config {
	return Config{
		Windows:     DefaultWindows(),
		Horizon:     24 * time.Hour,
		MaxActions:  1 << 20,
		MaxPerKey:   200,
		MaxEdges:    1 << 21,
		MaxKeyBytes: 512,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Windows == nil {
		c.Windows = d.Windows
	}
	if c.Horizon == 0 {
		c.Horizon = d.Horizon
	}
	if c.MaxActions == 0 {
		c.MaxActions = d.MaxActions
	}
	if c.MaxPerKey == 0 {
		c.MaxPerKey = d.MaxPerKey
	}
	if c.MaxEdges == 0 {
		c.MaxEdges = d.MaxEdges
	}
	if c.MaxKeyBytes == 0 {
		c.MaxKeyBytes = d.MaxKeyBytes
	}
	return c
}

func (c Config) validate() error {
	if c.Repeat < 0 {
		return fmt.Errorf("coord config: negative repeat weight %d", c.Repeat)
	}
	if c.Horizon < 0 || c.MaxActions < 0 || c.MaxPerKey < 0 || c.MaxEdges < 0 || c.MaxKeyBytes < 0 {
		return fmt.Errorf("coord config: negative bound (horizon %s, max actions %d, per key %d, edges %d, key bytes %d)",
			c.Horizon, c.MaxActions, c.MaxPerKey, c.MaxEdges, c.MaxKeyBytes)
	}
	if c.MaxKeyBytes < 2*sha256.Size+7 {
		return fmt.Errorf("coord config: max key bytes %d is shorter than a hashed key (%d)", c.MaxKeyBytes, 2*sha256.Size+7)
	}
	seen := map[Window]bool{}
	for _, w := range c.Windows {
		if _, err := signal.ParseKind(string(w.Signal)); err != nil {
			return fmt.Errorf("coord config: window %s: %w", w, err)
		}
		if w.Signal == signal.CoSimilar {
			return fmt.Errorf("coord config: window %s: co-similar compares texts and has no keys to match", w)
		}
		if w.Span <= 0 {
			return fmt.Errorf("coord config: window %s: span must be positive", w)
		}
		if seen[w] {
			return fmt.Errorf("coord config: window %s listed twice", w)
		}
		seen[w] = true
	}
	return nil
}

// Engine keeps the coordination networks of every configured window.
type Engine struct {
	cfg   Config
	accts interner
	wins  []*window
	keys  []string // scratch for signal.AppendKeys
	// stamp[acct] == epoch marks an account already paired with the action
	// being added, so a tweet adds at most one to each of its edges.
	stamp []uint64
	epoch uint64
	c     engineCounts
	// crossed holds the edges that reached Repeat since the last Crossed.
	crossed []Crossing
}

// Crossing is an edge that reached the configured Repeat weight: two
// accounts that co-acted that often within the window of each other.
type Crossing struct {
	Window           Window
	A, B             string // account ids, A < B
	HandleA, HandleB string
	Weight           int
	// Items are the keys the pair shared (retweeted tweet ids, URLs, reply
	// targets, texts), first first, at most 8.
	Items []string
	// First is the pair's first co-action in the window's network, At the
	// one that made the weight.
	First, At time.Time
}

// Crossed appends to dst the edges that reached Repeat since the last call,
// in the order they did, and forgets them.
func (e *Engine) Crossed(dst []Crossing) []Crossing {
	dst = append(dst, e.crossed...)
	clear(e.crossed)
	e.crossed = e.crossed[:0]
	return dst
}

type engineCounts struct {
	observed, noAccount, noTime, longKey uint64
	skipped                              map[string]uint64
}

// New returns an engine for cfg (zero fields take DefaultConfig's values).
func New(cfg Config) (*Engine, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	e := &Engine{cfg: cfg, accts: newInterner(), c: engineCounts{skipped: map[string]uint64{}}}
	for _, w := range cfg.Windows {
		e.wins = append(e.wins, newWindow(w, e))
	}
	return e, nil
}

// Horizon is how long an edge is kept after its last co-action.
func (e *Engine) Horizon() time.Duration { return e.cfg.Horizon }

// Windows returns the configured windows, in configuration order.
func (e *Engine) Windows() []Window {
	out := make([]Window, len(e.wins))
	for i, w := range e.wins {
		out[i] = w.Window
	}
	return out
}

// Observe adds one tweet to every window. Tweets should come in event-time
// order; a tweet older than a window's latest is counted (backward) and
// taken at that latest time, or dropped (too_late) if it is more than the
// window behind. A tweet without an account or a time is counted and
// ignored.
func (e *Engine) Observe(t *event.Tweet) {
	e.c.observed++
	name := signal.Account(t)
	if name == "" {
		e.c.noAccount++
		return
	}
	if t.CreatedAt.IsZero() {
		e.c.noTime++
		return
	}
	name = e.bound(name)
	id := e.accts.acquire(name, e.bound(t.User))
	if int(id) >= len(e.stamp) {
		e.stamp = append(e.stamp, make([]uint64, int(id)+1-len(e.stamp))...)
	}
	at := t.CreatedAt.UnixNano()
	msg := e.bound(t.ID)
	for _, w := range e.wins {
		var skip string
		e.keys, skip = signal.AppendKeys(e.keys[:0], w.Signal, t)
		if skip != "" {
			e.c.skipped[skip]++
		}
		e.epoch++
		var rec *multiKey
		if len(e.keys) > 1 {
			rec = &multiKey{}
		}
		for _, k := range e.keys {
			w.add(id, msg, at, e.bound(k), rec)
		}
	}
	e.accts.release(id)
}

// bound replaces a string longer than MaxKeyBytes by its SHA-256.
func (e *Engine) bound(s string) string {
	if len(s) > e.cfg.MaxKeyBytes {
		e.c.longKey++
	}
	return e.boundQuiet(s)
}

func (e *Engine) boundQuiet(s string) string {
	if len(s) <= e.cfg.MaxKeyBytes {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Edge is one pair of accounts in one window's network. A < B. AB is the
// toolkit's weight from A to B (A's tweets with a co-action of B), BA the
// reverse; both are positive for every edge, and they differ only when one
// account acted more than once on a key within the window.
type Edge struct {
	A, B             string // account ids (the handle when the data had none)
	HandleA, HandleB string
	// TweetsA and TweetsB count the account's tweets the engine saw while
	// it held state for the account (all of them when it never left).
	TweetsA, TweetsB int
	AB, BA           int
	// First and Last are the event times of the first and latest co-action.
	First, Last time.Time
}

// Weight is the pair's weight in an undirected network: the larger of the
// two directions, that is the number of distinct tweets of the busier
// account that the other matched.
func (e Edge) Weight() int { return max(e.AB, e.BA) }

// Edges returns w's network, sorted by A then B; nil for an unknown window.
func (e *Engine) Edges(w Window) []Edge {
	for _, win := range e.wins {
		if win.Window == w {
			return win.snapshot()
		}
	}
	return nil
}

// Stats are counts since New and the state held now.
type Stats struct {
	Observed  uint64
	NoAccount uint64
	NoTime    uint64
	LongKey   uint64
	Skipped   map[string]uint64 // signal.Skip* reasons
	Accounts  int               // accounts referenced by held actions or edges
	Windows   []WindowStats
}

// WindowStats is one window's counts and held state.
type WindowStats struct {
	Window
	Actions, Keys, Edges, PeakActions, PeakEdges int
	// Backward: tweets older than the window's latest, taken at the latest.
	// TooLate: more than the window behind, dropped. Duplicate: a tweet id
	// already held on the key. KeyFull, EvictedEarly, EvictedWeak,
	// EdgesFull, Expired: the caps and the horizon at work.
	Backward, TooLate, Duplicate, KeyFull, EvictedEarly, EvictedWeak, EdgesFull, Expired uint64
	// Pairs counts held actions a new one was compared with: the work.
	Pairs uint64
}

// Stats returns the counters and the state size.
func (e *Engine) Stats() Stats {
	s := Stats{Observed: e.c.observed, NoAccount: e.c.noAccount, NoTime: e.c.noTime, LongKey: e.c.longKey,
		Skipped: map[string]uint64{}, Accounts: e.accts.live()}
	for k, v := range e.c.skipped {
		s.Skipped[k] = v
	}
	for _, w := range e.wins {
		s.Windows = append(s.Windows, w.stats())
	}
	return s
}

func sortEdges(es []Edge) {
	sort.Slice(es, func(i, j int) bool {
		if es[i].A != es[j].A {
			return es[i].A < es[j].A
		}
		return es[i].B < es[j].B
	})
}
