package campaign

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// Pattern is a kind of planted campaign, as analysts describe them (issue
// #11's targets).
type Pattern string

const (
	// Burst: 5-12 accounts post 1-2 near-copies each within 15-50 s.
	Burst Pattern = "burst"
	// Drip: 8-12 accounts post one near-copy each over 10-60 minutes.
	Drip Pattern = "slow-drip"
	// SixIn5m: 6 accounts, one near-copy each, over 5 minutes.
	SixIn5m Pattern = "6-in-5m"
	// TwelveIn10m: 12 accounts, one near-copy each, over 10 minutes.
	TwelveIn10m Pattern = "12-in-10m"
	// Ring: 4-8 accounts retweet the same organic tweet within a minute of
	// each other, for 5-8 different tweets over one to a few hours.
	Ring Pattern = "retweet-ring"
	// ViralRing: a retweet ring on tweets that are viral anyway (at least
	// 50 organic retweets): the ring hides among the cascade's strangers,
	// so a detector cannot simply leave popular tweets out.
	ViralRing Pattern = "viral-ring"
	// LinkPush: 6-10 accounts post one URL (written in different ways)
	// with different texts within 10 minutes, for 3-5 URLs.
	LinkPush Pattern = "link-push"
	// ReplySwarm: 6-10 accounts reply to the same organic tweet within 2
	// minutes, with different texts, on 3-5 targets.
	ReplySwarm Pattern = "reply-swarm"
)

// Patterns lists every pattern, in report order.
func Patterns() []Pattern {
	return []Pattern{Burst, Drip, SixIn5m, TwelveIn10m, Ring, ViralRing, LinkPush, ReplySwarm}
}

// ParsePattern returns the pattern named s.
func ParsePattern(s string) (Pattern, error) {
	if slices.Contains(Patterns(), Pattern(s)) {
		return Pattern(s), nil
	}
	return "", fmt.Errorf("campaign pattern %q is not one of %v", s, Patterns())
}

// DefaultPlant is 10 campaigns of each pattern, 20 of the two fixed-size
// drips (as issue #11 measured them).
func DefaultPlant() map[Pattern]int {
	m := map[Pattern]int{}
	for _, p := range Patterns() {
		m[p] = 10
	}
	m[SixIn5m], m[TwelveIn10m] = 20, 20
	return m
}

// plantIDBase is where planted tweet ids start (organic ones are below).
const plantIDBase = 9_000_000_000_000

type planter struct {
	rng     *rand.Rand
	org     Organic
	viral   []int // indexes into org.Tweets of originals with >= viralRetweets retweets, in time order
	start   time.Time
	span    time.Duration
	vocab   vocabulary
	out     []event.Tweet
	truth   []Campaign
	nextID  int
	nextAcc int
	handles map[string]bool
}

// Plant adds counts[p] campaigns of each pattern p to org, at evenly
// spread (jittered) start times over [start, start+span), and returns the
// merged stream in time order with the ground truth. org is not modified.
func Plant(org Organic, start time.Time, span time.Duration, counts map[Pattern]int, seed uint64) ([]event.Tweet, Truth, error) {
	return PlantWith(org, start, span, counts, seed, BenchTemplates)
}

// PlantWith is Plant with the campaigns' messages made from templates.
func PlantWith(org Organic, start time.Time, span time.Duration, counts map[Pattern]int, seed uint64, templates Templates) ([]event.Tweet, Truth, error) {
	var plan []Pattern
	for _, p := range Patterns() {
		if counts[p] < 0 {
			return nil, Truth{}, fmt.Errorf("plant: %s: %d campaigns", p, counts[p])
		}
		for range counts[p] {
			plan = append(plan, p)
		}
	}
	if len(org.Originals) == 0 && len(plan) > 0 {
		return nil, Truth{}, fmt.Errorf("plant: no organic originals to plant into")
	}
	if span < 2*time.Hour && len(plan) > 0 {
		return nil, Truth{}, fmt.Errorf("plant: span %s: campaigns need at least 2h of organic data", span)
	}
	pl := &planter{rng: rand.New(rand.NewPCG(seed, 0x706c616e74)), org: org, start: start, span: span,
		vocab: templates.vocabulary(), handles: map[string]bool{}}
	pl.viral = viralOriginals(org)
	if counts[ViralRing] > 0 && len(pl.viral) == 0 {
		return nil, Truth{}, fmt.Errorf("plant: %s: no organic tweet has %d retweets", ViralRing, viralRetweets)
	}
	pl.rng.Shuffle(len(plan), func(i, j int) { plan[i], plan[j] = plan[j], plan[i] })
	// Start slots over the first 80%: the longest patterns need the rest.
	slot := time.Duration(float64(span) * 0.8 / float64(max(1, len(plan))))
	for i, p := range plan {
		at := start.Add(span/20 + time.Duration(i)*slot + time.Duration(pl.rng.Float64()*float64(slot)))
		c := Campaign{ID: i + 1, Pattern: p, Kind: "negative"}
		if c.ID%2 == 0 {
			c.Kind = "offensive"
		}
		pl.plant(&c, at)
		slices.SortFunc(pl.out[len(pl.out)-len(c.TweetIDs):], func(a, b event.Tweet) int { return a.CreatedAt.Compare(b.CreatedAt) })
		c.Start = pl.out[len(pl.out)-len(c.TweetIDs)].CreatedAt
		c.End = pl.out[len(pl.out)-1].CreatedAt
		pl.truth = append(pl.truth, c)
	}
	merged := make([]event.Tweet, 0, len(org.Tweets)+len(pl.out))
	merged = append(append(merged, org.Tweets...), pl.out...)
	slices.SortStableFunc(merged, func(a, b event.Tweet) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return merged, Truth{OrganicRows: len(org.Tweets), InjectedRows: len(pl.out), Campaigns: pl.truth}, nil
}

func (pl *planter) plant(c *Campaign, at time.Time) {
	rng := pl.rng
	switch c.Pattern {
	case Burst:
		pl.copies(c, at, 5+rng.IntN(8), 2, time.Duration((0.3+0.7*rng.Float64())*float64(50*time.Second)))
	case Drip:
		pl.copies(c, at, 8+rng.IntN(5), 1, time.Duration((10+50*rng.Float64())*float64(time.Minute)))
	case SixIn5m:
		pl.copies(c, at, 6, 1, 5*time.Minute)
	case TwelveIn10m:
		pl.copies(c, at, 12, 1, 10*time.Minute)
	case Ring:
		pl.repeated(c, at, 4+rng.IntN(5), 5+rng.IntN(4), 12*time.Minute, 45*time.Minute, 50*time.Second, pl.ringStep)
	case ViralRing:
		pl.repeated(c, at, 4+rng.IntN(5), 5+rng.IntN(4), 12*time.Minute, 45*time.Minute, 50*time.Second, pl.viralStep)
	case LinkPush:
		pl.repeated(c, at, 6+rng.IntN(5), 3+rng.IntN(3), 15*time.Minute, 60*time.Minute, 9*time.Minute, pl.linkStep)
	case ReplySwarm:
		pl.repeated(c, at, 6+rng.IntN(5), 3+rng.IntN(3), 15*time.Minute, 60*time.Minute, 110*time.Second, pl.replyStep)
	}
}

// account makes a fresh campaign account.
func (pl *planter) account(c *Campaign) account {
	h := pl.vocab.handle(pl.rng)
	for pl.handles[h] {
		h += strconv.Itoa(pl.rng.IntN(10))
	}
	pl.handles[h] = true
	pl.nextAcc++
	a := account{id: strconv.Itoa(800_000_000 + pl.nextAcc), handle: h}
	c.Accounts = append(c.Accounts, a.handle)
	c.AccountIDs = append(c.AccountIDs, a.id)
	return a
}

func (pl *planter) emit(c *Campaign, t event.Tweet) {
	pl.nextID++
	t.ID = strconv.Itoa(plantIDBase + pl.nextID)
	t.CreatedAt = t.CreatedAt.Truncate(time.Millisecond)
	c.TweetIDs = append(c.TweetIDs, t.ID)
	pl.out = append(pl.out, t)
}

// copies: k accounts post up to maxPosts paraphrases each of one message,
// first at begin, last at begin+span, the rest at random in between.
func (pl *planter) copies(c *Campaign, begin time.Time, k, maxPosts int, span time.Duration) {
	c.Message = pl.vocab.message(pl.rng, c.Kind)
	var posts []event.Tweet
	for range k {
		a := pl.account(c)
		for range 1 + pl.rng.IntN(maxPosts) {
			text := pl.vocab.paraphrase(pl.rng, c.Message)
			posts = append(posts, event.Tweet{UserID: a.id, User: a.handle, Text: text, URLs: linksIn(text)})
		}
	}
	for i := range posts {
		off := time.Duration(pl.rng.Int64N(int64(span)))
		switch i {
		case 0:
			off = 0
		case len(posts) - 1:
			off = span
		}
		posts[i].CreatedAt = begin.Add(off)
		pl.emit(c, posts[i])
	}
}

// repeated: k accounts act together steps times, gaps apart (uniform in
// [minGap, maxGap], squeezed to end before the organic data does); each
// account acts once per step within within of the step's start.
func (pl *planter) repeated(c *Campaign, begin time.Time, k, steps int, minGap, maxGap, within time.Duration,
	step func(c *Campaign, accts []account, at time.Time, within time.Duration)) {
	var accts []account
	for range k {
		accts = append(accts, pl.account(c))
	}
	defer func() { c.Message = fmt.Sprintf("%d accounts on %s", k, strings.Join(c.Targets, ", ")) }()
	end := pl.start.Add(pl.span - within - time.Minute)
	room := end.Sub(begin) / time.Duration(steps)
	at := begin
	for range steps {
		step(c, accts, at, within)
		gap := minGap + time.Duration(pl.rng.Float64()*float64(maxGap-minGap))
		at = at.Add(min(gap, room))
	}
}

// offsets returns n times within within of at, the first at at.
func (pl *planter) offsets(n int, at time.Time, within time.Duration) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = at
		if i > 0 {
			out[i] = at.Add(time.Duration(pl.rng.Int64N(int64(within))))
		}
	}
	return out
}

// recentOriginal picks an organic original posted within the hour before
// at (any earlier one when none is): rings and swarms act on fresh tweets.
func (pl *planter) recentOriginal(at time.Time) event.Tweet {
	tw, idx := pl.org.Tweets, pl.org.Originals
	hi := sort.Search(len(idx), func(i int) bool { return !tw[idx[i]].CreatedAt.Before(at) })
	lo := sort.Search(len(idx), func(i int) bool { return !tw[idx[i]].CreatedAt.Before(at.Add(-time.Hour)) })
	if hi == 0 {
		return tw[idx[0]]
	}
	if lo >= hi {
		lo = 0
	}
	return tw[idx[lo+pl.rng.IntN(hi-lo)]]
}

// viralRetweets is how many organic retweets make a tweet viral.
const viralRetweets = 50

func viralOriginals(org Organic) []int {
	n := map[string]int{}
	for _, t := range org.Tweets {
		if t.RetweetOf != "" {
			n[t.RetweetOf]++
		}
	}
	var out []int
	for _, i := range org.Originals {
		if n[org.Tweets[i].ID] >= viralRetweets {
			out = append(out, i)
		}
	}
	return out
}

func (pl *planter) ringStep(c *Campaign, accts []account, at time.Time, within time.Duration) {
	pl.retweetAll(c, accts, pl.recentOriginal(at), at, within)
}

// viralStep retweets a viral original the campaign has not retweeted yet:
// one of the five latest posted before at (its cascade is likely still
// going), else the next one after at.
func (pl *planter) viralStep(c *Campaign, accts []account, at time.Time, within time.Duration) {
	tw := pl.org.Tweets
	hi := sort.Search(len(pl.viral), func(i int) bool { return !tw[pl.viral[i]].CreatedAt.Before(at) })
	var cands []int
	for i := hi - 1; i >= 0 && len(cands) < 5; i-- {
		if !slices.Contains(c.Targets, tw[pl.viral[i]].ID) {
			cands = append(cands, pl.viral[i])
		}
	}
	for i := hi; i < len(pl.viral) && len(cands) == 0; i++ {
		if !slices.Contains(c.Targets, tw[pl.viral[i]].ID) {
			cands = append(cands, pl.viral[i])
		}
	}
	if len(cands) == 0 { // fewer viral tweets than steps: repeat one
		cands = pl.viral
	}
	pl.retweetAll(c, accts, tw[cands[pl.rng.IntN(len(cands))]], at, within)
}

// notBefore is at, or a minute after src when src comes later: a
// reaction cannot precede its tweet.
func notBefore(src event.Tweet, at time.Time) time.Time {
	if src.CreatedAt.Before(at) {
		return at
	}
	return src.CreatedAt.Add(time.Minute)
}

func (pl *planter) retweetAll(c *Campaign, accts []account, src event.Tweet, at time.Time, within time.Duration) {
	at = notBefore(src, at)
	c.Targets = append(c.Targets, src.ID)
	for i, t := range pl.offsets(len(accts), at, within) {
		pl.emit(c, event.Tweet{UserID: accts[i].id, User: accts[i].handle, Text: src.Text, CreatedAt: t,
			RetweetOf: src.ID, URLs: src.URLs, Hashtags: src.Hashtags, Mentions: src.Mentions})
	}
}

var pushSites = []string{"patriot-truth-daily.com", "realnews24.net", "the-hidden-facts.org", "freedomwire.info"}

func (pl *planter) linkStep(c *Campaign, accts []account, at time.Time, within time.Duration) {
	url := fmt.Sprintf("%s/%d/%s-%x", pushSites[pl.rng.IntN(len(pushSites))], 2021+pl.rng.IntN(3),
		strings.ReplaceAll(pick(pl.rng, pl.vocab.targets), " ", "-"), pl.rng.Uint32())
	c.Targets = append(c.Targets, "https://"+url)
	for i, t := range pl.offsets(len(accts), at, within) {
		// The same URL written as people and tools write it: scheme,
		// www., a trailing slash, tracking parameters.
		u := url
		if pl.rng.IntN(2) == 0 {
			u = "www." + u
		}
		u = pick(pl.rng, []string{"https://", "http://"}) + u
		switch pl.rng.IntN(4) {
		case 0:
			u += "/"
		case 1:
			u += fmt.Sprintf("?utm_source=tw%d&utm_campaign=share", pl.rng.IntN(100))
		}
		text := pl.vocab.message(pl.rng, c.Kind) + " " + u
		pl.emit(c, event.Tweet{UserID: accts[i].id, User: accts[i].handle, Text: text, CreatedAt: t, URLs: []string{u}})
	}
}

func (pl *planter) replyStep(c *Campaign, accts []account, at time.Time, within time.Duration) {
	src := pl.recentOriginal(at)
	at = notBefore(src, at)
	c.Targets = append(c.Targets, src.ID)
	for i, t := range pl.offsets(len(accts), at, within) {
		text := "@" + src.User + " " + pl.vocab.message(pl.rng, c.Kind)
		pl.emit(c, event.Tweet{UserID: accts[i].id, User: accts[i].handle, Text: text, CreatedAt: t,
			ReplyTo: src.ID, ConversationID: src.ID, Mentions: []string{src.User}})
	}
}

// linksIn returns the http(s) words of text (a paraphrase may add one).
func linksIn(text string) []string {
	var out []string
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
			out = append(out, w)
		}
	}
	return out
}
