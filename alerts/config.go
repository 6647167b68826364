package alerts

import (
	"cmp"
	"fmt"
	"time"

	"github.com/tweetflow/tweetflow/alerts/coord"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/model"
)

// Metric names used in alerts (event.Alert.Metric).
const (
	MetricMean         = "mean"
	MetricRate         = "rate"
	MetricSimilarTexts = "similar_texts"
	// metricSharePrefix + label is the share of a window's tweets with that label.
	metricSharePrefix = "share:"
)

// Config configures the engine. The zero value of a field means its default
// (see Default).
type Config struct {
	// Window is the tumbling event-time window of the threshold and anomaly
	// checks.
	Window time.Duration
	// Lateness is how far behind the newest tweet seen a tweet may arrive and
	// still count in its window; a window closes when the newest tweet is
	// Lateness past its end. Later tweets are counted in Stats.Late and left
	// out of window checks (they are still stored: alerts only observe).
	Lateness time.Duration
	// MinCount is the fewest tweets a window needs before its model averages
	// are checked, so one tweet cannot cross a threshold alone.
	MinCount int
	// Rearm is how many checked windows in a row must be back on the normal
	// side of a threshold before crossing it again raises a new alert, so
	// an average that hovers at the line does not alert every minute.
	Rearm int
	// ThresholdZ is how far a window's mean must be past a threshold, in
	// standard errors of the mean (the window's standard deviation over
	// sqrt(n)), for a threshold alert: a mean of 40 noisy scores crosses a
	// line by chance now and then. A negative value alerts on any crossing
	// (the dashboards' plain reference line; `--alert-threshold-z 0`).
	// A crossing within the noise neither alerts nor counts as a calm window.
	ThresholdZ float64
	// Models lists the models to watch, with their thresholds. Results of
	// other models are still averaged and checked for anomalies.
	Models       []ModelConfig
	Anomaly      AnomalyConfig
	Coordination CoordinationConfig
	Networks     NetworkConfig
}

// NetworkConfig configures the coordination networks (alerts/coord): per
// signal and window (default AlertWindows), the weight of the edge between two accounts counts
// their co-actions within the window of each other (the QUT toolkit's
// networks), kept over the horizon. An edge reaching Coord.Repeat (default
// 3) raises a coordination alert naming the pair and what they shared,
// once per signal and pair: accounts that co-act repeatedly. A viral
// tweet's strangers co-act once each (weight 1) and never reach it.
type NetworkConfig struct {
	Disabled bool
	// Coord is the networks' configuration (nil Windows: AlertWindows;
	// other zero fields: coord.DefaultConfig's).
	Coord coord.Config
}

// AlertWindows are the networks the engine alerts on: one per signal, at
// the time scale of its campaign shape (a retweet ring within a minute, a
// link push within 10 minutes, a reply swarm within 2 minutes). The
// hour-long windows of coord.DefaultWindows pair a day's hyperactive
// accounts on viral tweets: on the #11 organic replay they made most of
// the false pair alerts (docs/BENCHMARKS.md).
func AlertWindows() []coord.Window {
	return []coord.Window{
		{Signal: signal.CoRetweet, Span: time.Minute}, {Signal: signal.CoTweet, Span: time.Minute},
		{Signal: signal.CoLink, Span: 10 * time.Minute}, {Signal: signal.CoReply, Span: 2 * time.Minute},
	}
}

// DefaultRepeat is the default NetworkConfig.Coord.Repeat: a retweet ring,
// a link push or a reply swarm repeats on three tweets, URLs or targets
// (the campaign shapes of #11), an organic pair seldom does.
const DefaultRepeat = 3

// ModelConfig is what the engine knows of a model: the registry's view
// (model.Views), of which it reads Name, Threshold (the reference line; nil
// for none) and ShareLabel (when set, a "share of tweets labelled
// ShareLabel" metric joins the anomaly checks; for offense: "offensive").
type ModelConfig = model.View

// Threshold is a model's reference line (model.ThresholdSpec): a window
// average beyond Value (in Direction, "above" or "below") by more than
// Config.ThresholdZ standard errors is alerted when it crosses.
type Threshold = model.ThresholdSpec

// AnomalyConfig configures the EWMA z-score checks.
type AnomalyConfig struct {
	Disabled bool
	// Bound is the |z| past which a window is anomalous.
	Bound float64
	// Alpha is the EWMA weight of the newest window (0 < Alpha <= 1).
	Alpha float64
	// Warmup is how many windows a baseline needs before it can alert.
	Warmup int
	// GapReset: after this many empty windows in a row the baselines start
	// over, because a replay that jumps weeks ahead is a new regime, not an
	// anomaly.
	GapReset int
}

// CoordinationConfig configures the near-duplicate detector.
type CoordinationConfig struct {
	Disabled bool
	// Window is the most event time the K accounts' posts may span.
	Window time.Duration
	// K is the number of distinct accounts that makes a group an alert.
	K int
	// Similarity is the least Jaccard similarity of normalised token sets
	// between a tweet and a group's representative for the tweet to join.
	Similarity float64
	// Containment and LooseSimilarity: a tweet also joins a group when at
	// least Containment of its tokens are in the group's vocabulary (the
	// words of its strict members) and it is at least LooseSimilarity
	// similar to a representative: a copy with other copies' word swaps.
	Containment     float64
	LooseSimilarity float64
	// MinTokens is the fewest content tokens (after normalisation and
	// stop-word removal) a tweet needs to be compared at all: short common
	// phrases ("good morning everyone") are posted by many accounts at once
	// without any coordination.
	MinTokens int
	// Slow are longer windows, each with its own K, run beside Window by
	// detectors of their own (nil: DefaultSlow): a drip of near-copies over
	// 10-60 minutes never has K accounts within 60 s. Their K is higher
	// than a burst's because common phrases ("good morning everyone")
	// gather more chance copies over an hour than over a minute.
	Slow []SlowWindow
	// IDFHalfLife is the event time over which the document counts of
	// the IDF weights halve (default 2h).
	IDFHalfLife time.Duration
}

// SlowWindow is one longer near-copy window and the distinct accounts
// within it that make an alert.
type SlowWindow struct {
	Window time.Duration
	K      int
	// IDF weighs tokens by inverse document frequency (a decayed count of
	// the recent original tweets using each). MinRare is the least summed
	// weight a tweet's tokens need to be compared in this window at all,
	// in units of the weight of a token never seen (ln(n+1) for n counted
	// tweets): about how many rare words it must have, so that common
	// phrases ("good morning everyone") never gather over the window. A
	// unit, not nats, so that it means the same at 1 tweet a minute and at
	// 50,000 a second. Sets are indexed under their rarest tokens.
	IDF     bool
	MinRare float64
	// WeightedSimilarity (with IDF): similarity and containment are over
	// the weights too, so a group must share rare words, not only a common
	// phrase; without it they are over the tokens and the weights only
	// gate tweets (MinRare) and order the index. On in DefaultSlow: on the
	// #11 bench both found the same drips on the bench's templates, and
	// the weighted one one more on the fresh ones (docs/BENCHMARKS.md).
	WeightedSimilarity bool
	// Similarity, when set, replaces CoordinationConfig.Similarity in
	// this window (and LooseSimilarity is scaled with it).
	Similarity float64
}

// DefaultSlow are the default longer near-copy windows: 10 minutes with
// K 6, and an hour with K 8 for tweets with at least 4 rare words' worth
// of content, over IDF weights. Over an hour, without that floor, common phrases
// gather chance groups ("sorry to hear about ...", "good morning ..."):
// on the #11 bench 5.8 false alerts per 100,000 organic tweets, against
// 2.3 with it (docs/BENCHMARKS.md).
func DefaultSlow() []SlowWindow {
	return []SlowWindow{{Window: 10 * time.Minute, K: 6}, {Window: time.Hour, K: 8, IDF: true, MinRare: 4, WeightedSimilarity: true}}
}

// ThresholdZOrAny is Config.ThresholdZ for z standard errors as a person
// gives it, where 0 means any crossing (`--alert-threshold-z 0`): in a
// Config zero means the default, and any crossing is a negative value.
func ThresholdZOrAny(z float64) float64 {
	if z == 0 {
		return -1
	}
	return z
}

// DefaultThresholdZ is the default Config.ThresholdZ.
const DefaultThresholdZ = 2

// Default returns the defaults: 1-minute windows, 10 s lateness, 20 tweets
// per window, thresholds re-armed after 10 calm windows, z-bound 5 with alpha 0.1 after 10 windows, and coordination
// at K = 5 accounts within 60 s (the window public coordination-detection
// tools use), similarity 0.5 (containment 0.8 above 0.3), at least 4
// content tokens. The similarity was chosen on campaigns injected into the
// 20,000-tweet sample (see docs/BENCHMARKS.md); 0.6 found 95%, 0.5 98%.
func Default() Config {
	return Config{
		Window:     time.Minute,
		Lateness:   10 * time.Second,
		MinCount:   20,
		ThresholdZ: DefaultThresholdZ,
		Rearm:      10,
		Anomaly:    AnomalyConfig{Bound: 5, Alpha: 0.1, Warmup: 10, GapReset: 10},
		Coordination: CoordinationConfig{
			Window: 60 * time.Second, K: 5, Similarity: 0.5, MinTokens: 4, Containment: 0.8, LooseSimilarity: 0.3,
		},
	}
}

// withDefaults fills zero fields from Default.
func (c Config) withDefaults() Config {
	d := Default()
	c.Window = cmp.Or(c.Window, d.Window)
	c.Lateness = cmp.Or(c.Lateness, d.Lateness)
	c.MinCount = cmp.Or(c.MinCount, d.MinCount)
	c.Rearm = cmp.Or(c.Rearm, d.Rearm)
	c.ThresholdZ = cmp.Or(c.ThresholdZ, d.ThresholdZ)
	a, da := &c.Anomaly, d.Anomaly
	a.Bound = cmp.Or(a.Bound, da.Bound)
	a.Alpha = cmp.Or(a.Alpha, da.Alpha)
	a.Warmup = cmp.Or(a.Warmup, da.Warmup)
	a.GapReset = cmp.Or(a.GapReset, da.GapReset)
	k, dk := &c.Coordination, d.Coordination
	k.Window = cmp.Or(k.Window, dk.Window)
	k.K = cmp.Or(k.K, dk.K)
	k.Similarity = cmp.Or(k.Similarity, dk.Similarity)
	k.MinTokens = cmp.Or(k.MinTokens, dk.MinTokens)
	k.Containment = cmp.Or(k.Containment, dk.Containment)
	k.LooseSimilarity = cmp.Or(k.LooseSimilarity, dk.LooseSimilarity)
	if k.Slow == nil {
		k.Slow = DefaultSlow()
	}
	k.IDFHalfLife = cmp.Or(k.IDFHalfLife, 2*time.Hour)
	c.Networks.Coord.Repeat = cmp.Or(c.Networks.Coord.Repeat, DefaultRepeat)
	if c.Networks.Coord.Windows == nil {
		c.Networks.Coord.Windows = AlertWindows()
	}
	return c
}

// validate checks a config after defaults; errors name the field.
func (c Config) validate() error {
	bad := func(field string, format string, a ...any) error {
		return fmt.Errorf("alerts config: %s: %s", field, fmt.Sprintf(format, a...))
	}
	switch {
	case c.Window < time.Second:
		return bad("window", "%s is shorter than 1s", c.Window)
	case c.Lateness < 0:
		return bad("lateness", "negative (%s)", c.Lateness)
	case c.MinCount < 1:
		return bad("min-count", "%d < 1", c.MinCount)
	case c.Rearm < 1:
		return bad("rearm", "%d < 1", c.Rearm)
	case c.Anomaly.Bound <= 0:
		return bad("anomaly.bound", "%v <= 0", c.Anomaly.Bound)
	case c.Anomaly.Alpha <= 0 || c.Anomaly.Alpha > 1:
		return bad("anomaly.alpha", "%v is not in (0, 1]", c.Anomaly.Alpha)
	case c.Anomaly.Warmup < 1:
		return bad("anomaly.warmup", "%d < 1", c.Anomaly.Warmup)
	case c.Anomaly.GapReset < 1:
		return bad("anomaly.gap-reset", "%d < 1", c.Anomaly.GapReset)
	case c.Coordination.Window < time.Second:
		return bad("coordination.window", "%s is shorter than 1s", c.Coordination.Window)
	case c.Coordination.K < 2:
		return bad("coordination.k", "%d < 2 accounts cannot coordinate", c.Coordination.K)
	case c.Coordination.Similarity <= 0 || c.Coordination.Similarity > 1:
		return bad("coordination.similarity", "%v is not in (0, 1]", c.Coordination.Similarity)
	case c.Coordination.Containment <= 0 || c.Coordination.Containment > 1:
		return bad("coordination.containment", "%v is not in (0, 1]", c.Coordination.Containment)
	case c.Coordination.LooseSimilarity <= 0 || c.Coordination.LooseSimilarity > c.Coordination.Similarity:
		return bad("coordination.loose-similarity", "%v is not in (0, similarity]", c.Coordination.LooseSimilarity)
	case c.Coordination.MinTokens < 1:
		return bad("coordination.min-tokens", "%d < 1", c.Coordination.MinTokens)
	case len(c.Models) > maxModels:
		return bad("models", "%d models, at most %d", len(c.Models), maxModels)
	}
	for i, w := range c.Coordination.Slow {
		switch {
		case w.Window <= c.Coordination.Window:
			return bad(fmt.Sprintf("coordination.slow[%d].window", i), "%s is not longer than coordination.window %s", w.Window, c.Coordination.Window)
		case w.K < 2:
			return bad(fmt.Sprintf("coordination.slow[%d].k", i), "%d < 2 accounts cannot coordinate", w.K)
		case w.MinRare < 0:
			return bad(fmt.Sprintf("coordination.slow[%d].min-rare", i), "negative (%v)", w.MinRare)
		case w.Similarity < 0 || w.Similarity > 1:
			return bad(fmt.Sprintf("coordination.slow[%d].similarity", i), "%v is not in [0, 1]", w.Similarity)
		}
	}
	seen := map[string]bool{}
	for i, m := range c.Models {
		field := fmt.Sprintf("models[%d]", i)
		switch {
		case !event.ValidModelName(m.Name):
			return bad(field+".name", "invalid model name %q", m.Name)
		case seen[m.Name]:
			return bad(field+".name", "duplicate model %q", m.Name)
		case m.Threshold != nil && m.Threshold.Direction != "above" && m.Threshold.Direction != "below":
			return bad(field+".threshold.direction", "%q is not above or below", m.Threshold.Direction)
		}
		seen[m.Name] = true
	}
	return nil
}
