package alerts

import (
	"fmt"
	"slices"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// LSH layout: numBands bands of bandRows MinHash values each. A pair of
// texts with Jaccard similarity s shares at least one band with probability
// 1-(1-s^2)^12: 0.9997 at s=0.7, 0.995 at s=0.6, 0.11 at s=0.1. The band only
// proposes candidates; the exact Jaccard of the token sets decides.
const (
	bandRows = 2
	numBands = 12
	numHash  = bandRows * numBands
)

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
	bands          [numBands]uint64
}

// member is one tweet of a group.
type member struct {
	id, user, text string
	at             time.Time
}

// group is a set of tweets similar to its seed (the first tweet that started
// it). Members are compared with the seed only, never with each other, so
// groups cannot chain ("a b c" ~ "b c d" ~ "c d e" ...) into one.
type group struct {
	seed     coordTweet
	members  []member
	lastSeen time.Time
	alerted  bool
}

// trim keeps the members of a long-lived group (a text reposted all day)
// that are within one window of its newest: older ones can no longer be in a
// span with a new tweet.
func (g *group) trim(window time.Duration) {
	horizon := g.lastSeen.Add(-window)
	g.members = slices.DeleteFunc(g.members, func(m member) bool { return m.at.Before(horizon) })
}

// coordinator finds groups of near-identical texts posted by at least K
// distinct accounts within Window of event time.
type coordinator struct {
	cfg     CoordinationConfig
	buckets map[uint64][]*group // band key -> groups whose seed has that band
	groups  int                 // live groups, for stats
	// inserts counts seeds since the last sweep of expired groups.
	inserts int
}

func newCoordinator(cfg CoordinationConfig) *coordinator {
	return &coordinator{cfg: cfg, buckets: map[uint64][]*group{}}
}

// bands fills t.bands from t.tokens: the MinHash signature cut into LSH
// bands. It touches no shared state, so the engine runs it outside its lock.
func bands(t *coordTweet) {
	if len(t.tokens) == 0 {
		return
	}
	// numHash hash functions: mix64 of the token xor a per-function seed.
	var mins, seeds [numHash]uint64
	for i := range mins {
		mins[i] = ^uint64(0)
		seeds[i] = mix64(uint64(i+1) * 0x9e3779b97f4a7c15)
	}
	for _, tok := range t.tokens {
		for i := range mins {
			if h := mix64(tok ^ seeds[i]); h < mins[i] {
				mins[i] = h
			}
		}
	}
	for b := range t.bands {
		k := uint64(b+1) * 0x9e3779b97f4a7c15
		for r := range bandRows {
			k = mix64(k ^ mins[b*bandRows+r])
		}
		t.bands[b] = k
	}
}

// mix64 is the splitmix64 finalizer: a cheap, well-distributed 64-bit mix.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// observe adds one tweet (signature already computed) and returns an alert
// when the tweet brings its group to K distinct accounts within the window.
// watermark is the engine's event-time watermark, used to expire groups.
func (c *coordinator) observe(t *coordTweet, watermark time.Time) *event.Alert {
	if len(t.tokens) < c.cfg.MinTokens {
		return nil
	}
	c.maybeSweep(watermark)
	g := c.match(t)
	if g == nil {
		g = &group{seed: *t, lastSeen: t.at}
		g.seed.tokens = slices.Clone(t.tokens)
		c.groups++
		for _, k := range t.bands {
			c.buckets[k] = append(c.buckets[k], g)
		}
		c.inserts++
	}
	for _, m := range g.members {
		if m.id == t.id {
			return nil // a redelivered tweet: already counted
		}
	}
	g.members = append(g.members, member{id: t.id, user: t.user, text: t.text, at: t.at})
	if t.at.After(g.lastSeen) {
		g.lastSeen = t.at
	}
	if len(g.members) > maxGroupMembers && len(g.members)%64 == 0 { // amortised
		g.trim(c.cfg.Window)
	}
	if g.alerted {
		return nil
	}
	return c.check(g)
}

// match returns the live group whose seed is most similar to t (at least
// cfg.Similarity), or nil.
func (c *coordinator) match(t *coordTweet) *group {
	var best *group
	bestSim := c.cfg.Similarity
	for _, k := range t.bands {
		for _, g := range c.buckets[k] {
			if g == best || !c.live(g, t.at) {
				continue
			}
			if sim := jaccard(g.seed.tokens, t.tokens); sim >= bestSim {
				best, bestSim = g, sim
			}
		}
	}
	return best
}

// live reports whether g can still take a tweet at time at: its last member
// is within one window of at (before or after, for out-of-order tweets).
func (c *coordinator) live(g *group, at time.Time) bool {
	d := at.Sub(g.lastSeen)
	return d <= c.cfg.Window && d >= -c.cfg.Window
}

// check looks for a span of at most Window holding members from at least K
// distinct accounts, and if found returns the alert for it.
func (c *coordinator) check(g *group) *event.Alert {
	users := map[string]int{}
	for _, m := range g.members {
		users[m.user]++
	}
	if len(users) < c.cfg.K {
		return nil
	}
	ms := slices.Clone(g.members)
	slices.SortStableFunc(ms, func(a, b member) int { return a.at.Compare(b.at) })
	clear(users)
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
		ID:          event.AlertID(event.AlertCoordination, MetricSimilarTexts, span[0].at, g.seed.id),
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
		len(span), accounts, a.WindowEnd.Sub(a.WindowStart).Round(time.Second), clip(g.seed.text, 80))
	return a
}

// maybeSweep drops groups that can no longer take tweets, so memory follows
// the window, not the stream. It runs every few hundred new groups, which
// keeps its cost per tweet constant.
func (c *coordinator) maybeSweep(watermark time.Time) {
	if c.inserts < 512 || c.inserts < c.groups/4 {
		return
	}
	c.inserts = 0
	horizon := watermark.Add(-c.cfg.Window)
	for k, gs := range c.buckets {
		kept := gs[:0]
		for _, g := range gs {
			if !g.lastSeen.Before(horizon) {
				kept = append(kept, g)
			}
		}
		if len(kept) == 0 {
			delete(c.buckets, k)
			continue
		}
		clear(gs[len(kept):]) // let dropped groups be collected
		c.buckets[k] = kept
	}
	// Recount live groups: each is in numBands buckets (or fewer when two of
	// its bands collide), so count distinct pointers.
	live := map[*group]struct{}{}
	for _, gs := range c.buckets {
		for _, g := range gs {
			live[g] = struct{}{}
		}
	}
	c.groups = len(live)
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
