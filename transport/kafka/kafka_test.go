package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/kafka"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

func newCluster(t testing.TB, opts ...kfake.Opt) kafka.Config {
	t.Helper()
	c, err := kfake.NewCluster(append([]kfake.Opt{kfake.NumBrokers(1), kfake.GroupMinSessionTimeout(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return kafka.Config{Brokers: c.ListenAddrs(), ClientID: t.Name()}
}

func tweets(t testing.TB, n int, prefix string) []cloudevents.Event {
	t.Helper()
	out := make([]cloudevents.Event, n)
	for i := range out {
		id := fmt.Sprintf("%s%06d", prefix, i)
		e, err := event.NewTweetEvent(event.Tweet{ID: id, User: "u", Text: "text " + id, CreatedAt: time.Unix(1600000000+int64(i), 0).UTC()})
		if err != nil {
			t.Fatal(err)
		}
		out[i] = e
	}
	return out
}

func produce(t testing.TB, cfg kafka.Config, topic string, parts int32, events []cloudevents.Event) {
	t.Helper()
	ctx := context.Background()
	if err := kafka.EnsureTopic(ctx, cfg, topic, parts, 1); err != nil {
		t.Fatal(err)
	}
	p, err := kafka.NewProducer(cfg, topic)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	if err := p.Send(ctx, events); err != nil {
		t.Fatal(err)
	}
}

// saramaConfig is cfg's base sarama configuration.
func saramaConfig(t testing.TB, cfg kafka.Config) *sarama.Config {
	t.Helper()
	base, err := cfg.Sarama()
	if err != nil {
		t.Fatal(err)
	}
	return base
}

// clusterAdmin is an admin client of cfg's cluster; the caller closes it.
func clusterAdmin(t testing.TB, cfg kafka.Config) sarama.ClusterAdmin {
	t.Helper()
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, saramaConfig(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	return admin
}

// committed returns the group's committed offset per partition of topic.
func committed(t testing.TB, cfg kafka.Config, group, topic string, parts int32) map[int32]int64 {
	t.Helper()
	admin := clusterAdmin(t, cfg)
	defer admin.Close()
	ps := make([]int32, parts)
	for i := range ps {
		ps[i] = int32(i)
	}
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: ps})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, b := range resp.Blocks[topic] {
		out[p] = b.Offset
	}
	return out
}

// committedOr is partition 0's committed offset, -1 while the group has
// none (it may not exist yet).
func committedOr(cfg kafka.Config, group, topic string) int64 {
	base, err := cfg.Sarama()
	if err != nil {
		return -1
	}
	admin, err := sarama.NewClusterAdmin(cfg.Brokers, base)
	if err != nil {
		return -1
	}
	defer admin.Close()
	resp, err := admin.ListConsumerGroupOffsets(group, map[string][]int32{topic: {0}})
	if err != nil || resp.Blocks[topic][0] == nil {
		return -1
	}
	return resp.Blocks[topic][0].Offset
}

// waitFor polls state held by the broker, which sends no signal.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func startConsumer(t *testing.T, cfg kafka.Config, group, topic string, opts kafka.ConsumerOptions, h transport.AckHandler) (stop func()) {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := kafka.NewConsumer(cfg, group, []string{topic}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return transporttest.Receive(t, c, h)
}

func TestRecordIsBinaryModeKeyedByTweetID(t *testing.T) {
	e := tweets(t, 1, "k")[0]
	e.SetExtension("custom", "v")
	m, err := kafka.Record(context.Background(), "tweets", &e)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := m.Key.Encode()
	val, _ := m.Value.Encode()
	if string(key) != e.ID() {
		t.Fatalf("key = %q, want tweet id %q", key, e.ID())
	}
	if string(val) != string(e.Data()) {
		t.Fatalf("value = %s, want the data only (binary mode)", val)
	}
	h := map[string]string{}
	for _, r := range m.Headers {
		h[string(r.Key)] = string(r.Value)
	}
	for k, want := range map[string]string{"ce_id": e.ID(), "ce_type": event.TypeTweet, "ce_specversion": "1.0", "content-type": "application/json", "ce_partitionkey": e.ID(), "ce_custom": "v"} {
		if h[k] != want {
			t.Errorf("header %s = %q, want %q (all %v)", k, h[k], want, h)
		}
	}
}

func TestProducerRequiresIdempotentAcksAll(t *testing.T) {
	cfg := newCluster(t)
	base, _ := cfg.Sarama()
	base.Producer.Return.Successes = true
	client, err := sarama.NewClient(cfg.Brokers, base)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if _, err := kafka.NewProducerFromClient(client, "t"); err == nil {
		t.Fatal("a non-idempotent client was accepted")
	}
	pc := kafka.ProducerConfig(base)
	if !pc.Producer.Idempotent || pc.Producer.RequiredAcks != sarama.WaitForAll || pc.Net.MaxOpenRequests != 1 {
		t.Fatalf("ProducerConfig: idempotent %v acks %v max open %d", pc.Producer.Idempotent, pc.Producer.RequiredAcks, pc.Net.MaxOpenRequests)
	}
}

func TestEnsureTopic(t *testing.T) {
	cfg := newCluster(t)
	ctx := context.Background()
	if err := kafka.EnsureTopic(ctx, cfg, "tweets", 6, 1); err != nil {
		t.Fatal(err)
	}
	if err := kafka.EnsureTopic(ctx, cfg, "tweets", 4, 1); err != nil {
		t.Fatalf("existing topic with more partitions: %v", err)
	}
	if err := kafka.EnsureTopic(ctx, cfg, "tweets", 12, 1); err == nil {
		t.Fatal("a topic with too few partitions was accepted")
	}
	if err := kafka.EnsureTopic(ctx, cfg, "x", 0, 1); err == nil {
		t.Fatal("0 partitions accepted")
	}
}

// Every event arrives once, attributes intact, and the group's commits reach
// the end of every partition.
func TestProduceConsumeCommit(t *testing.T) {
	cfg := newCluster(t)
	in := tweets(t, 500, "a")
	produce(t, cfg, "tweets", 4, in)
	var mu sync.Mutex
	got := map[string]cloudevents.Event{}
	stop := startConsumer(t, cfg, "g", "tweets", kafka.ConsumerOptions{}, func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		mu.Lock()
		if _, dup := got[e.ID()]; dup {
			t.Errorf("event %s delivered twice without a failure", e.ID())
		}
		got[e.ID()] = e
		mu.Unlock()
		ack(nil)
	})
	waitFor(t, 20*time.Second, "500 events", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == len(in) })
	stop()
	for _, want := range in {
		g := got[want.ID()]
		tw, err := event.DecodeTweet(&g)
		if err != nil {
			t.Fatalf("%s: %v", want.ID(), err)
		}
		if g.Type() != want.Type() || g.Source() != want.Source() || !g.Time().Equal(want.Time()) || g.Subject() != want.Subject() || tw.Text != "text "+want.ID() {
			t.Fatalf("event changed in transit:\n got %s\nwant %s", g, want)
		}
		if g.Extensions()["kafkatopic"] != "tweets" {
			t.Fatalf("missing kafka extensions: %v", g.Extensions())
		}
	}
	var total int64
	for _, off := range committed(t, cfg, "g", "tweets", 4) {
		total += off
	}
	if total != int64(len(in)) {
		t.Fatalf("committed offsets sum to %d, want %d", total, len(in))
	}
}

// kafkapubsub's rule: an out-of-order ack never commits past an unacked
// event, and a restart redelivers from the first unacked one.
func TestOutOfOrderAckNeverCommitsPastUnacked(t *testing.T) {
	cfg := newCluster(t)
	in := tweets(t, 50, "o")
	produce(t, cfg, "tweets", 1, in)
	var held atomic.Value // func(error) of offset 10
	var acked atomic.Int32
	stop := startConsumer(t, cfg, "g", "tweets", kafka.ConsumerOptions{}, func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		if e.ID() == in[10].ID() {
			held.Store(ack)
			return
		}
		acked.Add(1)
		ack(nil)
	})
	waitFor(t, 20*time.Second, "49 acks", func() bool { return acked.Load() == 49 && held.Load() != nil })
	// The commit of the acked prefix is the signal (no sleep for an
	// auto-commit interval): it must stop at 10. A commit past 10 never
	// equals 10, so this fails rather than passes by luck.
	var off int64
	waitFor(t, 20*time.Second, "commit of the acked prefix", func() bool {
		off = committedOr(cfg, "g", "tweets")
		return off >= 10
	})
	if off != 10 {
		t.Fatalf("committed %d past the unacked offset 10", off)
	}
	held.Load().(func(error))(nil)
	waitFor(t, 5*time.Second, "commit of all 50", func() bool { return committedOr(cfg, "g", "tweets") == 50 }) // the group may not exist yet
	stop()
}

// Benthos's at-least-once test: events not acked when the consumer stops
// come back to the next consumer of the group; acked ones do not.
func TestUnackedRedeliveredAfterRestart(t *testing.T) {
	cfg := newCluster(t)
	in := tweets(t, 20, "r")
	produce(t, cfg, "tweets", 1, in)
	var seen atomic.Int32
	stop := startConsumer(t, cfg, "g", "tweets", kafka.ConsumerOptions{DrainTimeout: 100 * time.Millisecond}, func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		seen.Add(1)
		if e.ID() == in[15].ID() {
			return // never acked: the process "crashes" with it in flight
		}
		ack(nil)
	})
	waitFor(t, 20*time.Second, "20 deliveries", func() bool { return seen.Load() == 20 })
	stop() // commits the acked prefix as it leaves the group
	var mu sync.Mutex
	var again []string
	startConsumer(t, cfg, "g", "tweets", kafka.ConsumerOptions{}, func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		mu.Lock()
		again = append(again, e.ID())
		mu.Unlock()
		ack(nil)
	})
	waitFor(t, 20*time.Second, "redelivery", func() bool { mu.Lock(); defer mu.Unlock(); return len(again) >= 5 })
	// A wrong redelivery (an acked offset before 15) would come first, in
	// partition order: again[0] catches it without waiting for more.
	mu.Lock()
	defer mu.Unlock()
	if len(again) != 5 || again[0] != in[15].ID() || again[4] != in[19].ID() {
		t.Fatalf("redelivered %v, want %s..%s", again, in[15].ID(), in[19].ID())
	}
}

// A transient failure is retried in place until it succeeds; a rejected
// event and a record that is not a CloudEvent go to the dead-letter topic,
// and consumption goes on.
func TestRetryAndDeadLetter(t *testing.T) {
	cfg := newCluster(t)
	in := tweets(t, 10, "d")
	produce(t, cfg, "tweets", 1, in[:5])
	// A raw record in the middle: not a CloudEvent.
	sp, err := sarama.NewSyncProducer(cfg.Brokers, kafka.ProducerConfig(saramaConfig(t, cfg)))
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	if _, _, err := sp.SendMessage(&sarama.ProducerMessage{Topic: "tweets", Value: sarama.StringEncoder("hello, not an event")}); err != nil {
		t.Fatal(err)
	}
	produce(t, cfg, "tweets", 1, in[5:])
	if err := kafka.EnsureTopic(context.Background(), cfg, "tweets-dlq", 1, 1); err != nil {
		t.Fatal(err)
	}

	var failures atomic.Int32
	var okCount atomic.Int32
	startConsumer(t, cfg, "g", "tweets", kafka.ConsumerOptions{
		RetryDelay:  5 * time.Millisecond,
		DeadLetter:  &kafka.TopicDeadLetter{Topic: "tweets-dlq", Producer: sp},
		MaxInFlight: 4,
	}, func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		switch e.ID() {
		case in[2].ID():
			if failures.Add(1) <= 3 {
				ack(errors.New("store unavailable"))
				return
			}
		case in[7].ID():
			ack(&event.FieldError{EventID: e.ID(), Field: "data.text", Reason: "missing text"})
			return
		}
		okCount.Add(1)
		ack(nil)
	})
	waitFor(t, 20*time.Second, "9 successes and 11 commits", func() bool {
		return okCount.Load() == 9 && committed(t, cfg, "g", "tweets", 1)[0] == 11
	})
	if failures.Load() != 4 {
		t.Fatalf("transient event tried %d times, want 4", failures.Load())
	}

	// Two records in the dead-letter topic, with their reasons.
	var reasons []string
	for _, m := range readTopic(t, cfg, "tweets-dlq", 2) {
		for _, h := range m.Headers {
			if string(h.Key) == "tweetflow_error" {
				reasons = append(reasons, string(h.Value))
			}
		}
	}
	if len(reasons) != 2 {
		t.Fatalf("dead-letter records carry %d reasons, want 2: %q", len(reasons), reasons)
	}
	if want := "tweets/0@5: not a CloudEvent"; !strings.Contains(reasons[0], want) {
		t.Errorf("first reason %q, want it to contain %q", reasons[0], want)
	}
	if want := "field data.text"; !strings.Contains(reasons[1], want) {
		t.Errorf("second reason %q, want it to contain %q", reasons[1], want)
	}
}

func TestSASL(t *testing.T) {
	for _, mech := range []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"} {
		t.Run(mech, func(t *testing.T) {
			cfg := newCluster(t, kfake.EnableSASL(), kfake.Superuser(mech, "admin", "s3cret"))
			cfg.SASLMechanism, cfg.SASLUser, cfg.SASLPassword = mech, "admin", "s3cret"
			produce(t, cfg, "tweets", 1, tweets(t, 3, "s"))
			cfg.SASLPassword = "wrong"
			if _, err := kafka.NewProducer(cfg, "tweets"); err == nil {
				t.Fatal("wrong password accepted")
			}
		})
	}
	if _, err := (kafka.Config{Brokers: []string{"x:1"}, SASLMechanism: "GSSAPI"}).Sarama(); err == nil {
		t.Fatal("unsupported mechanism accepted")
	}
	if _, err := (kafka.Config{}).Sarama(); err == nil {
		t.Fatal("no brokers accepted")
	}
}

// A handler that acks one delivery twice (first a transient failure, then
// success) must not finish the record twice: the second finish used to free
// a slot nobody held and drive the claim's WaitGroup negative, a panic that
// killed the consumer.
func TestDoubleAckFinishesOnce(t *testing.T) {
	cfg := newCluster(t)
	in := tweets(t, 20, "w")
	produce(t, cfg, "tweets", 1, in)
	var calls, acked atomic.Int32
	stop := startConsumer(t, cfg, "g", "tweets", kafka.ConsumerOptions{RetryDelay: time.Millisecond, MaxInFlight: 2}, func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		calls.Add(1)
		ack(nil)
		ack(errors.New("a second ack, ignored"))
		ack(nil)
		acked.Add(1)
	})
	waitFor(t, 20*time.Second, "20 handled", func() bool { return acked.Load() == 20 })
	waitFor(t, 20*time.Second, "commit of all 20", func() bool { return committedOr(cfg, "g", "tweets") == 20 }) // the group may not exist yet
	stop()
	if calls.Load() != 20 {
		t.Fatalf("handler called %d times, want 20 (an ignored second ack must not retry)", calls.Load())
	}
}

// A handler that panics on one text (a tokenizer bug, say) does not kill the
// consumer: that record goes to the dead-letter topic, which
// NewTopicDeadLetter created (Kafka does not create it on first produce, and
// a missing one held the partition forever), the panic is counted, and the
// rest are handled and committed.
func TestPanicIsDeadLetteredToCreatedTopic(t *testing.T) {
	cfg := newCluster(t)
	in := tweets(t, 10, "p")
	produce(t, cfg, "tweets", 1, in)
	dl, err := kafka.NewTopicDeadLetter(context.Background(), cfg, "tweets-dlq", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close(context.Background())
	obs := &transporttest.Outcomes{}
	var ok atomic.Int32
	stop := startConsumer(t, cfg, "g", "tweets", kafka.ConsumerOptions{DeadLetter: dl, Observer: obs}, func(ctx context.Context, e cloudevents.Event, ack func(error)) {
		tw, err := event.DecodeTweet(&e)
		if err != nil {
			ack(err)
			return
		}
		if tw.Text == "text "+in[4].ID() {
			panic("scorer: cannot tokenize " + tw.Text)
		}
		ok.Add(1)
		ack(nil)
	})
	waitFor(t, 20*time.Second, "commit of all 10", func() bool { return committedOr(cfg, "g", "tweets") == 10 }) // the group may not exist yet
	stop()
	if ok.Load() != 9 || obs.Get(transport.OutcomePanicked) != 1 || obs.Get(transport.OutcomeOK) != 9 {
		t.Fatalf("handled %d, outcomes %v; want 9 ok and 1 panicked", ok.Load(), obs)
	}
	recs := readTopic(t, cfg, "tweets-dlq", 1)
	var reason, id string
	for _, h := range recs[0].Headers {
		switch string(h.Key) {
		case "tweetflow_error":
			reason = string(h.Value)
		case "ce_id":
			id = string(h.Value)
		}
	}
	if id != in[4].ID() || !strings.Contains(reason, "panicked") || !strings.Contains(reason, "cannot tokenize") {
		t.Fatalf("dead letter of %q with reason %q, want %s and the panic", id, reason, in[4].ID())
	}
}

// The dead-letter topic's replication factor is the caller's; 0 leaves it
// to the broker's default (kfake's is 3, bounded by its brokers).
func TestNewTopicDeadLetterReplication(t *testing.T) {
	cfg := newCluster(t, kfake.NumBrokers(3))
	for topic, want := range map[string]int{"dlq-default": 3, "dlq-two": 2} {
		replication := int16(0)
		if topic == "dlq-two" {
			replication = 2
		}
		dl, err := kafka.NewTopicDeadLetter(context.Background(), cfg, topic, replication)
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		dl.Close(context.Background())
		admin := clusterAdmin(t, cfg)
		md, err := admin.DescribeTopics([]string{topic})
		admin.Close()
		if err != nil || len(md) != 1 || len(md[0].Partitions) != 1 {
			t.Fatalf("%s: describe: %v %v", topic, md, err)
		}
		if got := len(md[0].Partitions[0].Replicas); got != want {
			t.Errorf("%s (replication %d): %d replicas, want %d", topic, replication, got, want)
		}
	}
}

func TestNewTopicDeadLetterRefusesEmptyName(t *testing.T) {
	cfg := newCluster(t)
	if _, err := kafka.NewTopicDeadLetter(context.Background(), cfg, "", 1); err == nil {
		t.Fatal("empty dead-letter topic accepted")
	}
}

// readTopic reads n records from partition 0 of topic, from the start.
func readTopic(t testing.TB, cfg kafka.Config, topic string, n int) []*sarama.ConsumerMessage {
	t.Helper()
	c, err := sarama.NewConsumer(cfg.Brokers, saramaConfig(t, cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pc, err := c.ConsumePartition(topic, 0, sarama.OffsetOldest)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var out []*sarama.ConsumerMessage
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for len(out) < n {
		select {
		case m := <-pc.Messages():
			out = append(out, m)
		case <-timeout.C:
			t.Fatalf("topic %s has %d records, want %d", topic, len(out), n)
		}
	}
	return out
}
