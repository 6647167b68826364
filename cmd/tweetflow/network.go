package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/network"
	"github.com/tweetflow/tweetflow/mode/network/cosim"
)

func newNetworkCmd() *cobra.Command {
	var cfg network.Config
	var kind string
	var ef *esFlags
	cmd := &cobra.Command{
		Use:   "network --db FILE|--es URL --kind co-retweet --window 60s [--from T --to T] [--min-weight N] --format csv|graphml|gexf --out FILE",
		Short: "Build a coordination network over the stored tweets (the QUT toolkit's networks), for Gephi",
		Long: `Build the network whose nodes are accounts and whose edge weight counts how often two
accounts did the same thing within --window of each other (the QUT coordination-network-toolkit's
definition): co-retweet (the same retweeted tweet), co-tweet (the same text), co-similar (texts
whose word sets have a Jaccard index of at least --similarity, the toolkit's co_similar_tweet),
co-link (the same normalised URL), co-reply (the same reply target), co-hashtag, co-mention.
The tweets come from the SQLite store (--db) or, with --es, from an Elasticsearch index through
one point in time. The edge list CSV has user_1,user_2,weight (user_1 < user_2); GraphML and GEXF
carry each account's handle, tweet count (in the range) and group (connected component) for
Gephi, networkx or igraph.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Kind = signal.Kind(kind)
			if os.Getenv("GOGC") == "" {
				// A network holds the collection's actions and edges until
				// it is written, so collecting at every doubling of the heap
				// mostly re-marks them: at 400 the co-tweet network of
				// 200,000 tweets took 15-20% less CPU for 10 MB more
				// (docs/BENCHMARKS.md).
				debug.SetGCPercent(400)
			}
			if ef.set() {
				if cmd.Flags().Changed("db") {
					return fmt.Errorf("--db and --es name two stores: give one")
				}
				var err error
				if cfg.ES, err = ef.config(); err != nil {
					return err
				}
			}
			sum, err := network.Run(cmd.Context(), cfg, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.ErrOrStderr(), "%d tweets read, %d edges of weight %d or more\n", sum.Tweets, sum.Edges, max(cfg.MinWeight, 1))
			return err
		},
	}
	var kinds []string
	for _, k := range signal.Kinds() {
		kinds = append(kinds, string(k))
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", envOr(core.EnvSQLitePath, "tweetflow.db"), "SQLite store written by 'tweetflow run' or an aggregator [$SQLITE_PATH]")
	f.StringVar(&kind, "kind", string(signal.CoRetweet), "signal: "+strings.Join(kinds, ", "))
	f.DurationVar(&cfg.Window, "window", time.Minute, "two accounts' actions at most this far apart co-act")
	f.Var(timeValue{&cfg.From}, "from", "only tweets at or after this time (RFC 3339)")
	f.Var(timeValue{&cfg.To}, "to", "only tweets before this time (RFC 3339)")
	f.IntVar(&cfg.MinWeight, "min-weight", 1, "leave out edges lighter than this")
	f.Float64Var(&cfg.Similarity, "similarity", cosim.DefaultThreshold, "co-similar: least Jaccard index of two tweets' word sets")
	f.IntVar(&cfg.MinTokens, "min-tokens", cosim.DefaultMinTokens, "co-similar: tweets with fewer distinct words match nothing")
	f.StringVar(&cfg.Format, "format", "csv", "csv (user_1,user_2,weight), graphml or gexf (Gephi, networkx)")
	f.StringVar(&cfg.Out, "out", "", "write to this file instead of stdout")
	ef = addESFlags(f)
	return cmd
}
