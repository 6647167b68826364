package coord

import (
	"slices"
	"time"

	"github.com/tweetflow/tweetflow/alerts/internal/queue"
)

// action is one tweet's action on one key.
type action struct {
	acct uint32
	at   int64 // event time, Unix ns
	msg  string
	rec  *multiKey // nil when the tweet has this one key
}

// multiKey is shared by the actions of a tweet with several keys (links,
// hashtags): the toolkit counts a tweet once per partner account however
// many of its keys they share, so the accounts it was already counted
// towards are kept here.
type multiKey struct {
	credited []uint32
}

func (m *multiKey) credit(acct uint32) bool {
	for _, a := range m.credited {
		if a == acct {
			return false
		}
	}
	m.credited = append(m.credited, acct)
	return true
}

// keyState holds the recent actions on one key, oldest first.
type keyState struct {
	key  string
	acts []action
	head int
	// last holds, per account, its latest held action's time and how many
	// it holds; built only once the key holds more than linearScan actions,
	// since most keys (a URL, a retweeted id) see one or two.
	last map[uint32]lastSeen
	// popular is set when the key reached MaxPerKey: from then on its new
	// actions are dropped until its held ones expire. Without it a viral
	// key would sit just under the cap and every new retweet would pair
	// with MaxPerKey others.
	popular bool
}

type lastSeen struct {
	at int64
	n  int32
}

const linearScan = 16

func (k *keyState) len() int { return len(k.acts) - k.head }

// latest returns acct's latest held action time, false if it holds none.
func (k *keyState) latest(acct uint32) (int64, bool) {
	if k.last != nil {
		l, ok := k.last[acct]
		return l.at, ok
	}
	for i := len(k.acts) - 1; i >= k.head; i-- {
		if k.acts[i].acct == acct {
			return k.acts[i].at, true
		}
	}
	return 0, false
}

func (k *keyState) push(a action) {
	k.acts = append(k.acts, a)
	if k.last == nil && k.len() > linearScan {
		k.last = make(map[uint32]lastSeen, 2*linearScan)
		for _, b := range k.acts[k.head:] {
			l := k.last[b.acct]
			k.last[b.acct] = lastSeen{at: b.at, n: l.n + 1}
		}
		return
	}
	if k.last != nil {
		l := k.last[a.acct]
		k.last[a.acct] = lastSeen{at: a.at, n: l.n + 1}
	}
}

func (k *keyState) pop() action {
	a := queue.PopFront(&k.acts, &k.head, 32)
	if k.last != nil {
		l := k.last[a.acct]
		if l.n <= 1 {
			delete(k.last, a.acct)
		} else {
			l.n--
			k.last[a.acct] = l
		}
	}
	return a
}

// held is a window-wide queue entry: actions leave in the order they came.
type held struct {
	ks *keyState
	at int64
}

// edgeState is one pair's weights; lo and hi are the pair's account ids.
type edgeState struct {
	loHi, hiLo  uint32 // weight from the lower id to the higher, and back
	first, last int64
	// item is the first key the pair shared (a string already held by its
	// key, not a copy); later distinct keys of a pair that co-acted more
	// than once are in window.shared.
	item string
}

func (es edgeState) weight() uint32 { return max(es.loHi, es.hiLo) }

// maxItems caps the shared keys kept per edge (an alert names them).
const maxItems = 8

type window struct {
	Window
	e       *Engine
	span    int64
	now     int64
	started bool
	keys    map[string]*keyState
	queue   []held
	qhead   int
	edges   map[uint64]edgeState
	shared  map[uint64][]string // keys beyond the first, for edges of weight > 1
	// weak holds edge keys in creation order: at MaxEdges the oldest edge
	// still of weight 1 makes room for a new pair (an edge seen once says
	// the least; heavier ones are what the network is for).
	weak      []uint64
	weakHead  int
	lastSweep int64
	peakActs  int
	peakEdges int
	c         WindowStats
}

func newWindow(w Window, e *Engine) *window {
	return &window{Window: w, e: e, span: int64(w.Span), keys: map[string]*keyState{}, edges: map[uint64]edgeState{},
		shared: map[uint64][]string{}}
}

func pairKey(a, b uint32) (uint64, bool) {
	if a < b {
		return uint64(a)<<32 | uint64(b), true
	}
	return uint64(b)<<32 | uint64(a), false
}

// add pairs acct's action on key at time at with the held actions on key
// at most span before it, then holds it.
//
// The weight from A to B counts A's tweets with at least one tweet of B on
// the same key within the span, before or after. The new tweet m gets one
// for each distinct other account among the held actions (stamp marks them,
// across all of m's keys: Observe starts one epoch per tweet and window).
// An older tweet m' of B gains one on B -> A only if A had no action within
// the span of m' already, that is no held action of A at or after
// m'.at - span; such an action can be up to two spans before now, which is
// why actions are held for two spans and paired for one. A tweet m' with
// several keys keeps the accounts it was counted towards instead.
func (w *window) add(acct uint32, msg string, at int64, key string, rec *multiKey) {
	if !w.started {
		w.started, w.now, w.lastSweep = true, at, at
	}
	if at < w.now {
		if at < w.now-w.span {
			w.c.TooLate++
			return
		}
		w.c.Backward++
		at = w.now
	}
	w.now = at
	w.expire()
	ks := w.keys[key]
	if ks == nil {
		ks = &keyState{key: key}
		w.keys[key] = ks
	}
	if ks.popular || ks.len() >= w.e.cfg.MaxPerKey {
		ks.popular = true
		w.c.KeyFull++
		return
	}
	from := at - w.span
	for i := len(ks.acts) - 1; i >= ks.head && ks.acts[i].at >= from; i-- {
		if ks.acts[i].msg == msg {
			w.c.Duplicate++
			return
		}
	}
	e := w.e
	lastA, heldA := ks.latest(acct)
	for i := len(ks.acts) - 1; i >= ks.head && ks.acts[i].at >= from; i-- {
		b := ks.acts[i]
		w.c.Pairs++
		if b.acct == acct {
			continue
		}
		var toB, toA bool
		if e.stamp[b.acct] != e.epoch {
			e.stamp[b.acct] = e.epoch
			toB = true
			if rec != nil {
				rec.credit(b.acct)
			}
		}
		if b.rec != nil {
			toA = b.rec.credit(acct)
		} else if !heldA || lastA < b.at-w.span {
			toA = true
		}
		if toB || toA {
			w.bump(acct, b.acct, toB, toA, at, ks.key)
		}
	}
	ks.push(action{acct: acct, at: at, msg: msg, rec: rec})
	e.accts.ref(acct)
	w.queue = append(w.queue, held{ks: ks, at: at})
	if n := len(w.queue) - w.qhead; n > w.e.cfg.MaxActions {
		w.c.EvictedEarly++
		w.popOldest()
	}
	w.peakActs = max(w.peakActs, len(w.queue)-w.qhead)
}

// bump adds one to the a -> b and/or b -> a weight of the pair's edge,
// whose co-action was on key; a weight reaching the engine's Repeat is a
// crossing.
func (w *window) bump(a, b uint32, toB, toA bool, at int64, key string) {
	k, aLow := pairKey(a, b)
	es, ok := w.edges[k]
	if !ok {
		if len(w.edges) >= w.e.cfg.MaxEdges && !w.evictWeak() {
			w.c.EdgesFull++
			return
		}
		es.first, es.item = at, key
		w.e.accts.ref(a)
		w.e.accts.ref(b)
		w.weak = append(w.weak, k)
	}
	wasCrossed := ok && w.crossed(k, es)
	if ok && key != es.item {
		if items := w.shared[k]; len(items) < maxItems-1 && !slices.Contains(items, key) {
			w.shared[k] = append(items, key)
		}
	}
	if !aLow {
		toB, toA = toA, toB
	}
	if toB {
		es.loHi++
	}
	if toA {
		es.hiLo++
	}
	es.last = at
	w.edges[k] = es
	w.peakEdges = max(w.peakEdges, len(w.edges))
	if !wasCrossed && w.crossed(k, es) {
		w.e.crossed = append(w.e.crossed, w.crossing(k, es))
	}
}

// crossed reports whether edge k has reached the engine's Repeat: a weight
// of Repeat and as many distinct shared keys (up to the maxItems kept). The
// weight alone (the toolkit's, which counts tweets) lets one account posting
// the same article twice make a pair of two shared links look like three.
// Edge weights stay the toolkit's; only the report asks for distinct keys.
func (w *window) crossed(k uint64, es edgeState) bool {
	r := w.e.cfg.Repeat
	return r > 0 && int(es.weight()) >= r && 1+len(w.shared[k]) >= min(r, maxItems)
}

// evictWeak deletes the oldest edge still of weight 1 (counted), false if
// there is none.
func (w *window) evictWeak() bool {
	for w.weakHead < len(w.weak) {
		k := queue.PopFront(&w.weak, &w.weakHead, 1024)
		if es, ok := w.edges[k]; ok && es.weight() == 1 {
			w.deleteEdge(k)
			w.c.EvictedWeak++
			return true
		}
	}
	return false
}

func (w *window) deleteEdge(k uint64) {
	delete(w.edges, k)
	delete(w.shared, k)
	w.e.accts.release(uint32(k >> 32))
	w.e.accts.release(uint32(k))
}

// crossing describes edge k for an alert.
func (w *window) crossing(k uint64, es edgeState) Crossing {
	in := &w.e.accts
	lo, hi := uint32(k>>32), uint32(k)
	c := Crossing{Window: w.Window, A: in.names[lo], B: in.names[hi], HandleA: in.handles[lo], HandleB: in.handles[hi],
		Weight: int(es.weight()), Items: append([]string{es.item}, w.shared[k]...),
		First: time.Unix(0, es.first).UTC(), At: time.Unix(0, es.last).UTC()}
	if c.A > c.B {
		c.A, c.B, c.HandleA, c.HandleB = c.B, c.A, c.HandleB, c.HandleA
	}
	return c
}

// expire lets go of actions two spans old and, every eighth of the horizon,
// of edges idle for the horizon.
func (w *window) expire() {
	for w.qhead < len(w.queue) && w.queue[w.qhead].at < w.now-2*w.span {
		w.popOldest()
	}
	hz := int64(w.e.cfg.Horizon)
	if w.now-w.lastSweep < hz/8 {
		return
	}
	w.lastSweep = w.now
	for k, es := range w.edges {
		if es.last < w.now-hz {
			w.deleteEdge(k)
			w.c.Expired++
		}
	}
	// The weak queue keeps only keys of live edges of weight 1 (the rest
	// would be skipped by evictWeak anyway): its memory follows the edges.
	if n := len(w.weak) - w.weakHead; n > 2*len(w.edges)+1024 {
		live := w.weak[:0]
		for _, k := range w.weak[w.weakHead:] {
			if es, ok := w.edges[k]; ok && es.weight() == 1 {
				live = append(live, k)
			}
		}
		clear(w.weak[len(live):])
		w.weak, w.weakHead = live, 0
	}
}

func (w *window) popOldest() {
	h := queue.PopFront(&w.queue, &w.qhead, 1024)
	a := h.ks.pop()
	w.e.accts.release(a.acct)
	if h.ks.len() == 0 {
		delete(w.keys, h.ks.key)
	}
}

func (w *window) snapshot() []Edge {
	in := &w.e.accts
	out := make([]Edge, 0, len(w.edges))
	for k, es := range w.edges {
		lo, hi := uint32(k>>32), uint32(k)
		ed := Edge{A: in.names[lo], B: in.names[hi], HandleA: in.handles[lo], HandleB: in.handles[hi],
			TweetsA: in.tweets[lo], TweetsB: in.tweets[hi],
			AB: int(es.loHi), BA: int(es.hiLo), First: time.Unix(0, es.first).UTC(), Last: time.Unix(0, es.last).UTC()}
		if ed.A > ed.B {
			ed.A, ed.B, ed.HandleA, ed.HandleB, ed.TweetsA, ed.TweetsB, ed.AB, ed.BA = ed.B, ed.A, ed.HandleB, ed.HandleA, ed.TweetsB, ed.TweetsA, ed.BA, ed.AB
		}
		out = append(out, ed)
	}
	sortEdges(out)
	return out
}

func (w *window) stats() WindowStats {
	s := w.c
	s.Window = w.Window
	s.Actions, s.Keys, s.Edges = len(w.queue)-w.qhead, len(w.keys), len(w.edges)
	s.PeakActions, s.PeakEdges = w.peakActs, w.peakEdges
	return s
}
