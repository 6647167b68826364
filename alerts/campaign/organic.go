package campaign

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// Shape is what an organic collection looks like: shares of tweet kinds,
// how popularity is spread (discrete power laws, P(x) ~ x^-alpha for x >= 1)
// and how long after a tweet its retweets and replies come (log-normal).
//
// MeasuredShape's values come from the real twarc2 files of
// shared/data/twitter (331 distinct tweets: noflat.jsonl, withheld.jsonl,
// flat.jsonl and the single-tweet files), not from the detector: nothing
// here was changed after looking at an alert.
type Shape struct {
	// RetweetShare and ReplyShare are shares of all tweets; the rest are
	// original posts.
	RetweetShare, ReplyShare float64
	// LinkShare is the share of non-retweets carrying a link, and
	// StatusLinkShare the share of those links that point to a tweet
	// (twitter.com/<user>/status/<id>: quotes, "look at this").
	LinkShare, StatusLinkShare float64
	// CascadeAlpha: retweets per retweeted tweet; ReplyAlpha: replies per
	// replied-to tweet; LinkAlpha: posts per shared URL; ActivityAlpha:
	// tweets per account (capped at MaxActivity times the least active).
	CascadeAlpha, ReplyAlpha, LinkAlpha, ActivityAlpha float64
	MaxActivity                                        float64
	// RetweetDelay and ReplyDelay are ln(seconds) after the source tweet.
	RetweetDelay, ReplyDelay LogNormal
	// MaxCascade caps one tweet's retweets (and replies, and one URL's
	// posts).
	MaxCascade int
}

// LogNormal is a distribution of ln(x): mean Mu, standard deviation Sigma.
type LogNormal struct{ Mu, Sigma float64 }

func (l LogNormal) draw(rng *rand.Rand) float64 { return math.Exp(l.Mu + l.Sigma*rng.NormFloat64()) }

// MeasuredShape is the shape of shared/data/twitter's real tweets:
//   - 132 of 331 tweets are retweets (0.40), 98 replies (0.30);
//   - 76 of 199 non-retweets carry a link (0.38), 45 of 85 links are
//     twitter.com links;
//   - retweets per retweeted tweet: 81x1, 7x2, 3x3, 3x4, 1x6, 1x10; replies
//     per target 90x1, 4x2; posts per URL 82x1, 3x2; tweets per author
//     (the one 100-tweet user timeline left out) 205x1, 10x2, 2x3. Their
//     power-law exponents, by the continuous approximation of Clauset et
//     al. (2009, x_min 1): 2.16, 2.38, 2.39, 2.36. The exact discrete MLE
//     gives lighter tails (2.97 for retweets, 4 or more for the others,
//     nearly all singletons), but 331 tweets thin every cascade, and
//     collections show viral pile-ons the files cannot: the heavier tails
//     are used, the harder case for a detector (more organic co-actions);
//   - delay of a retweet after its source (92 pairs with both times): ln
//     seconds mean 9.15, sd 2.22 (median 2.6 h, 1% within a minute); of a
//     reply (72 pairs): 8.44, 2.47.
//
// Assumptions that the files are too small to measure: an account's
// activity is capped at 200 times the least active one's, and one tweet's
// cascade at 5,000 retweets.
func MeasuredShape() Shape {
	return Shape{
		RetweetShare: 0.40, ReplyShare: 0.30,
		LinkShare: 0.38, StatusLinkShare: 0.53,
		CascadeAlpha: 2.16, ReplyAlpha: 2.38, LinkAlpha: 2.39, ActivityAlpha: 2.36,
		MaxActivity:  200,
		RetweetDelay: LogNormal{9.15, 2.22}, ReplyDelay: LogNormal{8.44, 2.47},
		MaxCascade: 5000,
	}
}

// Check validates a shape; errors name the field.
func (s Shape) Check() error {
	switch {
	case s.RetweetShare < 0 || s.ReplyShare < 0 || s.RetweetShare+s.ReplyShare >= 1:
		return fmt.Errorf("shape: retweet share %v + reply share %v must leave room for originals", s.RetweetShare, s.ReplyShare)
	case s.LinkShare < 0 || s.LinkShare > 1 || s.StatusLinkShare < 0 || s.StatusLinkShare > 1:
		return fmt.Errorf("shape: link shares %v, %v are not in [0, 1]", s.LinkShare, s.StatusLinkShare)
	case s.CascadeAlpha <= 1 || s.ReplyAlpha <= 1 || s.LinkAlpha <= 1 || s.ActivityAlpha <= 1:
		return fmt.Errorf("shape: power-law exponents must be > 1")
	case s.MaxActivity < 1 || s.MaxCascade < 1:
		return fmt.Errorf("shape: max activity %v, max cascade %d < 1", s.MaxActivity, s.MaxCascade)
	}
	return nil
}

// powerLaw is a discrete power law on 1..max: P(x) ~ x^-alpha, drawn by
// inverting its cumulative distribution.
type powerLaw []float64

func newPowerLaw(alpha float64, max int) powerLaw {
	cum := make(powerLaw, max)
	total := 0.0
	for x := 1; x <= max; x++ {
		total += math.Pow(float64(x), -alpha)
		cum[x-1] = total
	}
	for i := range cum {
		cum[i] /= total
	}
	return cum
}

func (p powerLaw) draw(rng *rand.Rand) int {
	return min(sort.SearchFloat64s(p, rng.Float64()), len(p)-1) + 1
}

// OrganicConfig says how much organic data to make.
type OrganicConfig struct {
	Tweets int
	// Start and Span: tweets fall in [Start, Start+Span).
	Start time.Time
	Span  time.Duration
	Shape Shape
	Seed  uint64
	// Texts and Handles are real tweets' texts and account names to draw
	// from (the sentiment140 sample's); handles are made unique.
	Texts, Handles []string
}

// Organic is a synthetic organic collection, sorted by time.
type Organic struct {
	Tweets []event.Tweet
	// Originals indexes the original posts (not retweets, not replies) in
	// Tweets, for campaigns that retweet or reply to organic tweets.
	Originals []int
	// Largest is the biggest retweet cascade made (retweets of one tweet).
	Largest int
}

type account struct{ id, handle string }

// organicIDBase is where organic tweet ids start; campaign ids start at
// plantIDBase, far above.
const organicIDBase = 1_000_000_000_000

// MakeOrganic builds organic tweets shaped like cfg.Shape: original posts
// at uniform times (some with links: news articles shared by several
// accounts around their publication, or links to tweets), retweet
// cascades of original posts (power-law sizes, log-normal delays: a viral
// post is retweeted by many strangers within minutes), and replies.
// Retweets carry their source's text and links, as event.Tweet defines.
func MakeOrganic(cfg OrganicConfig) (Organic, error) {
	sh := cfg.Shape
	if err := sh.Check(); err != nil {
		return Organic{}, err
	}
	if cfg.Tweets < 10 || cfg.Span < time.Minute || len(cfg.Texts) == 0 || len(cfg.Handles) == 0 {
		return Organic{}, fmt.Errorf("organic: need at least 10 tweets (%d), a span of a minute (%s), texts (%d) and handles (%d)",
			cfg.Tweets, cfg.Span, len(cfg.Texts), len(cfg.Handles))
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6f7267616e6963))
	g := organicGen{cfg: cfg, rng: rng, links: newPowerLaw(sh.LinkAlpha, sh.MaxCascade)}
	g.accounts()
	nRT := int(sh.RetweetShare * float64(cfg.Tweets))
	nReply := int(sh.ReplyShare * float64(cfg.Tweets))
	nOrig := cfg.Tweets - nRT - nReply
	g.originals(nOrig)
	g.cascades(nRT)
	g.replies(nReply)
	out := g.finish()
	return out, nil
}

type organicGen struct {
	cfg    OrganicConfig
	rng    *rand.Rand
	accts  []account
	cum    []float64 // cumulative activity weights
	tweets []event.Tweet
	nOrig  int // tweets[:nOrig] are the originals while building
	big    int
	links  powerLaw
}

func (g *organicGen) accounts() {
	n := max(10, g.cfg.Tweets/3)
	seen := map[string]int{}
	total := 0.0
	for i := range n {
		h := g.cfg.Handles[i%len(g.cfg.Handles)]
		if c := seen[h]; c > 0 {
			h = fmt.Sprintf("%s_%d", h, c)
		}
		seen[g.cfg.Handles[i%len(g.cfg.Handles)]]++
		g.accts = append(g.accts, account{id: strconv.Itoa(100_000_000 + i), handle: h})
		w := math.Min(math.Pow(1-g.rng.Float64(), -1/(g.cfg.Shape.ActivityAlpha-1)), g.cfg.Shape.MaxActivity)
		total += w
		g.cum = append(g.cum, total)
	}
}

// author draws an account by activity.
func (g *organicGen) author() account {
	x := g.rng.Float64() * g.cum[len(g.cum)-1]
	return g.accts[sort.SearchFloat64s(g.cum, x)]
}

func (g *organicGen) text() string { return g.cfg.Texts[g.rng.IntN(len(g.cfg.Texts))] }

func (g *organicGen) at(off float64) time.Time {
	return g.cfg.Start.Add(time.Duration(off * float64(time.Second))).Truncate(time.Millisecond)
}

func (g *organicGen) span() float64 { return g.cfg.Span.Seconds() }

var newsSites = []string{"www.bloomberg.com", "thegrio.com", "townhall.com", "econ.st", "yhoo.it",
	"www.thegatewaypundit.com", "epicstream.com", "germistoncitynews.co.za", "www.instagram.com", "www.reuters.com"}

// originals makes n original posts: plain ones at uniform times, and news
// links in groups (an article shared by a power-law number of accounts,
// each some delay after it appeared).
func (g *organicGen) originals(n int) {
	sh := g.cfg.Shape
	newsShare := sh.LinkShare * (1 - sh.StatusLinkShare)
	nNews := int(newsShare * float64(n))
	for len(g.tweets) < n-nNews {
		a := g.author()
		g.tweets = append(g.tweets, event.Tweet{UserID: a.id, User: a.handle, Text: g.text(),
			CreatedAt: g.at(g.rng.Float64() * g.span())})
	}
	art := 0
	for len(g.tweets) < n {
		art++
		site := newsSites[g.rng.IntN(len(newsSites))]
		path := fmt.Sprintf("/news/%d/story-%d", 2021+g.rng.IntN(3), art)
		published := (g.rng.Float64()*1.25 - 0.25) * g.span()
		for range g.links.draw(g.rng) {
			off := published + sh.RetweetDelay.draw(g.rng)
			if off < 0 || off >= g.span() {
				continue
			}
			u := "https://" + site + path
			switch g.rng.IntN(4) { // the ways one article's link is written
			case 0:
				u += "?utm_source=twitter&utm_medium=social"
			case 1:
				u += "/"
			}
			a := g.author()
			g.tweets = append(g.tweets, event.Tweet{UserID: a.id, User: a.handle, Text: g.text() + " " + u,
				CreatedAt: g.at(off), URLs: []string{u}})
			if len(g.tweets) == n {
				break
			}
		}
	}
	// Ids in time order, as a platform's are.
	slices.SortFunc(g.tweets, func(a, b event.Tweet) int { return a.CreatedAt.Compare(b.CreatedAt) })
	for i := range g.tweets {
		g.tweets[i].ID = strconv.Itoa(organicIDBase + 2*i)
	}
	g.nOrig = len(g.tweets)
	// Links to tweets: to an earlier original, popular or not, on the
	// share of originals without a news link that makes StatusLinkShare.
	pStatus := sh.LinkShare * sh.StatusLinkShare / (1 - newsShare)
	for i := range g.tweets {
		t := &g.tweets[i]
		if t.URLs != nil || i == 0 || g.rng.Float64() >= pStatus {
			continue
		}
		src := g.tweets[g.rng.IntN(i)]
		u := "https://twitter.com/" + src.User + "/status/" + src.ID
		t.URLs, t.Text = []string{u}, t.Text+" "+u
	}
}

// follow adds reactions (retweets or replies) to random originals until n
// are placed: per source, a power-law number of reactions, each delay
// after it; reactions past the end of the span are lost.
func (g *organicGen) follow(n int, alpha float64, delay LogNormal, mk func(src *event.Tweet, a account, at time.Time) event.Tweet) int {
	placed, largest := 0, 0
	start := len(g.tweets)
	// Each original is a source at most once (until all have been), so
	// that cascades keep the sizes drawn.
	order := g.rng.Perm(g.nOrig)
	sizes := newPowerLaw(alpha, g.cfg.Shape.MaxCascade)
	for tries := 0; placed < n && tries < 100*n; tries++ {
		src := g.tweets[order[tries%len(order)]] // a copy: g.tweets grows
		size := min(sizes.draw(g.rng), n-placed)
		used := map[string]bool{src.UserID: true}
		got := 0
		for range size {
			a := g.author()
			if used[a.id] {
				continue
			}
			// A reaction past the end is drawn again (three tries): losing
			// them would turn many one-reaction sources into none and
			// skew the sizes seen towards the tail.
			var at time.Time
			for range 3 {
				at = src.CreatedAt.Add(time.Duration(delay.draw(g.rng) * float64(time.Second))).Truncate(time.Millisecond)
				if at.Before(g.cfg.Start.Add(g.cfg.Span)) {
					break
				}
			}
			if !at.Before(g.cfg.Start.Add(g.cfg.Span)) {
				continue
			}
			used[a.id] = true
			g.tweets = append(g.tweets, mk(&src, a, at))
			got++
		}
		placed += got
		largest = max(largest, got)
	}
	for i := start; i < len(g.tweets); i++ {
		g.tweets[i].ID = strconv.Itoa(organicIDBase + 2*i + 1)
	}
	return largest
}

func (g *organicGen) cascades(n int) {
	g.big = g.follow(n, g.cfg.Shape.CascadeAlpha, g.cfg.Shape.RetweetDelay, func(src *event.Tweet, a account, at time.Time) event.Tweet {
		return event.Tweet{UserID: a.id, User: a.handle, Text: src.Text, CreatedAt: at, RetweetOf: src.ID,
			URLs: src.URLs, Hashtags: src.Hashtags, Mentions: src.Mentions}
	})
}

func (g *organicGen) replies(n int) {
	g.follow(n, g.cfg.Shape.ReplyAlpha, g.cfg.Shape.ReplyDelay, func(src *event.Tweet, a account, at time.Time) event.Tweet {
		return event.Tweet{UserID: a.id, User: a.handle, Text: "@" + src.User + " " + g.text(), CreatedAt: at,
			ReplyTo: src.ID, ConversationID: src.ID, Mentions: []string{src.User}}
	})
}

func (g *organicGen) finish() Organic {
	isOrig := make(map[string]bool, g.nOrig)
	for _, t := range g.tweets[:g.nOrig] {
		isOrig[t.ID] = true
	}
	slices.SortStableFunc(g.tweets, func(a, b event.Tweet) int { return a.CreatedAt.Compare(b.CreatedAt) })
	o := Organic{Tweets: g.tweets, Largest: g.big}
	for i, t := range g.tweets {
		if isOrig[t.ID] {
			o.Originals = append(o.Originals, i)
		}
	}
	return o
}
