package main

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source"
)

func newProduceCmd() *cobra.Command {
	var (
		cfg     = produce.Defaults()
		onError string
	)
	cmd := &cobra.Command{
		Use:   "produce --csv FILE [--kafka-brokers HOSTS --topic tweets | --sink URL]",
		Short: "Replay a CSV of tweets as CloudEvents to Kafka or to an HTTP sink",
		Long: `Replay a CSV of tweets as tweet CloudEvents (dev.tweetflow.tweet.v1).

To Kafka (the default): binary-mode CloudEvents through sarama, record key =
tweet id, idempotent producer with acks=all; the topic is created with
--partitions if it does not exist. SASL and TLS come from flags or KAFKA_*
environment variables.

To HTTP: when K_SINK is set (a SinkBinding or ContainerSource injects it) or
--sink is given, each event is POSTed in binary mode, retrying 404/408/409/
429/5xx with exponential back-off.

Runs as a Kubernetes Job: on failure or interruption it prints the row to
resume from; rerun with --start-row (or START_ROW). Events are identified by
tweet id, so rows sent twice are deduplicated downstream.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			cfg.Producer.OnError = producer.OnError(onError)
			sum, err := produce.Run(cmd.Context(), cfg)
			if sum.RowsRead > 0 || err == nil {
				fmt.Fprintln(cmd.OutOrStdout(), sum)
			}
			return err
		},
	}
	f := cmd.Flags()
	bindKafka(f, &cfg.Kafka, os.Getenv)
	f.StringVar(&cfg.Data, "csv", cfg.Data, "tweets to replay (the same as --data)")
	f.StringVar(&cfg.Data, "data", cfg.Data, "tweets to replay: a file, comma-separated files or a quoted glob ('col/*.jsonl.gz'), - for stdin; gzip and zstd read transparently; several files merge in event-time order")
	f.StringVar((*string)(&cfg.Format), "format", string(source.Auto), "input format: auto (decided from the content), sentiment140, csv, twitter-v2 (twarc2), twitter-v1, qut")
	f.BoolVar(&cfg.CSV.Header, "header", false, "the CSV's first line names the columns")
	f.IntVar(&cfg.StartRow, "start-row", envInt("START_ROW", cfg.StartRow), "first data row to replay, 1-based, after any header (to resume: the row this command prints) [$START_ROW]")
	f.StringVar(&cfg.Topic, "topic", envOr("KAFKA_TOPIC", cfg.Topic), "Kafka topic [$KAFKA_TOPIC]")
	f.Int32Var(&cfg.Partitions, "partitions", cfg.Partitions, "partitions of the topic when it is created")
	f.Int16Var(&cfg.Replication, "replication", cfg.Replication, "replication factor of the topic when it is created")
	f.StringVar(&cfg.SinkURL, "sink", os.Getenv("K_SINK"), "POST events to this URL instead of Kafka [$K_SINK]")
	f.Float64Var(&cfg.Producer.Speed, "speed", 0, "replay speed relative to the tweets' timestamps (0 = as fast as possible)")
	f.Float64Var(&cfg.Producer.MaxRate, "max-rate", 0, "cap on tweets per second (0 = none)")
	f.Int64Var(&cfg.Producer.Limit, "limit", 0, "stop after this many tweets (0 = all)")
	f.IntVar(&cfg.Producer.BatchSize, "batch", cfg.Producer.BatchSize, "tweets per send (one idempotent produce request set)")
	f.StringVar(&onError, "on-error", string(cfg.Producer.OnError), "bad rows: skip (count and log) or stop")
	f.DurationVar(&cfg.DrainTimeout, "drain-timeout", cfg.DrainTimeout, "after Ctrl-C, give up flushing the last sends after this long")
	return cmd
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return n
	}
	return def
}
