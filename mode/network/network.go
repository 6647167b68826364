// Package network builds a coordination network over a stored collection,
// as the QUT coordination-network-toolkit does over its database, for
// `tweetflow network`. The tweets come in time order from the SQLite store
// (only the columns and rows the kind needs: sqlite.Store.NetworkTweets)
// or from an Elasticsearch index (one point in time, export/esstore); the
// id-based kinds go through the streaming engine (alerts/coord) with one
// window and no caps, co-similar through cosim (the toolkit's Jaccard
// definition, with a prefix-filtered join); alerts/coord/netexport writes
// the edges (edge list CSV, GraphML or GEXF).
package network

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts/coord"
	"github.com/tweetflow/tweetflow/alerts/coord/netexport"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/export/esstore"
	"github.com/tweetflow/tweetflow/mode/network/cosim"
)

// Formats are the output formats.
var Formats = []string{"csv", "graphml", "gexf"}

// Config is one network to build.
type Config struct {
	// DB is the SQLite store file, read when ES has no address.
	DB string
	// ES is the Elasticsearch index to read instead, when it has an
	// address.
	ES elastic.Config
	// Kind is the signal and Window its time window.
	Kind   signal.Kind
	Window time.Duration
	// From and To bound the tweets' time, [From, To); zero is open.
	From, To time.Time
	// MinWeight drops lighter edges (default 1: all).
	MinWeight int
	// Similarity and MinTokens tune co-similar (cosim.Config; zero: the
	// toolkit's defaults).
	Similarity float64
	MinTokens  int
	// Format is csv, graphml or gexf; Out the file ("-" or empty: w).
	Format string
	Out    string
}

// Summary says what was built.
type Summary struct {
	Tweets int64 // read from the store
	Edges  int   // written, at least MinWeight
	// Stats are the engine's counts (id-based kinds), Similar cosim's
	// (co-similar).
	Stats   coord.WindowStats
	Similar cosim.Stats
}

// Run builds the network of cfg and writes it to cfg.Out (or w).
func Run(ctx context.Context, cfg Config, w io.Writer) (Summary, error) {
	var sum Summary
	if !slices.Contains(Formats, cfg.Format) {
		return sum, fmt.Errorf("--format %q: want one of %s", cfg.Format, strings.Join(Formats, ", "))
	}
	if _, err := signal.ParseKind(string(cfg.Kind)); err != nil {
		return sum, fmt.Errorf("--kind: %w", err)
	}
	if cfg.Window <= 0 {
		return sum, fmt.Errorf("--window %s: want a positive duration such as 60s", cfg.Window)
	}
	if !cfg.From.IsZero() && !cfg.To.IsZero() && !cfg.From.Before(cfg.To) {
		return sum, fmt.Errorf("--from %s --to %s: an empty range", cfg.From.Format(time.RFC3339), cfg.To.Format(time.RFC3339))
	}
	b, err := newBuilder(cfg)
	if err != nil {
		return sum, err
	}
	src, err := open(ctx, cfg)
	if err != nil {
		return sum, err
	}
	defer src.close()
	for t, err := range src.tweets(ctx, cfg.Kind, cfg.From, cfg.To) {
		if err != nil {
			return sum, err
		}
		sum.Tweets++
		b.observe(&t)
	}
	edges := netexport.Filter(b.edges(&sum), max(cfg.MinWeight, 1))
	sum.Edges = len(edges)
	if cfg.Format != "csv" {
		// A node's tweet count is the account's tweets in the range, of
		// any kind: the narrow read saw only those with the kind's key.
		counts, err := src.accountTweets(ctx, cfg.From, cfg.To)
		if err != nil {
			return sum, err
		}
		for i := range edges {
			edges[i].TweetsA, edges[i].TweetsB = counts[edges[i].A], counts[edges[i].B]
		}
	}
	return sum, write(cfg, w, edges)
}

func write(cfg Config, w io.Writer, edges []coord.Edge) error {
	out, closeOut := w, func() error { return nil }
	if cfg.Out != "" && cfg.Out != "-" {
		f, err := os.Create(cfg.Out)
		if err != nil {
			return fmt.Errorf("--out: %w", err)
		}
		out, closeOut = f, f.Close
	}
	desc := coord.Window{Signal: cfg.Kind, Span: cfg.Window}.String()
	var err error
	switch cfg.Format {
	case "csv":
		err = netexport.WriteCSV(out, edges)
	case "graphml":
		err = netexport.WriteGraphML(out, desc, edges)
	default:
		err = netexport.WriteGEXF(out, desc, edges)
	}
	if err = errors.Join(err, closeOut()); err != nil {
		return fmt.Errorf("--out %s: %w", cfg.Out, err)
	}
	return nil
}

// builder is the network under construction: the streaming engine for the
// id-based kinds, cosim for co-similar.
type builder interface {
	observe(t *event.Tweet)
	edges(sum *Summary) []coord.Edge
}

func newBuilder(cfg Config) (builder, error) {
	if cfg.Kind == signal.CoSimilar {
		b, err := cosim.New(cosim.Config{Window: cfg.Window, Threshold: cfg.Similarity, MinTokens: cfg.MinTokens})
		if err != nil {
			return nil, fmt.Errorf("--kind co-similar --window %s --similarity %g --min-tokens %d: %w", cfg.Window, cfg.Similarity, cfg.MinTokens, err)
		}
		return simBuilder{b}, nil
	}
	win := coord.Window{Signal: cfg.Kind, Span: cfg.Window}
	// Offline, as the toolkit: every action pairs with every other within
	// the window (no per-key, action or edge caps, no horizon), so the
	// weights are the toolkit's. Memory follows the collection.
	eng, err := coord.New(coord.Config{Windows: []coord.Window{win}, Horizon: math.MaxInt64,
		MaxActions: math.MaxInt32, MaxPerKey: math.MaxInt32, MaxEdges: math.MaxInt32})
	if err != nil {
		return nil, fmt.Errorf("--kind %s --window %s: %w", cfg.Kind, cfg.Window, err)
	}
	return engineBuilder{eng, win}, nil
}

type engineBuilder struct {
	eng *coord.Engine
	win coord.Window
}

func (b engineBuilder) observe(t *event.Tweet) { b.eng.Observe(t) }

func (b engineBuilder) edges(sum *Summary) []coord.Edge {
	sum.Stats = b.eng.Stats().Windows[0]
	return b.eng.Edges(b.win)
}

type simBuilder struct{ b *cosim.Builder }

func (b simBuilder) observe(t *event.Tweet) { b.b.Add(t) }

func (b simBuilder) edges(sum *Summary) []coord.Edge {
	var edges []coord.Edge
	edges, sum.Similar = b.b.Edges()
	return edges
}

// source is a store the network reads.
type source interface {
	// tweets yields the tweets of [from, to) that kind k can pair, in
	// time order (others may come too: the builders skip them).
	tweets(ctx context.Context, k signal.Kind, from, to time.Time) iter.Seq2[event.Tweet, error]
	// accountTweets counts every tweet of [from, to) per account (after
	// tweets has been read).
	accountTweets(ctx context.Context, from, to time.Time) (map[string]int, error)
	close()
}

func open(ctx context.Context, cfg Config) (source, error) {
	if len(cfg.ES.Addresses) > 0 {
		es := cfg.ES
		if err := es.Normalize(); err != nil {
			return nil, fmt.Errorf("--es: %w", err)
		}
		client, err := elastic.NewClient(es, elastic.RetryPolicy{})
		if err != nil {
			return nil, fmt.Errorf("--es: %w", err)
		}
		return &esSource{st: esstore.New(client, es.Index, esstore.Options{}), counts: map[string]int{}}, nil
	}
	// sqlite.Open creates a missing file: a typo must fail instead.
	if _, err := os.Stat(cfg.DB); err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	st, err := sqlite.Open(ctx, cfg.DB, nil)
	if err != nil {
		return nil, fmt.Errorf("--db: %w", err)
	}
	return sqliteSource{st}, nil
}

// Query is the narrow read of kind k: the rows that can have its key
// (retweets for co-retweet, the others for every other kind, since the
// toolkit counts a retweet only as a co-retweet) and its key's column.
func Query(k signal.Kind, from, to time.Time) sqlite.NetworkQuery {
	q := sqlite.NetworkQuery{From: from, To: to}
	switch k {
	case signal.CoRetweet:
		q.Retweets = true
	case signal.CoTweet, signal.CoSimilar:
		q.Column = sqlite.ColumnText
	case signal.CoLink:
		q.Column = sqlite.ColumnURLs
	case signal.CoReply:
		q.Column = sqlite.ColumnReplyTo
	case signal.CoHashtag:
		q.Column = sqlite.ColumnHashtags
	case signal.CoMention:
		q.Column = sqlite.ColumnMentions
	}
	return q
}

type sqliteSource struct{ st *sqlite.Store }

func (s sqliteSource) tweets(ctx context.Context, k signal.Kind, from, to time.Time) iter.Seq2[event.Tweet, error] {
	return s.st.NetworkTweets(ctx, Query(k, from, to))
}

func (s sqliteSource) accountTweets(ctx context.Context, from, to time.Time) (map[string]int, error) {
	return s.st.AccountTweets(ctx, from, to)
}

func (s sqliteSource) close() { s.st.Close(context.Background()) }

// esSource reads every document of the range (the index has no narrow
// read) and counts the accounts' tweets as it goes.
type esSource struct {
	st     *esstore.Store
	counts map[string]int
}

func (s *esSource) tweets(ctx context.Context, _ signal.Kind, from, to time.Time) iter.Seq2[event.Tweet, error] {
	return func(yield func(event.Tweet, error) bool) {
		for t, err := range s.st.Tweets(ctx, from, to) {
			if err == nil {
				if a := signal.Account(&t.Tweet); a != "" {
					s.counts[a]++
				}
			}
			if !yield(t.Tweet, err) || err != nil {
				return
			}
		}
	}
}

func (s *esSource) accountTweets(context.Context, time.Time, time.Time) (map[string]int, error) {
	return s.counts, nil
}

func (s *esSource) close() {}
