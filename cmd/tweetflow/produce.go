package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/service"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

func newProduceCmd() *cobra.Command {
	var (
		kcfg        kafka.Config
		csvPath     string
		header      bool
		startRow    int
		topic       string
		partitions  int32
		replication int16
		sinkURL     string
		opts        producer.Options
		onError     string
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
			ctx := cmd.Context()
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			opts.Logger = log
			opts.OnError = producer.OnError(onError)
			skip, err := producer.SkipRows(startRow)
			if err != nil {
				return err
			}
			src, err := csv.Open(csvPath, csv.Options{Header: header, SkipRows: skip})
			if err != nil {
				return err
			}
			defer src.Close()

			var snd transport.Sender
			if sinkURL != "" {
				snd = cehttp.NewSender(sinkURL)
				log.Info("producing to HTTP sink", "url", sinkURL)
			} else {
				if err := kafka.EnsureTopic(ctx, kcfg, topic, partitions, replication); err != nil {
					return err
				}
				p, err := kafka.NewProducer(kcfg, topic)
				if err != nil {
					return err
				}
				snd = p
				log.Info("producing to Kafka", "brokers", kcfg.Brokers, "topic", topic)
			}
			start := time.Now()
			st, runErr := producer.Run(ctx, src, service.EventSender(snd), opts)
			closeCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			runErr = errors.Join(runErr, snd.Close(closeCtx))
			el := time.Since(start)
			resume := producer.NextStartRow(startRow, st)
			if runErr != nil && !errors.Is(runErr, context.Canceled) {
				resume = startRow // not every row read was sent
			}
			fmt.Fprintf(cmd.OutOrStdout(), "sent %d tweets in %v (%.0f/s); rows read %d, rejected %d; resume with --start-row %d\n",
				st.Sent, el.Round(time.Millisecond), float64(st.Sent)/el.Seconds(), st.RowsRead, st.RejectedTotal(), resume)
			return runErr
		},
	}
	f := cmd.Flags()
	kcfg.BindFlags(f, os.Getenv)
	f.StringVar(&csvPath, "csv", "data/sample.csv", "CSV file of tweets")
	f.BoolVar(&header, "header", false, "the CSV's first line names the columns")
	f.IntVar(&startRow, "start-row", envInt("START_ROW", 1), "first data row to replay, 1-based, after any header (to resume: the row this command prints) [$START_ROW]")
	f.StringVar(&topic, "topic", envOr("KAFKA_TOPIC", "tweets"), "Kafka topic [$KAFKA_TOPIC]")
	f.Int32Var(&partitions, "partitions", 6, "partitions of the topic when it is created")
	f.Int16Var(&replication, "replication", 1, "replication factor of the topic when it is created")
	f.StringVar(&sinkURL, "sink", os.Getenv("K_SINK"), "POST events to this URL instead of Kafka [$K_SINK]")
	f.Float64Var(&opts.Speed, "speed", 0, "replay speed relative to the tweets' timestamps (0 = as fast as possible)")
	f.Float64Var(&opts.MaxRate, "max-rate", 0, "cap on tweets per second (0 = none)")
	f.Int64Var(&opts.Limit, "limit", 0, "stop after this many tweets (0 = all)")
	f.IntVar(&opts.BatchSize, "batch", 2048, "tweets per send (one idempotent produce request set; 2048 measured fastest)")
	f.StringVar(&onError, "on-error", string(producer.Skip), "bad rows: skip (count and log) or stop")
	return cmd
}

func envInt(k string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(k)); err == nil {
		return n
	}
	return def
}
