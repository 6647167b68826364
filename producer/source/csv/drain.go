package csv

import (
	"context"
	"errors"
	"io"

	"github.com/tweetflow/tweetflow/event"
)

// RowReader is what Drain reads: this package's Reader, the twitter
// readers, and producer/source's merged Source all read this way (a
// *RowError for a bad row, the next Read going on; io.EOF at the end).
type RowReader interface {
	Read(ctx context.Context) (Row, error)
}

// Drain reads r to its end: each row to row, each row error to bad (row
// errors are skipped when bad is nil). io.EOF ends it with nil; any other
// error ends it and is returned as it is.
func Drain(ctx context.Context, r RowReader, row func(Row), bad func(*RowError)) error {
	var re *RowError // once, not a row: errors.As makes it escape
	for {
		got, err := r.Read(ctx)
		switch {
		case err == nil:
			row(got)
		case errors.Is(err, io.EOF):
			return nil
		case errors.As(err, &re):
			if bad != nil {
				bad(re)
			}
		default:
			return err
		}
	}
}

// Tweets reads r to its end and returns the good rows' tweets, in order;
// row errors are skipped, any other error is returned.
func Tweets(ctx context.Context, r RowReader) ([]event.Tweet, error) {
	var out []event.Tweet
	err := Drain(ctx, r, func(row Row) { out = append(out, row.Tweet) }, nil)
	return out, err
}
