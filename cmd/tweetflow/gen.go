package main

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/producer/gen"
	"github.com/tweetflow/tweetflow/producer/source"
)

func newGenCmd() *cobra.Command {
	var (
		sample string
		out    string
		opts   gen.Options
		inject *campaignFlags // --inject-campaign (alerts.go)
		twarc  string         // --twarc-from: twarc2 pages instead (data helper, #10)
	)
	cmd := &cobra.Command{
		Use:   "gen --rows N --out FILE",
		Short: "Write a larger sentiment140-format CSV from the sample (for benchmarks)",
		Long: `gen writes N rows in the sentiment140 layout: texts and users drawn from the
sample, new unique ids, strictly increasing dates. The same --seed gives the
same file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required")
			}
			if twarc != "" {
				return genTwarc(cmd, twarc, out, opts.Rows)
			}
			rows, err := gen.LoadSample(cmd.Context(), sample)
			if err != nil {
				return err
			}
			if opts.Hook, err = inject.hook(opts.Rows, opts.Seed); err != nil {
				return err
			}
			n, err := writeFile(out, func(w io.Writer) (int, error) { return gen.Generate(cmd.Context(), w, rows, opts) })
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %d rows to %s\n", n, out)
			if path, err := inject.writeTruth(out); err != nil {
				return err
			} else if path != "" {
				fmt.Fprintf(cmd.OutOrStdout(), "wrote the campaigns' ground truth to %s\n", path)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.Rows, "rows", 1600000, "rows to generate")
	f.StringVar(&out, "out", "", "output CSV file")
	f.Uint64Var(&opts.Seed, "seed", 1, "random seed")
	f.StringVar(&sample, "sample", "data/sample.csv", "sentiment140-format sample to draw texts and users from")
	f.Int64Var(&opts.FirstID, "first-id", 3000000000, "first tweet id")
	f.StringVar(&twarc, "twarc-from", "", "write twarc2 response pages (JSON lines) instead, cycling through the tweets of these inputs (--data syntax; as retweet-heavy as they are)")
	inject = addCampaignFlags(f)
	return cmd
}

func genTwarc(cmd *cobra.Command, from, out string, n int) error {
	tmpl, err := gen.LoadTweets(cmd.Context(), source.Paths(from))
	if err != nil {
		return err
	}
	n, err = writeFile(out, func(w io.Writer) (int, error) {
		return gen.TwarcPages(cmd.Context(), w, tmpl, gen.TwarcOptions{Tweets: n})
	})
	if err == nil {
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %d tweets as twarc2 pages to %s\n", n, out)
	}
	return err
}

// writeFile creates path and has write fill it; a failed close (a full
// disk) is the write's error.
func writeFile(path string, write func(io.Writer) (int, error)) (int, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, fmt.Errorf("gen: %w", err)
	}
	n, err := write(f)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("gen: %w", cerr)
	}
	return n, err
}
