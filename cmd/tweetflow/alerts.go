package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/alerts/campaign"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/embedded"
	"github.com/tweetflow/tweetflow/producer/gen"
)

func newAlertsCmd() *cobra.Command {
	var dbPath string
	var asJSON bool
	var f alertstore.Filter
	cmd := &cobra.Command{
		Use:   "alerts --db FILE [--json]",
		Short: "List the alerts stored by 'tweetflow run' (threshold, anomaly, coordination)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := embedded.ListAlerts(cmd.Context(), dbPath, f)
			if err != nil {
				return err
			}
			return printAlerts(cmd, list, asJSON)
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", envOr(core.EnvSQLitePath, "tweetflow.db"), "SQLite store written by 'tweetflow run' [$SQLITE_PATH]")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line (the alert event's data)")
	cmd.Flags().StringVar(&f.Kind, "kind", "", "only this kind: threshold, anomaly or coordination")
	cmd.Flags().Var(timeValue{&f.From}, "from", "only windows starting at or after this time (RFC 3339)")
	cmd.Flags().Var(timeValue{&f.To}, "to", "only windows starting before this time (RFC 3339)")
	cmd.Flags().IntVar(&f.Limit, "limit", 1000, "at most this many alerts, newest first")
	cmd.AddCommand(newAlertsBenchCmd())
	return cmd
}

// timeValue is a flag holding an RFC 3339 time; empty is the zero time (no
// bound). A bad value is refused by the flag parser, naming the flag.
type timeValue struct{ t *time.Time }

func (v timeValue) String() string {
	if v.t == nil || v.t.IsZero() {
		return ""
	}
	return v.t.Format(time.RFC3339)
}

func (v timeValue) Set(s string) error {
	if s == "" {
		*v.t = time.Time{}
		return nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return err
	}
	*v.t = t
	return nil
}

func (timeValue) Type() string { return "time" }

func printAlerts(cmd *cobra.Command, list []event.Alert, asJSON bool) error {
	if err := embedded.WriteAlerts(cmd.OutOrStdout(), list, asJSON); err != nil {
		return err
	}
	if asJSON {
		return nil
	}
	_, err := fmt.Fprintf(cmd.ErrOrStderr(), "%d alert(s)\n", len(list))
	return err
}

// addAlertFlags binds the engine's flags of 'tweetflow run' onto a (its
// values are the defaults). The threshold's z goes through
// alerts.ThresholdZOrAny once the flags are parsed (its 0 is "any
// crossing", the config's 0 its default): apply does that.
func addAlertFlags(fs *pflag.FlagSet, a *embedded.Alerts) (apply func()) {
	e := &a.Engine
	z := e.ThresholdZ
	fs.BoolVar(&a.Off, "no-alerts", a.Off, "do not run the streaming alert engine")
	fs.DurationVar(&e.Window, "alert-window", e.Window, "tumbling event-time window of threshold and anomaly alerts")
	fs.DurationVar(&e.Lateness, "alert-lateness", e.Lateness, "how late (event time) a tweet may arrive and still count in its window")
	fs.IntVar(&e.MinCount, "alert-min-count", e.MinCount, "fewest tweets a window needs before its averages are checked")
	fs.Float64Var(&z, "alert-threshold-z", z,
		"standard errors a window's mean must be past a model's threshold to alert (0: any crossing)")
	fs.Float64Var(&e.Anomaly.Bound, "anomaly-z", e.Anomaly.Bound, "EWMA z-score bound of anomaly alerts")
	fs.DurationVar(&e.Coordination.Window, "coord-window", e.Coordination.Window, "window of coordination alerts")
	fs.IntVar(&e.Coordination.K, "coord-k", e.Coordination.K, "distinct accounts posting near-identical texts that make a coordination alert")
	fs.Float64Var(&e.Coordination.Similarity, "coord-similarity", e.Coordination.Similarity, "least Jaccard similarity of normalised texts")
	fs.IntVar(&e.Coordination.MinTokens, "coord-min-tokens", e.Coordination.MinTokens, "fewest content words a text needs to be compared")
	fs.DurationVar(&a.Hold, "alert-hold", a.Hold, "wall time stored tweets wait to reach the alert engine in event-time order")
	return func() { e.ThresholdZ = alerts.ThresholdZOrAny(z) }
}

func newAlertsBenchCmd() *cobra.Command {
	var data, truthPath, dbPath, jsonOut string
	var campaigns int
	var seed uint64
	suite := campaign.DefaultSuite()
	var plant map[string]int
	var seeds []uint
	var templates string
	cmd := &cobra.Command{
		Use:   "bench --data FILE (--truth FILE | --campaigns N | --organic N) [--db FILE]",
		Short: "Measure the coordination alerts' precision and recall on injected campaigns",
		Long: `Measure how well coordination alerts find injected campaigns.

With --truth (the sidecar of 'tweetflow gen --inject-campaign'), the replay
in --data already holds the campaigns. With --campaigns N, N campaigns are
injected into --data in memory (seeded). The engine then reads the replay
in event-time order, as the pipeline's sink would, unless --db names the
store of a 'tweetflow run' over the same replay: then the alerts that run
stored are scored instead.

With --organic N, N organic tweets shaped like a real collection
(campaign.MeasuredShape: the retweet, reply and link shares, cascade
sizes and delays of real twarc2 files; texts and handles from --data) are
made per --seeds seed, campaigns of every pattern (--plant) are planted in
them, and the engine's recall per pattern and false alerts per 100,000
organic tweets are reported per seed. --replay-out writes the first seed's
stream (QUT CSV) and its truth, so that 'tweetflow run --data FILE' can
replay it and 'alerts bench --truth FILE.truth.json --db DB' score it.

Every coordination alert whose tweets (or, failing that, accounts) are not
mostly one campaign's counts as false, including alerts on genuine
repeated texts and viral retweet cascades of the organic data.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			start := time.Now()
			if suite.Tweets > 0 {
				suite.Texts = data
				if err := suitePlan(&suite, plant, seeds); err != nil {
					return err
				}
				t, err := campaign.ParseTemplates(templates)
				if err != nil {
					return fmt.Errorf("--templates: %w", err)
				}
				suite.Templates = t
				rep, err := campaign.RunSuite(cmd.Context(), suite)
				if err != nil {
					return err
				}
				return printBench(cmd, rep, start, jsonOut)
			}
			cfg := campaign.BenchConfig{Data: data, TruthFile: truthPath, Campaigns: campaigns, Seed: seed}
			if dbPath != "" {
				cfg.Stored = func(ctx context.Context) ([]event.Alert, error) {
					return embedded.ListAlerts(ctx, dbPath, alertstore.Filter{Kind: event.AlertCoordination, Limit: 10_000})
				}
			}
			rep, err := campaign.Bench(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			return printBench(cmd, rep, start, jsonOut)
		},
	}
	cmd.Flags().StringVar(&data, "data", "data/sample.csv", "replay CSV (sentiment140 layout)")
	cmd.Flags().StringVar(&truthPath, "truth", "", "ground-truth sidecar written by 'gen --inject-campaign'")
	cmd.Flags().IntVar(&campaigns, "campaigns", 0, "inject this many campaigns into --data in memory")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the in-memory injection")
	cmd.Flags().StringVar(&dbPath, "db", "", "score the alerts stored by a run instead of running the engine")
	cmd.Flags().StringVar(&jsonOut, "json", "", "also write the report as JSON to this file")
	cmd.Flags().IntVar(&suite.Tweets, "organic", 0, "make this many organic tweets (texts and handles from --data) and plant campaigns of every pattern in them")
	cmd.Flags().DurationVar(&suite.Span, "span", suite.Span, "event time the organic tweets cover (with --organic)")
	cmd.Flags().StringToIntVar(&plant, "plant", nil, fmt.Sprintf("campaigns per pattern and seed, e.g. burst=10,reply-swarm=5 (patterns %v; default %s)",
		campaign.Patterns(), planString(campaign.DefaultPlant())))
	cmd.Flags().UintSliceVar(&seeds, "seeds", []uint{1, 2, 3}, "one organic collection and planting per seed (with --organic)")
	cmd.Flags().StringVar(&templates, "templates", string(campaign.BenchTemplates),
		"with --organic: the campaigns' message templates, bench (those the detector was tuned on) or fresh (written afterwards, never tuned on)")
	cmd.Flags().StringVar(&suite.ReplayOut, "replay-out", "", "with --organic: also write the first seed's replay to this QUT CSV file and its ground truth beside it (.truth.json), for 'tweetflow run'")
	return cmd
}

// benchReport is campaign.Report or campaign.SuiteReport.
type benchReport interface {
	Print(w io.Writer) error
	WriteJSON(path string) error
}

// printBench prints rep and the seconds since start, and writes the JSON
// report when asked.
func printBench(cmd *cobra.Command, rep benchReport, start time.Time, jsonOut string) error {
	if err := rep.Print(cmd.OutOrStdout()); err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "seconds:         %.1f\n", time.Since(start).Seconds())
	if jsonOut != "" {
		return rep.WriteJSON(jsonOut)
	}
	return nil
}

// suitePlan applies --plant and --seeds to the suite.
func suitePlan(s *campaign.SuiteConfig, plant map[string]int, seeds []uint) error {
	if len(plant) > 0 {
		s.Plant = map[campaign.Pattern]int{}
		for name, n := range plant {
			p, err := campaign.ParsePattern(name)
			if err != nil {
				return fmt.Errorf("--plant: %w", err)
			}
			s.Plant[p] = n
		}
	}
	s.Seeds = s.Seeds[:0]
	for _, seed := range seeds {
		s.Seeds = append(s.Seeds, uint64(seed))
	}
	return nil
}

func planString(m map[campaign.Pattern]int) string {
	var parts []string
	for _, p := range campaign.Patterns() {
		parts = append(parts, fmt.Sprintf("%s=%d", p, m[p]))
	}
	return strings.Join(parts, ",")
}

// campaignFlags are `tweetflow gen --inject-campaign N` and its settings.
type campaignFlags struct {
	cfg     campaign.Config
	truth   string
	firstID int64
	in      *campaign.GenHook
}

// addCampaignFlags registers the campaign injection flags on gen.
func addCampaignFlags(fs *pflag.FlagSet) *campaignFlags {
	d := campaign.Default()
	c := &campaignFlags{cfg: d}
	fs.IntVar(&c.cfg.Campaigns, "inject-campaign", 0, "inject this many coordinated campaigns (K accounts posting paraphrased negative or offensive copies)")
	fs.IntVar(&c.cfg.MinAccounts, "campaign-min-accounts", d.MinAccounts, "fewest accounts per campaign")
	fs.IntVar(&c.cfg.MaxAccounts, "campaign-max-accounts", d.MaxAccounts, "most accounts per campaign")
	fs.IntVar(&c.cfg.MaxPosts, "campaign-max-posts", d.MaxPosts, "most posts per account and campaign")
	fs.DurationVar(&c.cfg.Span, "campaign-span", d.Span, "longest a campaign lasts, first post to last")
	fs.StringVar(&c.truth, "truth", "", "ground-truth file of the injected campaigns (default: OUT with .truth.json)")
	fs.Int64Var(&c.firstID, "campaign-first-id", 9_000_000_000, "first tweet id of injected rows (must not collide with generated ids)")
	return c
}

// hook returns gen's hook injecting the campaigns over rows generated rows,
// or nil when no campaign is asked for. seed is gen's seed.
func (c *campaignFlags) hook(rows int, seed uint64) (gen.Hook, error) {
	if c.cfg.Campaigns == 0 {
		return nil, nil
	}
	c.cfg.Seed = seed
	h, err := campaign.NewGenHook(c.cfg, rows, c.firstID)
	if err != nil {
		return nil, err
	}
	c.in = h
	return h, nil
}

// writeTruth writes the ground truth beside out (when campaigns were
// injected) and returns its path.
func (c *campaignFlags) writeTruth(out string) (string, error) {
	if c.in == nil {
		return "", nil
	}
	return c.in.WriteTruth(c.truth, out)
}
