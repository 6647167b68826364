// Package gen writes large sentiment140-format CSV files for benchmarks:
// texts and users drawn from a sample, new unique ids, increasing dates.
// A Hook can add rows (the campaign injector of the alerts benchmarks).
package gen

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// Row is one sentiment140 row.
type Row struct {
	Target string
	ID     string
	Time   time.Time
	Query  string
	User   string
	Text   string
}

// Hook sees every generated row in order and returns the rows to write in
// its place (the row itself plus any injected ones, in time order). Flush
// returns rows still held at the end.
type Hook interface {
	Add(Row) []Row
	Flush() []Row
}

// Options configure Generate.
type Options struct {
	// Rows is the number of generated rows (a Hook may add more).
	Rows int
	// Seed makes the output reproducible.
	Seed uint64
	// Start is the first row's time; default 2009-04-06 22:19:45 PDT.
	Start time.Time
	// MeanGap sets the gaps between rows: whole seconds (the format's
	// resolution) uniform in [1s, 2×MeanGap], so dates strictly increase.
	// Default 1s.
	MeanGap time.Duration
	// FirstID is the first id; ids count up from it. Default 3000000000
	// (above every sentiment140 id, so generated ids never collide with them).
	FirstID int64
	// Hook, if set, may add rows.
	Hook Hook
}

// LoadSample reads a sentiment140 CSV as generation templates. Bad rows are
// skipped; a sample without a single good row is an error.
func LoadSample(ctx context.Context, path string) ([]Row, error) {
	tweets, err := loadTweets(ctx, []string{path}, source.Options{Format: source.Sentiment140,
		CSV: csv.Options{Keep: map[string]string{"target": "0", "query": "3"}}})
	if err != nil {
		return nil, err
	}
	var out []Row
	for _, t := range tweets {
		out = append(out, Row{Target: t.Fields["target"], ID: t.ID, Time: t.CreatedAt, Query: t.Fields["query"], User: t.User, Text: t.Text})
	}
	return out, nil
}

// loadTweets reads the good tweets of paths (source.Open's syntax), bad
// rows skipped; inputs without a single good tweet are an error.
func loadTweets(ctx context.Context, paths []string, opts source.Options) ([]event.Tweet, error) {
	out, err := source.ReadTweets(ctx, paths, opts)
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("gen: no valid tweet in %s", strings.Join(paths, ", "))
	}
	return out, nil
}

// pdt is the zone of the sentiment140 dates.
var pdt = time.FixedZone("PDT", -7*3600)

// Generate writes opts.Rows rows (plus any the hook adds) to w and returns
// the number of rows written.
func Generate(ctx context.Context, w io.Writer, sample []Row, opts Options) (int, error) {
	if len(sample) == 0 {
		return 0, errors.New("gen: empty sample")
	}
	if opts.Rows < 0 {
		return 0, fmt.Errorf("gen: rows %d < 0", opts.Rows)
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2009, 4, 6, 22, 19, 45, 0, pdt)
	}
	if opts.MeanGap <= 0 {
		opts.MeanGap = time.Second
	}
	if opts.FirstID == 0 {
		opts.FirstID = 3000000000
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x9e3779b97f4a7c15))
	bw := bufio.NewWriterSize(w, 1<<20)
	written := 0
	var line []byte
	emit := func(rows []Row) error {
		for _, r := range rows {
			line = appendRow(line[:0], r)
			if _, err := bw.Write(line); err != nil {
				return fmt.Errorf("gen: write: %w", err)
			}
			written++
		}
		return nil
	}
	t := opts.Start
	maxGap := max(int64(2*opts.MeanGap/time.Second), 1)
	for i := range opts.Rows {
		if i&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return written, err
			}
		}
		tmpl := sample[rng.IntN(len(sample))]
		r := Row{
			Target: tmpl.Target,
			ID:     strconv.FormatInt(opts.FirstID+int64(i), 10),
			Time:   t,
			Query:  tmpl.Query,
			User:   sample[rng.IntN(len(sample))].User,
			Text:   tmpl.Text,
		}
		rows := []Row{r}
		if opts.Hook != nil {
			rows = opts.Hook.Add(r)
		}
		if err := emit(rows); err != nil {
			return written, err
		}
		t = t.Add(time.Duration(1+rng.Int64N(maxGap)) * time.Second)
	}
	if opts.Hook != nil {
		if err := emit(opts.Hook.Flush()); err != nil {
			return written, err
		}
	}
	if err := bw.Flush(); err != nil {
		return written, fmt.Errorf("gen: write: %w", err)
	}
	return written, nil
}

// appendRow appends one quoted sentiment140 line. Texts cannot hold a
// newline in this format (one row per line), so any is replaced by a space.
func appendRow(b []byte, r Row) []byte {
	q := r.Query
	if q == "" {
		q = "NO_QUERY"
	}
	fields := [...]string{r.Target, r.ID, r.Time.In(pdt).Format("Mon Jan 02 15:04:05 MST 2006"), q, r.User, r.Text}
	for i, f := range fields {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '"')
		if strings.ContainsAny(f, "\r\n") {
			f = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(f)
		}
		for j := 0; j < len(f); j++ {
			if f[j] == '"' {
				b = append(b, '"')
			}
			b = append(b, f[j])
		}
		b = append(b, '"')
	}
	return append(b, '\n')
}
