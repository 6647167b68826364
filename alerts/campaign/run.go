package campaign

import (
	"context"
	"errors"
	"io"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/event"
)

// Detector is what a replay feeds: the alert engine (*alerts.Engine), or
// any engine with its Observe and Flush.
type Detector interface {
	Observe(recs []sink.Record) []event.Alert
	Flush() []event.Alert
}

var _ Detector = (*alerts.Engine)(nil)

// Replay feeds the tweets read by next (io.EOF at the end) to eng in
// batches, as the pipeline's sink would, and returns every alert raised,
// including those of the windows still open at the end.
func Replay(ctx context.Context, eng Detector, next func(context.Context) (event.Tweet, error)) ([]event.Alert, error) {
	const batch = 512
	recs := make([]sink.Record, 0, batch)
	var out []event.Alert
	for {
		t, err := next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return out, err
		}
		recs = append(recs, sink.Record{Tweet: t})
		if len(recs) == batch {
			out = append(out, eng.Observe(recs)...)
			recs = recs[:0]
		}
	}
	out = append(out, eng.Observe(recs)...)
	return append(out, eng.Flush()...), nil
}
