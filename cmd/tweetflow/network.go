package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/network"
)

func newNetworkCmd() *cobra.Command {
	var cfg network.Config
	var kind string
	cmd := &cobra.Command{
		Use:   "network --db FILE --kind co-retweet --window 60s [--min-weight N] --format csv|gexf --out FILE",
		Short: "Build a coordination network over the stored tweets (the QUT toolkit's networks), for Gephi",
		Long: `Build the network whose nodes are accounts and whose edge weight counts how often two
accounts did the same thing within --window of each other (the QUT coordination-network-toolkit's
definition): co-retweet (the same retweeted tweet), co-tweet (the same text), co-link (the same
normalised URL), co-reply (the same reply target), co-hashtag, co-mention. The edge list CSV has
user_1,user_2,weight (user_1 < user_2); GEXF carries each account's handle, tweet count and group
(connected component) for Gephi.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Kind = signal.Kind(kind)
			sum, err := network.Run(cmd.Context(), cfg, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "%d tweets, %d edges of weight %d or more\n", sum.Tweets, sum.Edges, max(cfg.MinWeight, 1))
			return err
		},
	}
	var kinds []string
	for _, k := range signal.Kinds() {
		if k != signal.CoSimilar {
			kinds = append(kinds, string(k))
		}
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", envOr(core.EnvSQLitePath, "tweetflow.db"), "SQLite store written by 'tweetflow run' or an aggregator [$SQLITE_PATH]")
	f.StringVar(&kind, "kind", string(signal.CoRetweet), "signal: "+strings.Join(kinds, ", "))
	f.DurationVar(&cfg.Window, "window", time.Minute, "two accounts' actions at most this far apart co-act")
	f.Var(timeValue{&cfg.From}, "from", "only tweets at or after this time (RFC 3339)")
	f.Var(timeValue{&cfg.To}, "to", "only tweets before this time (RFC 3339)")
	f.IntVar(&cfg.MinWeight, "min-weight", 1, "leave out edges lighter than this")
	f.StringVar(&cfg.Format, "format", "csv", "csv (user_1,user_2,weight) or gexf (Gephi)")
	f.StringVar(&cfg.Out, "out", "", "write to this file instead of stdout")
	return cmd
}
