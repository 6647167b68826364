package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/event"
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
	// --start-row is 1-based, as in run: 300 rows sent from row 1 resume at 301.
	if m == nil || m[1] != "300" || m[2] != "301" {
		t.Fatalf("first run printed %q", out)
	}
	out = run("--start-row", m[2], "--limit", "200")
	if !regexp.MustCompile(`sent 200 tweets.*resume with --start-row 501`).MatchString(out) {
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

// HTTP mode (SinkBinding/ContainerSource set K_SINK): each tweet is POSTed
// as a binary-mode CloudEvent; a 503 is retried.
func TestProduceToHTTPSink(t *testing.T) {
	var mu sync.Mutex
	got := map[string]int{}
	first := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if first {
			first = false
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("ce-type") != event.TypeTweet || r.Header.Get("ce-specversion") != "1.0" {
			http.Error(w, "not a binary-mode tweet event", http.StatusBadRequest)
			return
		}
		got[r.Header.Get("ce-id")]++
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	t.Setenv("K_SINK", srv.URL)
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"produce", "--csv", "../../data/sample.csv", "--limit", "50"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 50 {
		t.Fatalf("sink got %d distinct events, want 50 (output %q)", len(got), out.String())
	}
}
