// Package network builds a coordination network over a stored collection,
// as the QUT coordination-network-toolkit does over its database, for
// `tweetflow network`: the SQLite store's tweets in time order
// (sqlite.Store.Tweets) go through the streaming engine (alerts/coord) with
// one window and no caps, and the edges are written by alerts/coord/netexport
// (edge list CSV or GEXF for Gephi).
package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts/coord"
	"github.com/tweetflow/tweetflow/alerts/coord/netexport"
	"github.com/tweetflow/tweetflow/alerts/signal"
)

// Formats are the output formats.
var Formats = []string{"csv", "gexf"}

// Config is one network to build.
type Config struct {
	// DB is the SQLite store file.
	DB string
	// Kind is the signal (co-retweet, co-tweet, co-link, co-reply,
	// co-hashtag, co-mention) and Window its time window.
	Kind   signal.Kind
	Window time.Duration
	// From and To bound the tweets' time, [From, To); zero is open.
	From, To time.Time
	// MinWeight drops lighter edges (default 1: all).
	MinWeight int
	// Format is csv or gexf; Out the file ("-" or empty: w).
	Format string
	Out    string
}

// Summary says what was built.
type Summary struct {
	Tweets int64
	Edges  int // written, at least MinWeight
	Stats  coord.WindowStats
}

// Run builds the network of cfg and writes it to cfg.Out (or w).
func Run(ctx context.Context, cfg Config, w io.Writer) (Summary, error) {
	var sum Summary
	if cfg.Format != "csv" && cfg.Format != "gexf" {
		return sum, fmt.Errorf("--format %q: want csv or gexf", cfg.Format)
	}
	if _, err := signal.ParseKind(string(cfg.Kind)); err != nil {
		return sum, fmt.Errorf("--kind: %w", err)
	}
	if cfg.Window <= 0 {
		return sum, fmt.Errorf("--window %s: want a positive duration such as 60s", cfg.Window)
	}
	if _, err := os.Stat(cfg.DB); err != nil {
		return sum, fmt.Errorf("--db: %w", err)
	}
	win := coord.Window{Signal: cfg.Kind, Span: cfg.Window}
	// Offline, as the toolkit: every action pairs with every other within
	// the window (no per-key, action or edge caps, no horizon), so the
	// weights are the toolkit's. Memory follows the collection.
	eng, err := coord.New(coord.Config{Windows: []coord.Window{win}, Horizon: math.MaxInt64,
		MaxActions: math.MaxInt32, MaxPerKey: math.MaxInt32, MaxEdges: math.MaxInt32})
	if err != nil {
		return sum, fmt.Errorf("--kind %s --window %s: %w", cfg.Kind, cfg.Window, err)
	}
	st, err := sqlite.Open(ctx, cfg.DB, nil)
	if err != nil {
		return sum, err
	}
	defer st.Close(context.Background())
	for t, err := range st.Tweets(ctx, cfg.From, cfg.To) {
		if err != nil {
			return sum, err
		}
		sum.Tweets++
		eng.Observe(&t.Tweet)
	}
	edges := netexport.Filter(eng.Edges(win), max(cfg.MinWeight, 1))
	sum.Edges, sum.Stats = len(edges), eng.Stats().Windows[0]

	out, closeOut := w, func() error { return nil }
	if cfg.Out != "" && cfg.Out != "-" {
		f, err := os.Create(cfg.Out)
		if err != nil {
			return sum, fmt.Errorf("--out: %w", err)
		}
		out, closeOut = f, f.Close
	}
	if cfg.Format == "csv" {
		err = netexport.WriteCSV(out, edges)
	} else {
		err = netexport.WriteGEXF(out, win.String(), edges)
	}
	if err = errors.Join(err, closeOut()); err != nil {
		return sum, fmt.Errorf("--out %s: %w", cfg.Out, err)
	}
	return sum, nil
}
