package alerts

import (
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// Candidate groups are found by prefix filtering (Chaudhuri et al. 2006;
// Bayardo et al. 2007), an exact method for set-similarity search: order
// every token set by one global order (here, the token hash), and two sets
// with Jaccard similarity at least t share a token among the first
// |x| - ceil(t|x|) + 1 tokens of each. So each representative is indexed
// under its prefix tokens only, a tweet probes its own prefix, and no pair at
// or above the threshold is ever missed (MinHash/LSH with 12 bands missed 3%
// of the pairs at 0.5, and 32 bands cost more than the rest of the engine).
// The exact Jaccard of the token sets then decides.

// maxPosting bounds the entries scanned per token, newest first: a token in
// thousands of live texts (a replay squeezing many tweets into one second)
// must not make each tweet cost thousands of comparisons.
const maxPosting = 256

// Caps on what an alert carries (its Count says how many tweets there were).
const (
	maxAlertAccounts = 50
	maxAlertTexts    = 5
	// maxGroupMembers triggers trimming a group's member list.
	maxGroupMembers = 256
)

// coordTweet is what the coordination detector needs of a tweet.
type coordTweet struct {
	id, user, text string
	at             time.Time
	tokens         []uint64 // sorted content-token hashes
	// weights[i] is tokens[i]'s inverse document frequency and info their
	// sum, set when a detector weighs tokens (CoordinationConfig.Slow's IDF).
	weights []float32
	info    float32
}

// member is one tweet of a group. The first maxRepCandidates members keep
// their tokens, to choose representatives from.
type member struct {
	id, user, text string
	at             time.Time
	tokens         []uint64
}

// group is a set of tweets similar to one of its representatives: first its
// seed (the tweet that started it), then up to maxReps-1 medoids, the member
// most similar to the others, picked when the group reaches 3 and 6
// members. A seed is itself a paraphrase; the medoid is closer to the text
// every copy was made from, so later copies match it when they drift too far
// from the seed. Members are never compared with ordinary members, so an
// unrelated chain ("a b c" ~ "b c d" ~ "c d e" ...) cannot grow a group
// beyond the few representatives.
type group struct {
	seedID, seedText string
	reps             [][]uint64 // token sets of the representatives
	// repInfo[i] is reps[i]'s summed token weight when it became one (a
	// weighing detector only).
	repInfo [maxReps]float32
	// vocab is the union of the tokens of the first members that matched a
	// representative strictly (at least Similarity); a tweet whose tokens
	// are nearly all in it also joins (see match).
	// It is nil while there is one strict member: the seed's tokens are the
	// vocabulary then (most groups never get a second tweet).
	vocab        []uint64 // sorted
	vocabSources int
	members      []member
	// big indexes the members of a group past indexMembers (nil below):
	// without it the redelivery check and check's distinct-account count
	// walked every member on every tweet, quadratic in a text reposted
	// thousands of times within the window by fewer than K accounts (64% of
	// the CPU of a 300k-tweet twarc2 replay, most groups staying small).
	big        *memberIndex
	lastNs     int64 // the newest member's time in Unix ns
	alerted    bool
	sweepEpoch uint64 // the last sweep that counted this group
	probe      uint64 // the last match call that compared this group

	// Most groups never get a second tweet: their representatives and their
	// one member live in the group itself, so a new group is no allocation
	// of its own (groups are cut from a slab, see newGroup).
	// (Medoids, for the few groups that reach 3 members, are appended to
	// reps beyond repArr: room for all maxReps in every group, and a
	// time.Time beside lastNs, made a group 328 bytes instead of 264.)
	repArr   [1][]uint64
	firstArr [1]member
}

// vocabulary returns the group's vocabulary (sorted).
func (g *group) vocabulary() []uint64 {
	if g.vocab != nil {
		return g.vocab
	}
	return g.reps[0]
}

// union merges two sorted, duplicate-free sets into a new one.
func union(a, b []uint64) []uint64 {
	out := make([]uint64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			out = append(out, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			out = append(out, b[j])
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

const (
	maxReps          = 3
	maxRepCandidates = 8
)

// indexMembers is the group size from which its members are indexed.
const indexMembers = 16

// memberIndex mirrors a big group's members: their ids' hashes, how many
// of them each account posted, and the oldest member's time.
type memberIndex struct {
	// ids counts the members by the hash of their tweet id: a tweet whose
	// hash is absent is no member (nearly always), one whose hash is
	// present is looked for among the members. A map of uint64 holds no
	// pointer for the GC to scan and costs no string hashing and compare
	// per look-up.
	ids      map[uint64]int32
	users    map[string]int
	oldestNs int64
	// seed seeds the hash of ids: the index's own, so no state is shared
	// between groups or engines.
	seed maphash.Seed
}

func (x *memberIndex) add(m member) {
	x.ids[maphash.String(x.seed, m.id)]++
	x.users[m.user]++
	x.oldestNs = min(x.oldestNs, m.at.UnixNano())
}

func (x *memberIndex) remove(m member) {
	if h := maphash.String(x.seed, m.id); x.ids[h] <= 1 {
		delete(x.ids, h)
	} else {
		x.ids[h]--
	}
	if x.users[m.user]--; x.users[m.user] <= 0 {
		delete(x.users, m.user)
	}
}

// add appends m, indexing the members once the group is big.
func (g *group) add(m member) {
	g.members = append(g.members, m)
	switch {
	case g.big != nil:
		g.big.add(m)
	case len(g.members) >= indexMembers:
		g.big = &memberIndex{ids: make(map[uint64]int32, 2*indexMembers), users: make(map[string]int, 2*indexMembers), oldestNs: math.MaxInt64, seed: maphash.MakeSeed()}
		for _, m := range g.members {
			g.big.add(m)
		}
	}
}

// has reports whether a member has tweet id id (a redelivery).
func (g *group) has(id string) bool {
	if g.big != nil {
		if _, ok := g.big.ids[maphash.String(g.big.seed, id)]; !ok {
			return false
		}
	}
	for _, m := range g.members {
		if m.id == id {
			return true
		}
	}
	return false
}

// accounts is the number of distinct accounts among the members.
func (g *group) accounts() int {
	if g.big != nil {
		return len(g.big.users)
	}
	users := make(map[string]struct{}, len(g.members))
	for _, m := range g.members {
		users[m.user] = struct{}{}
	}
	return len(users)
}

// trim keeps the members of a long-lived group (a text reposted all day)
// that are within one window of its newest: older ones can no longer be in a
// span with a new tweet.
func (g *group) trim(window time.Duration) {
	horizon := g.lastNs - int64(window)
	if g.big != nil && g.big.oldestNs >= horizon {
		return // nothing to drop: the walk over every member was a fifth of the detector's CPU
	}
	oldest := int64(math.MaxInt64)
	g.members = slices.DeleteFunc(g.members, func(m member) bool {
		if ns := m.at.UnixNano(); ns >= horizon {
			oldest = min(oldest, ns)
			return false
		}
		if g.big != nil {
			g.big.remove(m)
		}
		return true
	})
	if g.big != nil {
		g.big.oldestNs = oldest
	}
}

// coordinator finds groups of near-identical texts posted by at least K
// distinct accounts within Window of event time.
type coordinator struct {
	cfg CoordinationConfig
	// idPart, when set, is added to alert ids (the window of a slow
	// detector, so its alert and the 60 s one for one group differ).
	idPart   string
	postings *postingIndex // prefix token -> groups with a representative indexed under it
	groups   int           // live groups, for stats
	// inserts counts seeds since the last sweep of expired groups.
	inserts int
	epoch   uint64 // sweeps so far
	probes  uint64 // match calls so far
	// minSim is the least similarity to a representative that can matter
	// to match (strict or loose); smaller ones need not be computed.
	minSim float64
	// df, when set, weighs tokens: similarity and containment are over
	// token weights (weighted Jaccard), and sets are indexed under their
	// rarest tokens. It is the engine's, shared by its weighing detectors.
	df      *docFreq
	minRare float64 // SlowWindow.MinRare
	// weigh: similarity and containment are over df's weights
	// (SlowWindow.WeightedSimilarity); without it df only gates tweets
	// and orders the index.
	weigh bool
	// named returns, for a tweet an alert of any window named, that
	// alert's span end plus its window (the engine's; nil in tests of one
	// coordinator). Neither that tweet nor any tweet of its group up to
	// then counts towards another alert: without this a longer window's
	// span holding an alerted tweet was dropped by the engine as a
	// repeat, and its group, marked alerted, never alerted again, also
	// not for a later campaign's tweets that had joined it.
	named func(id string) (quietNs int64, ok bool)
	order []int // scratch for weightedPrefix
	pfx   []uint64
	wscr  []float32

	// Slabs that new groups and their token copies are cut from: nearly
	// every tweet starts a group, and one allocation per group (or four, as
	// before) was a tenth of the engine's CPU in malloc and GC. Expired
	// groups are reused (free), so group slabs stay reachable and their
	// number follows the most groups alive between two sweeps. A token slab
	// stays reachable while a group holds tokens from it; groups expire
	// within a window, so token slabs do too, but for the few long-lived
	// groups (a text reposted all day) that pin theirs: tokenSlab * 8 B each.
	groupSlab []group
	tokenSlab []uint64
	// free holds groups that expired at the last sweeps, for new groups to
	// reuse: nearly every group dies with its one tweet a window later, and
	// cutting each new one from fresh memory was 264 pointer-holding bytes
	// per tweet to allocate and for the GC to scan.
	free []*group
}

const (
	groupSlab = 64
	tokenSlab = 1024
)

func newCoordinator(cfg CoordinationConfig) *coordinator {
	return &coordinator{cfg: cfg, postings: newPostingIndex(), minSim: min(cfg.Similarity, cfg.LooseSimilarity)}
}

// newGroup returns a group seeded by t, its tokens copied.
func (c *coordinator) newGroup(t *coordTweet) *group {
	var g *group
	if n := len(c.free); n > 0 {
		g, c.free = c.free[n-1], c.free[:n-1]
		*g = group{}
	} else {
		if len(c.groupSlab) == cap(c.groupSlab) {
			c.groupSlab = make([]group, 0, groupSlab)
		}
		c.groupSlab = c.groupSlab[:len(c.groupSlab)+1]
		g = &c.groupSlab[len(c.groupSlab)-1]
	}
	g.seedID, g.seedText = t.id, t.text
	g.lastNs = t.at.UnixNano()
	g.repArr[0] = c.copyTokens(t.tokens)
	g.reps = g.repArr[:1]
	g.repInfo[0] = t.info
	g.members = g.firstArr[:0]
	return g
}

// copyTokens returns a copy of tokens cut from the token slab (full
// capacity: appending to it cannot overwrite a neighbour).
func (c *coordinator) copyTokens(tokens []uint64) []uint64 {
	n := len(tokens)
	if cap(c.tokenSlab)-len(c.tokenSlab) < n {
		c.tokenSlab = make([]uint64, 0, max(tokenSlab, n))
	}
	l := len(c.tokenSlab)
	c.tokenSlab = append(c.tokenSlab, tokens...)
	return c.tokenSlab[l : l+n : l+n]
}

// prefix returns the tokens under which a set is indexed and probed: the
// first |x| - ceil(t|x|) + 1 of the sorted tokens, for t = LooseSimilarity,
// the lowest similarity at which a tweet may join a group.
func (c *coordinator) prefix(tokens []uint64, weights []float32, info float32) []uint64 {
	if c.weigh {
		return c.weightedPrefix(tokens, weights, info)
	}
	n := len(tokens)
	p := max(min(n-int(math.Ceil(c.cfg.LooseSimilarity*float64(n)-1e-9))+1, n), 0)
	if c.df != nil {
		// Any one order of all tokens makes prefix filtering exact; the
		// rarest first keeps an hour's posting lists short (the weights
		// drift slowly, so nearly exact, as weightedPrefix).
		return c.rarestFirst(tokens, weights)[:p]
	}
	return tokens[:p]
}

// observe adds one tweet (signature already computed) and returns an alert
// when the tweet brings its group to K distinct accounts within the window.
// watermark is the engine's event-time watermark, used to expire groups.
func (c *coordinator) observe(t *coordTweet, watermark time.Time) *event.Alert {
	if len(t.tokens) < c.cfg.MinTokens || c.df != nil && float64(t.info) < c.minRare*c.df.rareWeight() {
		return nil
	}
	c.maybeSweep(watermark)
	g, strict := c.match(t)
	if g == nil {
		strict = true
		g = c.newGroup(t)
		c.groups++
		c.index(g, t.tokens, t.weights, t.info)
		c.inserts++
	}
	if g.has(t.id) {
		return nil // a redelivered tweet: already counted
	}
	m := member{id: t.id, user: t.user, text: t.text, at: t.at}
	switch {
	case len(g.members) == 0:
		m.tokens = g.reps[0] // the seed: share its copy
	case len(g.members) < maxRepCandidates:
		m.tokens = c.copyTokens(t.tokens)
	}
	g.add(m)
	if strict && g.vocabSources < maxRepCandidates {
		if g.vocabSources > 0 {
			g.vocab = union(g.vocabulary(), t.tokens)
		}
		g.vocabSources++
	}
	if n := len(g.members); (n == 3 || n == 6) && len(g.reps) < maxReps {
		c.addMedoid(g)
	}
	if ns := t.at.UnixNano(); ns > g.lastNs {
		g.lastNs = ns
	}
	if len(g.members) > maxGroupMembers && len(g.members)%64 == 0 { // amortised
		g.trim(c.cfg.Window)
	}
	if g.alerted {
		return nil
	}
	return c.check(g, t.at)
}

// index adds g to the postings of the prefix tokens of one of its
// representatives.
func (c *coordinator) index(g *group, tokens []uint64, weights []float32, info float32) {
	for _, k := range c.prefix(tokens, weights, info) {
		c.postings.add(k, g)
	}
}

// addMedoid makes the member most similar to the others (among those with
// tokens) a representative, unless it already is one.
func (c *coordinator) addMedoid(g *group) {
	best, bestSum := -1, -1.0
	for i, a := range g.members {
		if a.tokens == nil {
			continue
		}
		sum := 0.0
		for j, b := range g.members {
			if i != j && b.tokens != nil {
				sum += jaccard(a.tokens, b.tokens)
			}
		}
		if sum > bestSum {
			best, bestSum = i, sum
		}
	}
	if best < 0 {
		return
	}
	m := g.members[best]
	for _, r := range g.reps {
		if slices.Equal(r, m.tokens) {
			return
		}
	}
	g.reps = append(g.reps, m.tokens)
	var w []float32
	var info float32
	if c.df != nil {
		c.wscr, info = c.df.weights(c.wscr[:0], m.tokens)
		w = c.wscr
		g.repInfo[len(g.reps)-1] = info
	}
	c.index(g, m.tokens, w, info)
}

// match returns the live group t joins, or nil. It prefers the group with
// a representative most similar to t (at least cfg.Similarity: a strict
// match). Failing that, t joins loosely a group whose vocabulary holds at
// least cfg.Containment of t's tokens while one representative is still at
// least cfg.LooseSimilarity similar: that is a copy whose words were swapped
// for words other copies used. Loose members do not add to the vocabulary,
// so a group cannot drift away from its strict core.
func (c *coordinator) match(t *coordTweet) (g *group, strict bool) {
	var best, loose *group
	bestSim, looseScore := c.cfg.Similarity, 0.0
	atNs := t.at.UnixNano()
	entries := c.postings.entries
	// A group indexed under several of t's prefix tokens is met once per
	// token; comparing it again cannot change the outcome, so the group
	// remembers the probe that compared it.
	c.probes++
	for _, k := range c.prefix(t.tokens, t.weights, t.info) {
		for i, n := c.postings.head(k), 0; i != 0 && n < maxPosting; i, n = entries[i].next, n+1 {
			g := entries[i].g
			if g.probe == c.probes || !c.live(g, atNs) {
				continue
			}
			g.probe = c.probes
			// Below lo a representative's similarity decides nothing: t
			// then needs bestSim to replace best, or LooseSimilarity
			// to join loosely (at least minSim either way).
			lo := c.minSim
			if best != nil {
				lo = bestSim
			}
			repSim := 0.0
			for ri, r := range g.reps {
				if c.weigh {
					repSim = max(repSim, c.weightedSim(r, g.repInfo[ri], t))
					continue
				}
				// Jaccard is at most the ratio of the sizes: a
				// representative too short or too long to reach minSim
				// cannot change the outcome, so skip the merge.
				// (Computed as jaccard would be at best, so the skip is exact.)
				if lo, hi := min(len(r), len(t.tokens)), max(len(r), len(t.tokens)); float64(lo)/float64(hi) < c.minSim {
					continue
				}
				repSim = max(repSim, jaccardAtLeast(r, t.tokens, max(lo, repSim)))
			}
			if repSim >= bestSim {
				best, bestSim = g, repSim
				continue
			}
			if best != nil || repSim < c.cfg.LooseSimilarity || g == loose {
				continue
			}
			var score float64
			if c.weigh {
				score = float64(weightedIntersection(g.vocabulary(), t.tokens, t.weights) / t.info)
			} else {
				score = float64(intersection(t.tokens, g.vocabulary())) / float64(len(t.tokens))
			}
			if score >= c.cfg.Containment && score > looseScore {
				loose, looseScore = g, score
			}
		}
	}
	if best != nil {
		return best, true
	}
	return loose, false
}

// live reports whether g can still take a tweet at time at: its last member
// is within one window of at (before or after, for out-of-order tweets).
func (c *coordinator) live(g *group, atNs int64) bool {
	d, w := atNs-g.lastNs, int64(c.cfg.Window)
	return d <= w && d >= -w
}

// check looks for a span of at most Window within one window of at (the
// new tweet's time) holding members from at least K distinct accounts, and
// if found returns the alert for it. Only members after the quiet time of
// every alert of another window that named one of the group's tweets
// count (see named).
func (c *coordinator) check(g *group, at time.Time) *event.Alert {
	if len(g.members) < c.cfg.K {
		return nil // fewer tweets than K cannot be K accounts (most groups have one)
	}
	if g.accounts() < c.cfg.K {
		return nil
	}
	quiet := int64(math.MinInt64)
	if c.named != nil {
		for _, m := range g.members {
			if q, ok := c.named(m.id); ok {
				quiet = max(quiet, q)
			}
		}
	}
	users := map[string]int{}
	w := c.cfg.Window
	ms := slices.DeleteFunc(slices.Clone(g.members), func(m member) bool {
		d := m.at.Sub(at)
		// The span must be one the new tweet can be in.
		return d > w || d < -w || m.at.UnixNano() <= quiet
	})
	if len(ms) < c.cfg.K {
		return nil
	}
	slices.SortStableFunc(ms, func(a, b member) int { return a.at.Compare(b.at) })
	lo := 0
	for hi, m := range ms {
		users[m.user]++
		for ms[hi].at.Sub(ms[lo].at) > c.cfg.Window {
			if users[ms[lo].user]--; users[ms[lo].user] == 0 {
				delete(users, ms[lo].user)
			}
			lo++
		}
		if len(users) >= c.cfg.K {
			g.alerted = true
			return c.alert(g, ms[lo:hi+1], len(users))
		}
	}
	return nil
}

func (c *coordinator) alert(g *group, span []member, accounts int) *event.Alert {
	a := &event.Alert{
		ID:          c.alertID(span[0].at, g.seedID),
		Kind:        event.AlertCoordination,
		Metric:      MetricSimilarTexts,
		WindowStart: span[0].at,
		WindowEnd:   span[len(span)-1].at,
		Observed:    float64(accounts),
		Expected:    float64(c.cfg.K),
		Bound:       float64(c.cfg.K),
		Direction:   "above",
		Count:       len(span),
	}
	seenUser, seenText := map[string]bool{}, map[string]bool{}
	for _, m := range span {
		if !seenUser[m.user] && len(a.Accounts) < maxAlertAccounts {
			seenUser[m.user] = true
			a.Accounts = append(a.Accounts, m.user)
		}
		if len(a.TweetIDs) < maxAlertAccounts {
			a.TweetIDs = append(a.TweetIDs, m.id)
		}
		if !seenText[m.text] && len(a.Texts) < maxAlertTexts {
			seenText[m.text] = true
			a.Texts = append(a.Texts, m.text)
		}
	}
	a.Message = fmt.Sprintf("%d near-identical tweets by %d accounts within %s: %q",
		len(span), accounts, a.WindowEnd.Sub(a.WindowStart).Round(time.Second), clip(g.seedText, 80))
	return a
}

func (c *coordinator) alertID(start time.Time, seed string) string {
	if c.idPart == "" {
		return event.AlertID(event.AlertCoordination, MetricSimilarTexts, start, seed)
	}
	return event.AlertID(event.AlertCoordination, MetricSimilarTexts, start, seed, c.idPart)
}

// maybeSweep drops groups that can no longer take tweets, so memory follows
// the window, not the stream. It runs every few hundred new groups, which
// keeps its cost per tweet constant.
func (c *coordinator) maybeSweep(watermark time.Time) {
	if c.inserts < 512 || c.inserts < c.groups/4 {
		return
	}
	c.inserts = 0
	c.epoch++
	c.groups, c.free = c.postings.sweep(watermark.Add(-c.cfg.Window).UnixNano(), c.epoch, c.free)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
