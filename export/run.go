package export

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/export/esstore"
)

// Job is one `tweetflow export`: the store to read (the SQLite file DB, or
// the Elasticsearch index of ES when ES has an address), where to write
// (the file Out; "" or "-" is Run's w) and how (Options).
type Job struct {
	DB  string
	ES  elastic.Config
	Out string
	Options
	// Progress, if set, is told how many tweets the range holds before the
	// first is written and returns the Options.Progress callback (a bar).
	Progress func(total int64) func(n int64)
}

// counted is a Store that also counts a range (the progress bar's total).
type counted interface {
	Store
	Count(ctx context.Context, from, to time.Time) (int64, error)
}

// Run exports the job's store and returns how many tweets it wrote. A
// missing SQLite file is an error (opening would create it empty), and a
// failed close of Out (a full disk) is the export's error.
func Run(ctx context.Context, j Job, w io.Writer) (int64, error) {
	st, closeStore, err := j.open(ctx)
	if err != nil {
		return 0, err
	}
	defer closeStore()
	var file *os.File
	if j.Out != "" && j.Out != "-" {
		if file, err = os.Create(j.Out); err != nil {
			return 0, fmt.Errorf("--out: %w", err)
		}
		defer file.Close() // on an error path; the success path closes and checks
		w = file
	}
	o := j.Options
	if j.Progress != nil {
		total, err := st.Count(ctx, o.From, o.To)
		if err != nil {
			return 0, err
		}
		o.Progress = j.Progress(total)
	}
	n, err := Write(ctx, w, st, o)
	if err != nil {
		return n, err
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return n, fmt.Errorf("--out %s: %w", j.Out, err)
		}
	}
	return n, nil
}

func (j Job) open(ctx context.Context) (counted, func(), error) {
	if len(j.ES.Addresses) > 0 {
		cfg := j.ES
		if err := cfg.Normalize(); err != nil {
			return nil, nil, fmt.Errorf("--es: %w", err)
		}
		es, err := elastic.NewClient(cfg, elastic.RetryPolicy{})
		if err != nil {
			return nil, nil, fmt.Errorf("--es: %w", err)
		}
		return esstore.New(es, cfg.Index, esstore.Options{}), func() {}, nil
	}
	// sqlite.Open creates a missing file; an export of a typo must fail
	// instead of printing nothing.
	if _, err := os.Stat(j.DB); err != nil {
		return nil, nil, fmt.Errorf("--db: %w", err)
	}
	db, err := sqlite.Open(ctx, j.DB, nil)
	if err != nil {
		return nil, nil, err
	}
	return db, func() { db.Close(ctx) }, nil
}
