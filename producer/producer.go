// Package producer replays tweets from a source: it reads rows, applies the
// row-error policy, paces the replay by the tweets' own timestamps, and hands
// batches of tweets to a Sender. The Sender is the only transport-specific
// part: the embedded pipeline passes batches to the models in-process; a
// Kafka or HTTP sender publishes tweet events (event.NewTweetEvent).
package producer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// Source yields rows: io.EOF at the end, a *csv.RowError for a bad row (the
// next Read goes on), any other error ends the replay.
type Source interface {
	Read(ctx context.Context) (csv.Row, error)
}

// Sender delivers a batch of tweets. It takes ownership of the slice. When
// Send returns nil the tweets are accepted (the embedded pipeline: queued
// for scoring; Kafka: acknowledged by the broker).
type Sender interface {
	Send(ctx context.Context, tweets []event.Tweet) error
}

// SenderFunc adapts a function to Sender.
type SenderFunc func(ctx context.Context, tweets []event.Tweet) error

// Send calls f.
func (f SenderFunc) Send(ctx context.Context, tweets []event.Tweet) error { return f(ctx, tweets) }

// OnError is the policy for bad rows.
type OnError string

const (
	// Skip counts a bad row by reason, logs it and goes on.
	Skip OnError = "skip"
	// Stop ends the replay at the first bad row with its error.
	Stop OnError = "stop"
)

// Options configure Run. Zero values take the defaults.
type Options struct {
	// Speed divides the gaps between tweet timestamps; 0 = no pacing.
	Speed float64
	// MaxRate caps tweets per second; 0 = no cap.
	MaxRate float64
	// Limit stops after this many tweets are sent; 0 = all.
	Limit int64
	// BatchSize is the most tweets per Send. Default 256.
	BatchSize int
	// OnError defaults to Skip.
	OnError OnError
	// Clock defaults to the wall clock.
	Clock Clock
	// Logger defaults to slog.Default(). Skipped rows are logged, the first
	// ten of each reason, then only counted.
	Logger *slog.Logger
	// OnBatch, if set, is called after each successful Send (progress).
	OnBatch func(Stats)
}

// Stats count a replay.
type Stats struct {
	// RowsRead counts rows read, accepted or rejected.
	RowsRead int64
	// Rejected counts rejected rows by reason (csv.Reason values).
	Rejected map[string]int64
	// Sent counts tweets accepted by the Sender.
	Sent int64
	// LastLine is the line of the last row sent (to resume with --start-row).
	LastLine int
}

// RejectedTotal sums Rejected.
func (s Stats) RejectedTotal() int64 {
	var n int64
	for _, v := range s.Rejected {
		n += v
	}
	return n
}

// Run replays src into snd until the source ends, Limit is reached, a row
// error under Stop, a send error, or ctx ends. On ctx's end the tweets
// already read are still sent (bounded by a short timeout), so whatever was
// read is either sent or reported as not sent in Stats; the error is then
// ctx.Err().
func Run(ctx context.Context, src Source, snd Sender, opts Options) (Stats, error) {
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.OnError == "" {
		opts.OnError = Skip
	}
	if opts.OnError != Skip && opts.OnError != Stop {
		return Stats{}, fmt.Errorf("producer: on-error %q is not skip or stop", opts.OnError)
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	clock := opts.Clock
	if clock == nil {
		clock = RealClock{}
	}
	pacer := NewPacer(opts.Speed, opts.MaxRate, clock)
	st := Stats{Rejected: map[string]int64{}}
	batch := make([]event.Tweet, 0, opts.BatchSize)
	lastLine := 0
	flush := func(ctx context.Context) error {
		if len(batch) == 0 {
			return nil
		}
		if err := snd.Send(ctx, batch); err != nil {
			return fmt.Errorf("producer: send %d tweets: %w", len(batch), err)
		}
		st.Sent += int64(len(batch))
		st.LastLine = lastLine
		batch = make([]event.Tweet, 0, opts.BatchSize)
		if opts.OnBatch != nil {
			opts.OnBatch(st)
		}
		return nil
	}
	// finish sends what was read even when ctx has ended (Ctrl-C): those
	// tweets are accepted, so they must reach the store.
	finish := func(err error) (Stats, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if ferr := flush(fctx); ferr != nil && err == nil {
			err = ferr
		}
		return st, err
	}
	for {
		if opts.Limit > 0 && st.Sent+int64(len(batch)) >= opts.Limit {
			return finish(nil)
		}
		row, err := src.Read(ctx)
		if errors.Is(err, io.EOF) {
			return finish(nil)
		}
		var re *csv.RowError
		if errors.As(err, &re) {
			st.RowsRead++
			st.Rejected[string(re.Reason)]++
			if opts.OnError == Stop {
				return finish(fmt.Errorf("producer: stopped at a bad row (--on-error stop): %w", err))
			}
			if st.Rejected[string(re.Reason)] <= 10 {
				opts.Logger.Warn("skipping bad row", "err", re.Error())
			}
			continue
		}
		if err != nil {
			return finish(fmt.Errorf("producer: read: %w", err))
		}
		st.RowsRead++
		if pacer.Enabled() {
			due := pacer.Due(row.Tweet.CreatedAt)
			// Waits under a millisecond are not worth a flush and a timer:
			// the tweet joins the batch and the next wait absorbs the lag.
			if wait := due.Sub(clock.Now()); wait > time.Millisecond {
				if err := flush(ctx); err != nil {
					return finish(err)
				}
				if err := clock.Sleep(ctx, wait); err != nil {
					batch = append(batch, row.Tweet) // read, so it is sent
					lastLine = row.Line
					return finish(err)
				}
			}
		}
		batch = append(batch, row.Tweet)
		lastLine = row.Line
		if len(batch) >= opts.BatchSize {
			if err := flush(ctx); err != nil {
				return finish(err)
			}
		}
	}
}
