package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/embedded"
)

func newServeCmd() *cobra.Command {
	var cfg embedded.ServeConfig
	cmd := &cobra.Command{
		Use:   "serve --db FILE [--addr HOST:PORT]",
		Short: "Serve the web dashboard of a tweetflow SQLite store",
		Long: `Serve the local web dashboard (counts, per-model averages with threshold
lines, tweets per interval, search, alerts) over a SQLite store written by
'tweetflow run'. It works while a run is writing to the same file. The first
start on a database builds its per-minute rollup (seconds for millions of
tweets); from then on triggers keep it current.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			cfg.Ready = func(url string) { fmt.Fprintf(cmd.OutOrStdout(), "dashboard: %s\n", url) }
			return embedded.Serve(cmd.Context(), cfg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DB, "db", envOr(core.EnvSQLitePath, "tweetflow.db"), "SQLite store written by 'tweetflow run' [$SQLITE_PATH]")
	f.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&cfg.ModelsDir, "models-dir", envOr(core.EnvModelsDir, "models"), "model folders, for descriptions and threshold lines [$MODELS_DIR]")
	// --models was this flag's first name; every other command calls it
	// --models-dir (and --models a list of names).
	f.StringVar(&cfg.ModelsDir, "models", cfg.ModelsDir, "")
	_ = f.MarkDeprecated("models", "use --models-dir")
	return cmd
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
