package campaign

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/jsonfile"
	"github.com/tweetflow/tweetflow/producer/gen"
	"github.com/tweetflow/tweetflow/producer/source"
	csvsource "github.com/tweetflow/tweetflow/producer/source/csv"
)

// BenchConfig is what `tweetflow alerts bench` measures: a replay, its
// ground truth (a sidecar file, or campaigns injected in memory), and the
// alerts to score (the engine run here, or those a run stored).
type BenchConfig struct {
	// Data is the replay CSV (sentiment140 layout).
	Data string
	// TruthFile is the sidecar of 'tweetflow gen --inject-campaign'; or
	// Campaigns > 0 injects that many into Data in memory with Seed.
	TruthFile string
	Campaigns int
	Seed      uint64
	// Stored, if set, returns the coordination alerts a run stored; they
	// are scored instead of running the engine.
	Stored func(context.Context) ([]event.Alert, error)
}

// Bench measures the coordination alerts' precision and recall on the
// campaigns of cfg.
func Bench(ctx context.Context, cfg BenchConfig) (Report, error) {
	if (cfg.TruthFile == "") == (cfg.Campaigns == 0) {
		return Report{}, errors.New("give either --truth or --campaigns")
	}
	var truth Truth
	var tweets []event.Tweet
	var err error
	if cfg.TruthFile != "" {
		if truth, err = ReadTruth(cfg.TruthFile); err != nil {
			return Report{}, err
		}
	}
	if cfg.Stored == nil || cfg.Campaigns > 0 {
		if tweets, err = readTweets(ctx, cfg.Data); err != nil {
			return Report{}, err
		}
	}
	if cfg.Campaigns > 0 {
		c := Default()
		c.Campaigns, c.Seed = cfg.Campaigns, cfg.Seed
		if tweets, truth, err = injectTweets(tweets, c); err != nil {
			return Report{}, err
		}
	}
	var got []event.Alert
	if cfg.Stored != nil {
		if got, err = cfg.Stored(ctx); err != nil {
			return Report{}, err
		}
	} else {
		eng, err := alerts.New(alerts.Config{})
		if err != nil {
			return Report{}, err
		}
		i := 0
		got, err = Replay(ctx, eng, func(context.Context) (event.Tweet, error) {
			if i == len(tweets) {
				return event.Tweet{}, io.EOF
			}
			i++
			return tweets[i-1], nil
		})
		if err != nil {
			return Report{}, err
		}
	}
	return Evaluate(truth, got), nil
}

// ReadTruth reads a ground-truth sidecar.
func ReadTruth(path string) (Truth, error) {
	var t Truth
	b, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("--truth: %w", err)
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return t, fmt.Errorf("--truth %s: %w", path, err)
	}
	return t, nil
}

// readTweets reads every tweet of path (any format source.Open reads: the
// sentiment140 CSV, a replay written by --replay-out in the QUT layout,
// twarc2 files); a bad row is an error naming its place.
func readTweets(ctx context.Context, path string) ([]event.Tweet, error) {
	src, err := source.Open([]string{path}, source.Options{})
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var out []event.Tweet
	var bad error
	err = csvsource.Drain(ctx, src, func(r csvsource.Row) { out = append(out, r.Tweet) }, func(re *csvsource.RowError) {
		if bad == nil {
			bad = re
		}
	})
	if err = cmp.Or(err, bad); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return out, nil
}

// injectTweets merges campaigns into tweets (time-ordered) as
// 'gen --inject-campaign' would.
func injectTweets(tweets []event.Tweet, cfg Config) ([]event.Tweet, Truth, error) {
	n := 0
	in, err := NewInjector(cfg, len(tweets), func() string { n++; return fmt.Sprintf("c%d", n) })
	if err != nil {
		return nil, Truth{}, err
	}
	out := make([]event.Tweet, 0, len(tweets)+len(tweets)/100)
	add := func(rows []Row) {
		for _, r := range rows {
			out = append(out, event.Tweet{ID: r.ID, User: r.User, Text: r.Text, CreatedAt: r.Time})
		}
	}
	for _, t := range tweets {
		add(in.Add(Row{ID: t.ID, User: t.User, Text: t.Text, Time: t.CreatedAt}))
	}
	add(in.Flush())
	return out, in.Truth(), nil
}

// GenHook injects campaigns into `tweetflow gen`'s rows.
type GenHook struct{ in *Injector }

// NewGenHook returns gen's hook injecting cfg's campaigns over rows
// generated rows; new ids count up from firstID.
func NewGenHook(cfg Config, rows int, firstID int64) (*GenHook, error) {
	next := firstID
	in, err := NewInjector(cfg, rows, func() string { next++; return fmt.Sprint(next - 1) })
	if err != nil {
		return nil, err
	}
	return &GenHook{in}, nil
}

var _ gen.Hook = (*GenHook)(nil)

// Add implements gen.Hook.
func (h *GenHook) Add(r gen.Row) []gen.Row {
	return toGenRows(h.in.Add(Row{Target: r.Target, ID: r.ID, Time: r.Time, User: r.User, Text: r.Text}), r.Query)
}

// Flush implements gen.Hook.
func (h *GenHook) Flush() []gen.Row { return toGenRows(h.in.Flush(), "NO_QUERY") }

// WriteTruth writes the injected campaigns' ground truth to path (default:
// out with .truth.json for .csv) and returns the path.
func (h *GenHook) WriteTruth(path, out string) (string, error) {
	if path == "" {
		path = strings.TrimSuffix(out, ".csv") + ".truth.json"
	}
	if err := jsonfile.Write(path, h.in.Truth()); err != nil {
		return "", fmt.Errorf("truth: %w", err)
	}
	return path, nil
}

func toGenRows(rs []Row, query string) []gen.Row {
	out := make([]gen.Row, len(rs))
	for i, r := range rs {
		out[i] = gen.Row{Target: r.Target, ID: r.ID, Time: r.Time, Query: query, User: r.User, Text: r.Text}
	}
	return out
}
