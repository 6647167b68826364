package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/dashboard"
	"github.com/tweetflow/tweetflow/scorer"
)

func newServeCmd() *cobra.Command {
	var dbPath, addr, modelsDir string
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
			ctx := cmd.Context()
			if _, err := os.Stat(dbPath); err != nil {
				return fmt.Errorf("--db: %w", err)
			}
			st, err := sqlite.Open(ctx, dbPath, nil)
			if err != nil {
				return err
			}
			defer st.Close(context.Background())
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			return serveDashboard(ctx, st.DB(), addr, modelsDir, log, func(a net.Addr) {
				fmt.Fprintf(cmd.OutOrStdout(), "dashboard: %s\n", dashboardURL(a))
			})
		},
	}
	cmd.Flags().StringVar(&dbPath, "db", "tweetflow.db", "SQLite store written by 'tweetflow run'")
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "address to listen on")
	cmd.Flags().StringVar(&modelsDir, "models", "models", "model folders, for descriptions and threshold lines")
	return cmd
}

// serveDashboard serves the dashboard over db until ctx ends. It is also
// what 'tweetflow run --serve' starts beside the pipeline.
func serveDashboard(ctx context.Context, db *sql.DB, addr, modelsDir string, log *slog.Logger, ready func(net.Addr)) error {
	infos, _, err := modelConfigs(modelsDir)
	if err != nil {
		return err
	}
	st, err := dashboard.NewStore(ctx, db)
	if err != nil {
		return err
	}
	as, err := alertstore.Open(ctx, db)
	if err != nil {
		return err
	}
	srv, err := dashboard.New(st, as, dashboard.Options{Models: infos, Log: log})
	if err != nil {
		return err
	}
	// The text index follows the tweets in the background (about a minute
	// per million tweets to catch up); searches are exact meanwhile.
	ctx, stop := context.WithCancel(ctx)
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		st.IndexText(ctx, time.Second, log)
	}()
	defer func() { stop(); <-indexed }()
	return dashboard.ListenAndServe(ctx, addr, srv, ready)
}

// dashboardURL is the address to open in a browser.
func dashboardURL(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && t.IP.IsUnspecified() {
		return fmt.Sprintf("http://localhost:%d/", t.Port)
	}
	return "http://" + a.String() + "/"
}

// runDashboard is 'tweetflow run --serve ADDR': the dashboard on its own
// handle of the run's database. It starts before the first write (from the
// run's sink hook), so its rollup triggers see every tweet and the page
// updates live, and it keeps serving after the run until Ctrl-C.
type runDashboard struct {
	addr string
	out  io.Writer
	log  *slog.Logger
	st   *sqlite.Store
	done chan error
}

// start opens dbPath and serves; it returns once the address is bound.
func (d *runDashboard) start(ctx context.Context, dbPath, modelsDir string) error {
	if d.addr == "" {
		return nil
	}
	st, err := sqlite.Open(ctx, dbPath, nil)
	if err != nil {
		return fmt.Errorf("--serve: %w", err)
	}
	d.st, d.done = st, make(chan error, 1)
	bound := make(chan struct{})
	go func() {
		d.done <- serveDashboard(ctx, st.DB(), d.addr, modelsDir, d.log, func(a net.Addr) {
			fmt.Fprintf(d.out, "dashboard: %s\n", dashboardURL(a))
			close(bound)
		})
	}()
	select {
	case <-bound:
		return nil
	case err := <-d.done:
		st.Close(context.Background())
		d.st = nil
		return fmt.Errorf("--serve: %w", err)
	}
}

// wait keeps serving until ctx ends (Ctrl-C), then closes the handle.
func (d *runDashboard) wait(ctx context.Context) error {
	if d.st == nil {
		return nil
	}
	defer d.st.Close(context.Background())
	if ctx.Err() == nil {
		fmt.Fprintln(d.out, "the dashboard keeps serving; Ctrl-C to stop")
	}
	return <-d.done
}

// modelConfigs reads the model specs under dir (a missing dir gives none)
// and returns what the dashboard and the alert engine need of them: names,
// descriptions, value ranges, thresholds, and the label whose share is
// watched (the positive label of probability models, e.g. "offensive").
func modelConfigs(dir string) ([]dashboard.ModelInfo, []alerts.ModelConfig, error) {
	specs, err := scorer.ListSpecs(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var infos []dashboard.ModelInfo
	var cfgs []alerts.ModelConfig
	for _, s := range specs {
		info := dashboard.ModelInfo{Name: s.Name, Description: s.Description, Min: s.Value.Min, Max: s.Value.Max}
		cfg := alerts.ModelConfig{Name: s.Name}
		if t := s.Threshold; t != nil {
			v := t.Value
			info.Threshold, info.Direction = &v, t.Direction
			cfg.Threshold = &alerts.Threshold{Value: t.Value, Direction: t.Direction}
		}
		if s.Value.Derive == scorer.DeriveProbability {
			cfg.ShareLabel = s.Value.Positive
		}
		infos = append(infos, info)
		cfgs = append(cfgs, cfg)
	}
	return infos, cfgs, nil
}
