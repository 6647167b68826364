package main

import (
	"bytes"
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/transport/kafka"
)

// The producer Job: writes to a new topic with the asked partitions, stops
// at --limit, prints the row to resume from, and a rerun from that row
// continues where it stopped.
func TestProduceToKafkaResumable(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	broker := c.ListenAddrs()[0]
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		root := newRootCmd()
		root.SetOut(&out)
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append([]string{"produce", "--csv", "../../data/sample.csv", "--kafka-brokers", broker, "--topic", "tweets", "--partitions", "3"}, args...))
		if err := root.ExecuteContext(context.Background()); err != nil {
			t.Fatalf("produce %v: %v", args, err)
		}
		return out.String()
	}
	out := run("--limit", "300")
	m := regexp.MustCompile(`sent (\d+) tweets.*resume with --start-row (\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] != "300" || m[2] != "300" {
		t.Fatalf("first run printed %q", out)
	}
	out = run("--start-row", m[2], "--limit", "200")
	if !regexp.MustCompile(`sent 200 tweets.*resume with --start-row 500`).MatchString(out) {
		t.Fatalf("second run printed %q", out)
	}

	cfg := kafka.Config{Brokers: []string{broker}}
	base, _ := cfg.Sarama()
	client, err := sarama.NewClient(cfg.Brokers, base)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	parts, err := client.Partitions("tweets")
	if err != nil || len(parts) != 3 {
		t.Fatalf("partitions %v err %v", parts, err)
	}
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	ids := map[string]bool{}
	for _, p := range parts {
		newest, _ := client.GetOffset("tweets", p, sarama.OffsetNewest)
		if newest == 0 {
			continue
		}
		pc, err := consumer.ConsumePartition("tweets", p, sarama.OffsetOldest)
		if err != nil {
			t.Fatal(err)
		}
		for off := int64(0); off < newest; off++ {
			select {
			case msg := <-pc.Messages():
				if string(msg.Key) == "" {
					t.Fatal("record without key")
				}
				ids[string(msg.Key)] = true
			case <-time.After(10 * time.Second):
				t.Fatal("timeout reading")
			}
		}
		pc.Close()
	}
	if len(ids) != 500 {
		t.Fatalf("%d distinct tweets in the topic, want 500", len(ids))
	}
}
