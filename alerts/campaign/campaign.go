// Package campaign injects synthetic coordinated campaigns into a replay of
// organic tweets, writes the ground truth, and scores an alert engine's
// coordination alerts against it (precision, recall, false alerts per
// 100,000 organic tweets).
//
// A campaign is K accounts (MinAccounts..MaxAccounts) posting paraphrased
// copies of one negative or offensive message within Span: word
// substitutions and swaps, punctuation, case, added hashtags, mentions and
// links. Its posts are a burst of negative or offensive tweets in the
// stream. The organic tweets are left exactly as they are, including the
// genuine repeated texts of the sentiment140 sample (spam, retweets), so an
// alert on them counts as a false alert.
package campaign

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// Config says how many campaigns to inject and what they look like.
type Config struct {
	// Campaigns is the number of campaigns, spread evenly (with jitter) over
	// the organic rows.
	Campaigns int
	// MinAccounts and MaxAccounts bound each campaign's accounts (K).
	MinAccounts, MaxAccounts int
	// MaxPosts bounds the posts per account (1..MaxPosts).
	MaxPosts int
	// Span is the longest a campaign lasts, first post to last.
	Span time.Duration
	// Seed makes the injection reproducible.
	Seed uint64
}

// Default is 5 to 12 accounts, up to 2 posts each, within 50 s.
func Default() Config {
	return Config{Campaigns: 100, MinAccounts: 5, MaxAccounts: 12, MaxPosts: 2, Span: 50 * time.Second, Seed: 1}
}

// Check validates a config; errors name the setting.
func (c Config) Check() error {
	switch {
	case c.Campaigns < 0:
		return fmt.Errorf("campaigns: %d < 0", c.Campaigns)
	case c.MinAccounts < 1 || c.MaxAccounts < c.MinAccounts:
		return fmt.Errorf("accounts: %d..%d is not a range of at least 1", c.MinAccounts, c.MaxAccounts)
	case c.MaxPosts < 1:
		return fmt.Errorf("posts: %d < 1", c.MaxPosts)
	case c.Span < time.Second:
		return fmt.Errorf("span: %s < 1s", c.Span)
	}
	return nil
}

// Row is one tweet of the replay, organic or injected.
type Row struct {
	// Target is the sentiment140 label column: "0" negative, "4" positive.
	Target string
	ID     string
	Time   time.Time
	User   string
	Text   string
}

// Campaign is the ground truth of one injected campaign.
type Campaign struct {
	ID       int       `json:"id"`
	Kind     string    `json:"kind"` // "negative" or "offensive"
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Message  string    `json:"message"`
	Accounts []string  `json:"accounts"`
	TweetIDs []string  `json:"tweet_ids"`
	// Pattern is what Plant made (empty for the Injector's bursts);
	// AccountIDs are the accounts' ids (Plant's accounts have both), and
	// Targets the retweeted or replied-to tweets or the pushed URLs.
	Pattern    Pattern  `json:"pattern,omitempty"`
	AccountIDs []string `json:"account_ids,omitempty"`
	Targets    []string `json:"targets,omitempty"`
}

// Truth is the sidecar file written beside a replay with campaigns.
type Truth struct {
	OrganicRows  int        `json:"organic_rows"`
	InjectedRows int        `json:"injected_rows"`
	Config       Config     `json:"config"`
	Campaigns    []Campaign `json:"campaigns"`
}

// Injector merges campaign rows into a time-ordered stream of organic rows.
// Call Add for each organic row in order and write what it returns, then
// write Flush's rows. It is not safe for concurrent use.
type Injector struct {
	cfg     Config
	rng     *rand.Rand
	newID   func() string
	starts  []int // organic row index at which each campaign starts
	next    int   // next campaign to start
	seen    int   // organic rows added
	pending []Row // campaign rows not yet emitted, sorted by time
	truth   Truth
	vocab   vocabulary
}

// NewInjector plans cfg.Campaigns campaigns over organicRows rows. newID
// returns a fresh tweet id for each injected row (ids must not collide with
// the organic ones).
func NewInjector(cfg Config, organicRows int, newID func() string) (*Injector, error) {
	if err := cfg.Check(); err != nil {
		return nil, fmt.Errorf("inject campaign: %w", err)
	}
	if organicRows < 1 && cfg.Campaigns > 0 {
		return nil, fmt.Errorf("inject campaign: no organic rows to inject into")
	}
	in := &Injector{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, 0x7477656574666c6f)), newID: newID,
		truth: Truth{Config: cfg}, vocab: newVocabulary()}
	// Evenly spaced slots with jitter inside each slot, so campaigns never
	// overlap and every part of the replay gets some.
	for c := range cfg.Campaigns {
		slot := float64(organicRows) / float64(cfg.Campaigns)
		pos := int(slot*float64(c) + slot*(0.1+0.8*in.rng.Float64()))
		in.starts = append(in.starts, min(pos, organicRows-1))
	}
	return in, nil
}

// Add takes the next organic row and returns the rows to write now: any
// campaign rows due before it, then the row itself.
func (in *Injector) Add(r Row) []Row {
	for in.next < len(in.starts) && in.starts[in.next] <= in.seen {
		in.start(r.Time)
		in.next++
	}
	in.seen++
	in.truth.OrganicRows++
	var out []Row
	i := 0
	for i < len(in.pending) && !in.pending[i].Time.After(r.Time) {
		i++
	}
	out = append(out, in.pending[:i]...)
	in.pending = in.pending[i:]
	return append(out, r)
}

// Flush returns the campaign rows still pending at the end of the stream.
func (in *Injector) Flush() []Row {
	out := in.pending
	in.pending = nil
	return out
}

// Truth returns the ground truth of the campaigns injected so far.
func (in *Injector) Truth() Truth { return in.truth }

// start creates one campaign beginning just after time at.
func (in *Injector) start(at time.Time) {
	rng := in.rng
	c := Campaign{ID: len(in.truth.Campaigns) + 1, Kind: "negative"}
	if c.ID%2 == 0 {
		c.Kind = "offensive"
	}
	c.Message = in.vocab.message(rng, c.Kind)
	k := in.cfg.MinAccounts + rng.IntN(in.cfg.MaxAccounts-in.cfg.MinAccounts+1)
	begin := at.Add(time.Duration(rng.Int64N(int64(5 * time.Second))))
	span := time.Duration(float64(in.cfg.Span) * (0.3 + 0.7*rng.Float64()))
	var rows []Row
	for range k {
		user := in.vocab.handle(rng)
		c.Accounts = append(c.Accounts, user)
		for range 1 + rng.IntN(in.cfg.MaxPosts) {
			rows = append(rows, Row{Target: "0", User: user, Text: in.vocab.paraphrase(rng, c.Message)})
		}
	}
	// Spread the posts over the span: the first at begin, the last at
	// begin+span, the others at random in between.
	for i := range rows {
		var off time.Duration
		switch i {
		case 0:
		case len(rows) - 1:
			off = span
		default:
			off = time.Duration(rng.Int64N(int64(span)))
		}
		rows[i].Time = begin.Add(off).Truncate(time.Second) // sentiment140 dates have seconds
	}
	slices.SortStableFunc(rows, func(a, b Row) int { return a.Time.Compare(b.Time) })
	for i := range rows {
		rows[i].ID = in.newID()
		c.TweetIDs = append(c.TweetIDs, rows[i].ID)
	}
	c.Start, c.End = rows[0].Time, rows[len(rows)-1].Time
	in.truth.Campaigns = append(in.truth.Campaigns, c)
	in.truth.InjectedRows += len(rows)
	in.pending = append(in.pending, rows...)
	slices.SortStableFunc(in.pending, func(a, b Row) int { return a.Time.Compare(b.Time) })
}

// vocabulary holds the word lists campaigns are made of.
type vocabulary struct {
	targets, negClaims, offClaims, calls, tags, first, second []string
	synonyms                                                  map[string][]string
}

func newVocabulary() vocabulary {
	return vocabulary{
		targets: strings.Split("the city council|Senator Blake|Acme Bank|the stadium plan|Governor Price|MegaMart|"+
			"the school board|Mayor Collins|the water company|CityTransit|the new tax bill|Channel 9 news|"+
			"the health department|Dr Morgan|the election office|Northwind Airlines|the police chief|GreenPower Energy", "|"),
		negClaims: strings.Split("is lying to every family in this state|stole millions from hard working taxpayers|"+
			"wants to shut down our local hospitals|is the worst disaster this town has ever seen|"+
			"cannot be trusted with our money anymore|is hiding the real numbers from the public|"+
			"has ruined thousands of small businesses|betrayed every single voter who trusted them|"+
			"is destroying our schools and our future|covered up the contaminated water report", "|"),
		offClaims: strings.Split("are a bunch of corrupt idiots who should be fired|is a pathetic lying clown and a total moron|"+
			"are stupid crooks ruining everything for us|is a disgusting liar and a complete jerk|"+
			"are worthless morons stealing our damn money|is a dumb fraud who deserves to rot in jail|"+
			"are greedy scumbags and shameless idiots", "|"),
		calls: strings.Split("share this before they delete it|vote them out in november|boycott them right now|"+
			"do not believe a word they say|spread the word everywhere|wake up people and fight back|"+
			"call your representative today|tell everyone you know", "|"),
		tags:  strings.Fields("#wakeup #truth #boycott #scandal #corruption #voteout #shame #breaking #exposed #fail"),
		first: strings.Fields("sunny blue happy real true free proud loud quick brave wild silent lucky red dark iron"),
		second: strings.Fields("patriot mom dad voice citizen eagle tiger rider fan watcher farmer nurse teacher " +
			"runner wolf hawk"),
		synonyms: map[string][]string{
			"lying": {"lieing", "telling lies"}, "stole": {"took", "stolen"}, "millions": {"millions of dollars", "billions"},
			"worst": {"biggest", "worst ever"}, "disaster": {"catastrophe", "mess"}, "trusted": {"relied on"},
			"hiding": {"concealing", "covering up"}, "ruined": {"destroyed", "wrecked"}, "every": {"each"},
			"share": {"retweet", "repost"}, "delete": {"remove", "take it down"}, "people": {"folks", "everyone"},
			"boycott": {"stop supporting"}, "corrupt": {"crooked"}, "idiots": {"fools", "clowns"},
			"stupid": {"dumb"}, "fired": {"sacked", "removed"}, "destroying": {"wrecking", "ruining"},
			"spread": {"pass on"}, "tell": {"warn"}, "total": {"complete"}, "public": {"people"},
			"thousands": {"hundreds"}, "money": {"cash", "savings"}, "shut": {"close"},
		},
	}
}

func pick(rng *rand.Rand, xs []string) string { return xs[rng.IntN(len(xs))] }

// message builds a campaign's base text.
func (v vocabulary) message(rng *rand.Rand, kind string) string {
	claims := v.negClaims
	if kind == "offensive" {
		claims = v.offClaims
	}
	return pick(rng, v.targets) + " " + pick(rng, claims) + ", " + pick(rng, v.calls)
}

// handle makes an account name that looks organic.
func (v vocabulary) handle(rng *rand.Rand) string {
	h := pick(rng, v.first) + pick(rng, []string{"", "_"}) + pick(rng, v.second)
	return h + fmt.Sprint(rng.IntN(10000))
}

// paraphrase makes one account's copy of msg: the kinds of edits a campaign
// uses to dodge exact-duplicate filters.
func (v vocabulary) paraphrase(rng *rand.Rand, msg string) string {
	words := strings.Fields(strings.ReplaceAll(msg, ",", " ,"))
	// One or two word substitutions.
	for range 1 + rng.IntN(2) {
		var cands []int
		for i, w := range words {
			if _, ok := v.synonyms[w]; ok {
				cands = append(cands, i)
			}
		}
		if len(cands) == 0 {
			break
		}
		i := cands[rng.IntN(len(cands))]
		words[i] = pick(rng, v.synonyms[words[i]])
	}
	// Swap two neighbouring words.
	if len(words) > 3 && rng.Float64() < 0.4 {
		i := rng.IntN(len(words) - 1)
		words[i], words[i+1] = words[i+1], words[i]
	}
	text := strings.ReplaceAll(strings.Join(words, " "), " ,", ",")
	// Punctuation.
	switch rng.IntN(4) {
	case 0:
		text = strings.ReplaceAll(text, ",", "")
	case 1:
		text += pick(rng, []string{"!", "!!!", "...", " !!", "."})
	case 2:
		text = strings.ReplaceAll(text, ",", " -")
	}
	// Case.
	switch rng.IntN(5) {
	case 0:
		text = strings.ToUpper(text)
	case 1:
		text = strings.ToLower(text)
	case 2:
		text = strings.ToUpper(text[:1]) + text[1:]
	}
	// Hashtags, a mention, a link.
	for range rng.IntN(3) {
		if rng.IntN(2) == 0 {
			text = pick(rng, v.tags) + " " + text
		} else {
			text += " " + pick(rng, v.tags)
		}
	}
	if rng.Float64() < 0.4 {
		text = "@" + v.handle(rng) + " " + text
	}
	if rng.Float64() < 0.3 {
		text += fmt.Sprintf(" http://bit.ly/%x", rng.Uint32())
	}
	return text
}
