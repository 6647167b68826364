// Package produce is the producer of the cluster modes (`tweetflow
// produce`): it replays a tweets CSV as tweet CloudEvents to a Kafka topic
// (the Kafka-only mode, or a KafkaSource on Knative) or POSTs them to an
// HTTP sink (K_SINK, set by a SinkBinding or ContainerSource on Knative).
// Events are identified by tweet id, so a replay resumed from an earlier row
// produces the same events again and consumers deduplicate them.
package produce

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/shutdown"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// Config is everything a replay needs. Zero values take Defaults().
type Config struct {
	// Data is the input: a file, comma-separated files or globs, or "-"
	// for standard input (producer/source.Open: gzip and zstd read
	// transparently, several files merged in event-time order), read as
	// Format (empty: auto) with CSV for the CSV formats (StartRow sets its
	// SkipRows, which source.Open applies to the merged rows).
	Data   string
	Format source.Format
	CSV    csv.Options
	// StartRow is the first data row to replay, 1-based, after any header
	// (to resume: Summary.NextStartRow).
	StartRow int
	// Producer: Speed, MaxRate, Limit, BatchSize, OnError.
	Producer producer.Options
	// SinkURL, when set, receives the events over HTTP instead of Kafka.
	SinkURL string
	// Kafka is the cluster; Topic is created with Partitions and
	// Replication when it does not exist.
	Kafka       kafka.Config
	Topic       string
	Partitions  int32
	Replication int16
	// DrainTimeout bounds the flush of the last sends after a stop.
	DrainTimeout time.Duration
	Logger       *slog.Logger
}

// Defaults returns the replay's defaults, the only place they are defined.
func Defaults() Config {
	return Config{
		Data:     "data/sample.csv",
		StartRow: 1,
		// 2048 tweets per send (one idempotent produce request set) was
		// measured fastest.
		Producer:     producer.Options{BatchSize: 2048, OnError: producer.Skip},
		Kafka:        kafka.Config{Brokers: []string{"localhost:9092"}, ClientID: "tweetflow"},
		Topic:        "tweets",
		Partitions:   6,
		Replication:  1,
		DrainTimeout: core.DefaultDrainTimeout,
	}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	c.Data = cmp.Or(c.Data, d.Data)
	c.StartRow = cmp.Or(c.StartRow, d.StartRow)
	c.Producer.BatchSize = cmp.Or(c.Producer.BatchSize, d.Producer.BatchSize)
	c.Producer.OnError = cmp.Or(c.Producer.OnError, d.Producer.OnError)
	if len(c.Kafka.Brokers) == 0 {
		c.Kafka.Brokers = d.Kafka.Brokers
	}
	c.Topic = cmp.Or(c.Topic, d.Topic)
	c.Partitions = cmp.Or(c.Partitions, d.Partitions)
	c.Replication = cmp.Or(c.Replication, d.Replication)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, d.DrainTimeout)
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Summary is what a replay did.
type Summary struct {
	Sent, RowsRead, RowsRejected int64
	Elapsed                      time.Duration
	// NextStartRow resumes after this replay: the rows before it were all
	// sent or rejected. After a failure it is the replay's own start row
	// (not every row read was sent; the consumers deduplicate).
	NextStartRow int
}

// String is the summary's one line for people.
func (s Summary) String() string {
	return fmt.Sprintf("sent %d tweets in %v (%.0f/s); rows read %d, rejected %d; resume with --start-row %d",
		s.Sent, s.Elapsed.Round(time.Millisecond), float64(s.Sent)/max(s.Elapsed.Seconds(), 1e-9),
		s.RowsRead, s.RowsRejected, s.NextStartRow)
}

// Run replays cfg.Data until the end, the limit or ctx's end (a stop is not
// an error: the summary says where to resume).
func Run(ctx context.Context, cfg Config) (Summary, error) {
	cfg = cfg.withDefaults()
	log := cfg.Logger
	sum := Summary{NextStartRow: cfg.StartRow}
	skip, err := producer.SkipRows(cfg.StartRow)
	if err != nil {
		return sum, err
	}
	cfg.CSV.SkipRows = skip
	src, err := source.Open(source.Paths(cfg.Data), source.Options{Format: cfg.Format, CSV: cfg.CSV, SkipRows: cfg.CSV.SkipRows})
	if err != nil {
		return sum, err
	}
	defer src.Close()

	var snd transport.Sender
	if cfg.SinkURL != "" {
		snd = cehttp.NewSender(cfg.SinkURL)
		log.Info("producing to HTTP sink", "url", cfg.SinkURL)
	} else {
		if err := kafka.EnsureTopic(ctx, cfg.Kafka, cfg.Topic, cfg.Partitions, cfg.Replication); err != nil {
			return sum, err
		}
		p, err := kafka.NewProducer(cfg.Kafka, cfg.Topic)
		if err != nil {
			return sum, err
		}
		snd = p
		log.Info("producing to Kafka", "brokers", cfg.Kafka.Brokers, "topic", cfg.Topic)
	}
	start := time.Now()
	popts := cfg.Producer
	popts.Logger = log
	st, runErr := producer.Run(ctx, src, EventSender(snd), popts)
	dctx, cancel := shutdown.DrainContext(ctx, cfg.DrainTimeout)
	defer cancel()
	closeErr := snd.Close(dctx)
	sum.Elapsed = time.Since(start)
	sum.Sent, sum.RowsRead, sum.RowsRejected = st.Sent, st.RowsRead, st.RejectedTotal()
	sum.NextStartRow = producer.NextStartRow(cfg.StartRow, st)
	// A stop (ctx's end) still returns its error, so a Job interrupted
	// half-way does not count as done, but what was sent before it counts.
	stopped := errors.Is(runErr, context.Canceled) && ctx.Err() != nil
	if (runErr != nil && !stopped) || closeErr != nil {
		sum.NextStartRow = cfg.StartRow
	}
	return sum, errors.Join(runErr, closeErr)
}

// EventSender adapts a transport.Sender (Kafka, HTTP) to the producer's
// Sender: each tweet becomes a tweet CloudEvent (id and partitionkey = tweet
// id).
func EventSender(s transport.Sender) producer.Sender {
	return producer.SenderFunc(func(ctx context.Context, tweets []event.Tweet) error {
		events := make([]cloudevents.Event, len(tweets))
		for i, t := range tweets {
			e, err := event.NewTweetEvent(t)
			if err != nil {
				return err
			}
			events[i] = e
		}
		return s.Send(ctx, events)
	})
}
