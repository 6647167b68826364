package embedded

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

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/dashboard"
	"github.com/tweetflow/tweetflow/model"
)

// ServeConfig configures Serve.
type ServeConfig struct {
	// DB is the SQLite store written by a run; it must exist.
	DB string
	// Addr is the address to listen on (default 127.0.0.1:8080).
	Addr string
	// ModelsDir holds the model folders: descriptions and threshold lines
	// (a missing folder gives none).
	ModelsDir string
	Logger    *slog.Logger
	// Ready, if set, is called with the dashboard's URL once it listens.
	Ready func(url string)
}

// Serve serves the dashboard over the SQLite store cfg.DB until ctx ends
// (`tweetflow serve`). It works while a run writes to the same file.
func Serve(ctx context.Context, cfg ServeConfig) error {
	if _, err := os.Stat(cfg.DB); err != nil {
		return fmt.Errorf("--db: %w", err)
	}
	st, err := sqlite.Open(ctx, cfg.DB, nil)
	if err != nil {
		return err
	}
	defer st.Close(context.Background())
	return serveDB(ctx, st.DB(), cfg)
}

// serveDB serves the dashboard over db until ctx ends.
func serveDB(ctx context.Context, db *sql.DB, cfg ServeConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:8080"
	}
	views, err := modelViews(cfg.ModelsDir)
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
	srv, err := dashboard.New(st, as, dashboard.Options{Models: views, Log: cfg.Logger})
	if err != nil {
		return err
	}
	// The text index follows the tweets in the background (about a minute
	// per million tweets to catch up); searches are exact meanwhile.
	ctx, stop := context.WithCancel(ctx)
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		st.IndexText(ctx, time.Second, cfg.Logger)
	}()
	defer func() { stop(); <-indexed }()
	return dashboard.ListenAndServe(ctx, cfg.Addr, srv, func(a net.Addr) {
		if cfg.Ready != nil {
			cfg.Ready(dashboardURL(a))
		}
	})
}

// dashboardURL is the address to open in a browser.
func dashboardURL(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok && t.IP.IsUnspecified() {
		return fmt.Sprintf("http://localhost:%d/", t.Port)
	}
	return "http://" + a.String() + "/"
}

// runDashboard is a run's --serve: the dashboard on its own handle of the
// run's database. It starts before the first write, so its rollup triggers
// see every tweet and the page updates live, and it keeps serving after
// the run until ctx ends.
type runDashboard struct {
	out  io.Writer
	st   *sqlite.Store
	stop context.CancelFunc
	done chan error
}

// startDashboard opens the run's SQLite file and serves; it returns once
// the address is bound. Without cfg.Serve it returns an idle dashboard.
func startDashboard(ctx context.Context, cfg Config) (*runDashboard, error) {
	d := &runDashboard{out: cfg.Out}
	if cfg.Serve == "" || cfg.Sink != nil {
		return d, nil
	}
	st, err := sqlite.Open(ctx, cfg.Store.SQLite, nil)
	if err != nil {
		return nil, fmt.Errorf("--serve: %w", err)
	}
	d.st, d.done = st, make(chan error, 1)
	ctx, d.stop = context.WithCancel(ctx)
	bound := make(chan struct{})
	go func() {
		d.done <- serveDB(ctx, st.DB(), ServeConfig{Addr: cfg.Serve, ModelsDir: cfg.ModelsDir, Logger: cfg.Logger, Ready: func(url string) {
			fmt.Fprintf(d.out, "dashboard: %s\n", url)
			close(bound)
		}})
	}()
	select {
	case <-bound:
		return d, nil
	case err := <-d.done:
		d.stop()
		st.Close(context.Background())
		return nil, fmt.Errorf("--serve: %w", err)
	}
}

// wait keeps serving until ctx ends (Ctrl-C).
func (d *runDashboard) wait(ctx context.Context) error {
	if d.st == nil {
		return nil
	}
	if ctx.Err() == nil {
		fmt.Fprintln(d.out, "the dashboard keeps serving; Ctrl-C to stop")
	}
	err := <-d.done
	d.done = nil
	return err
}

// close stops the server (at once, if the run failed before wait) and
// releases the dashboard's handle.
func (d *runDashboard) close() {
	if d.st == nil {
		return
	}
	d.stop()
	if d.done != nil {
		<-d.done
	}
	d.st.Close(context.Background())
}

// modelViews reads the registry under dir (a missing dir gives none) and
// returns its views (model.Views): what the dashboard and the alert engine
// need of each model.
func modelViews(dir string) ([]model.View, error) {
	reg, err := model.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return reg.Views(), nil
}
