package alerting_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"

	"github.com/tweetflow/tweetflow/alerts/campaign"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/cputime"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/producer/source"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// BenchmarkEngineConsumer measures one alert engine replica apart from the
// aggregators: record events as the Kafka consumer hands them over (binary
// mode records, decoded by transport/kafka), through the engine's handler
// (DecodeRecord, the batches, the Tee's event-time hold, the engine with
// the coordination networks) to the alerts in a SQLite alerts table. The
// stream is organic data shaped like a real collection (alerts/campaign:
// a quarter retweets in cascades, replies, shared links; sentiment140
// texts) with every planted campaign pattern, 100,000 tweets over two hours,
// repeated with fresh ids and later times for as many records as the
// benchmark asks. It reports the process's CPU time per record (the
// machine is shared) and records per CPU second. Run with a fixed count:
// -benchtime 200000x.
func BenchmarkEngineConsumer(b *testing.B) {
	ctx := context.Background()
	tweets := benchStream(b)
	msgs := make([]*sarama.ConsumerMessage, b.N)
	span := tweets[len(tweets)-1].CreatedAt.Sub(tweets[0].CreatedAt) + time.Minute
	for i := range msgs {
		cycle := i / len(tweets)
		tw := tweets[i%len(tweets)]
		if cycle > 0 {
			tw.ID = fmt.Sprintf("%s-%d", tw.ID, cycle)
			tw.CreatedAt = tw.CreatedAt.Add(time.Duration(cycle) * span)
		}
		e, err := event.NewRecordEvent(event.Record{Tweet: tw, Results: []event.RecordResult{
			{Model: "sentiment", ModelVersion: "1", Value: float64(i%200)/100 - 1, Label: "neutral"},
		}})
		if err != nil {
			b.Fatal(err)
		}
		pm, err := kafka.Record(ctx, "records", &e)
		if err != nil {
			b.Fatal(err)
		}
		key, _ := pm.Key.Encode()
		val, _ := pm.Value.Encode()
		hs := make([]*sarama.RecordHeader, len(pm.Headers))
		for k := range pm.Headers {
			hs[k] = &pm.Headers[k]
		}
		msgs[i] = &sarama.ConsumerMessage{Topic: "records", Partition: int32(i % 12), Offset: int64(i), Key: key, Value: val, Headers: hs}
	}
	c := alerting.ClusterDefaults()
	c.Rebuild = 0
	eng, err := alerting.OpenEngine(ctx, alerting.EngineConfig{Alerts: c, ModelsDir: "../../models", Models: []string{"sentiment"},
		Store: core.StoreConfig{SQLite: filepath.Join(b.TempDir(), "bench.db")}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	h := eng.Handler()
	var wg sync.WaitGroup
	wg.Add(len(msgs))
	ack := func(err error) {
		if err != nil {
			b.Error(err)
		}
		wg.Done()
	}
	b.ResetTimer()
	cpu0 := cputime.Process()
	for _, m := range msgs {
		e, err := kafka.Decode(ctx, m)
		if err != nil {
			b.Fatal(err)
		}
		h(ctx, *e, ack)
	}
	wg.Wait()
	cpu := cputime.Process() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/record")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "records/cpu-s")
	if err := eng.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// benchStream is two hours of organic tweets with the planted patterns.
func benchStream(b *testing.B) []event.Tweet {
	sample, err := source.ReadTweets(context.Background(), []string{"../../data/sample.csv"}, source.Options{})
	if err != nil {
		b.Fatal(err)
	}
	var texts, handles []string
	for _, t := range sample {
		texts, handles = append(texts, t.Text), append(handles, t.User)
	}
	start := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	org, err := campaign.MakeOrganic(campaign.OrganicConfig{Tweets: 100_000, Start: start, Span: 2 * time.Hour,
		Shape: campaign.MeasuredShape(), Seed: 3, Texts: texts, Handles: handles})
	if err != nil {
		b.Fatal(err)
	}
	tweets, _, err := campaign.Plant(org, start, 2*time.Hour, campaign.DefaultPlant(), 3)
	if err != nil {
		b.Fatal(err)
	}
	return tweets
}
