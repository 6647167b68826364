package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/kafkaonly"
)

// kcatRecord is one record as `kcat -C -f '%k\t%h\t%s\n'` prints it.
type kcatRecord struct {
	key     string
	headers map[string]string
	value   string
}

// kcatBin is Debian's kcat (librdkafka), the independent Kafka client of
// these tests. Missing, the test fails: it is a declared test dependency.
func kcatBin(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kcat")
	if err != nil {
		t.Fatal("kcat not found on PATH: apt-get install kcat (Debian's librdkafka client; the interoperability test needs an independent Kafka client)")
	}
	return p
}

// kcatConsume reads n records of topic from the beginning with kcat.
func kcatConsume(t *testing.T, bin, broker, topic string, n int) []kcatRecord {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-b", broker, "-C", "-t", topic, "-o", "beginning", "-c", strconv.Itoa(n), "-q", "-f", `%k\t%h\t%s\n`)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kcat -C -t %s -c %d: %v (%s); read so far:\n%s", topic, n, err, stderr.String(), out)
	}
	var recs []kcatRecord
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		parts := strings.SplitN(l, "\t", 3)
		if len(parts) != 3 {
			t.Fatalf("kcat line %q: want key, headers and value", l)
		}
		r := kcatRecord{key: parts[0], headers: map[string]string{}, value: parts[2]}
		for _, h := range strings.Split(parts[1], ",") {
			if k, v, ok := strings.Cut(h, "="); ok {
				r.headers[k] = v
			}
		}
		recs = append(recs, r)
	}
	return recs
}

// kcatProduce writes one record with kcat (headers as name=value).
func kcatProduce(t *testing.T, bin, broker, topic, key, value string, headers map[string]string) {
	t.Helper()
	args := []string{"-b", broker, "-P", "-t", topic, "-k", key}
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		args = append(args, "-H", k+"="+headers[k])
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader(value + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("kcat -P -t %s: %v\n%s", topic, err, out)
	}
}

// kfakeProcess builds and starts integration/kfakeserver and returns its
// address; the process ends (stdin closed) when the test does.
func kfakeProcess(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kfakeserver")
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command builds kfakeserver: %v", err)
	}
	build := exec.Command(goBin, "build", "-o", bin, "./kfakeserver")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build kfakeserver: %v\n%s", err, out)
	}
	cmd := exec.Command(bin)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = stdin.Close()
		if err := cmd.Wait(); err != nil {
			t.Errorf("kfakeserver: %v: %s", err, stderr.String())
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	addr, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		t.Fatalf("kfakeserver said %q (%v): %s", line, err, stderr.String())
	}
	return addr
}

// TestKcatInterop has the pipeline's topics written and read by kcat
// (librdkafka), an implementation that shares no code with ours (#14,
// "Interoperability, tested"): kcat reads the producer's record (key, ce_*
// headers, JSON body); kcat-written CloudEvents records are scored by the
// Kafka-only function (`tweetflow kafka function`), and a kcat-written
// record that is not a CloudEvent goes to the dead-letter topic without
// holding its partition (the record after it is scored). The broker is kfake
// run as its own process on 127.0.0.1.
func TestKcatInterop(t *testing.T) {
	bin := kcatBin(t)
	// The broker is its own process too: kfake behind integration/kfakeserver.
	k := newKafkaOnlyAt(t, []string{kfakeProcess(t)}, 1) // one partition: the records after the bad one share it
	broker := k.kcfg.Brokers[0]
	const deadLetters = "tweetflow-dead-letter"

	tweet := event.Tweet{ID: "1001", User: "alice", Text: "I love this, what a wonderful day", CreatedAt: time.Date(2009, 4, 6, 22, 19, 45, 0, time.UTC), Lang: "en"}
	ev, err := event.NewTweetEvent(tweet)
	if err != nil {
		t.Fatal(err)
	}
	k.produce([]cloudevents.Event{ev})

	// 1. kcat reads what our producer wrote.
	recs := kcatConsume(t, bin, broker, "tweets", 1)
	r := recs[0]
	if r.key != tweet.ID {
		t.Errorf("kcat read key %q, want the tweet id %q", r.key, tweet.ID)
	}
	for h, want := range map[string]string{"ce_specversion": "1.0", "ce_id": tweet.ID, "ce_type": event.TypeTweet} {
		if r.headers[h] != want {
			t.Errorf("kcat read header %s = %q, want %q (all: %v)", h, r.headers[h], want, r.headers)
		}
	}
	var got event.Tweet
	if err := json.Unmarshal([]byte(r.value), &got); err != nil || got.ID != tweet.ID || got.Text != tweet.Text {
		t.Errorf("kcat read body %q (%v), want the tweet's JSON", r.value, err)
	}

	// 2. kcat writes: a CloudEvent, a record that is not one, another CloudEvent.
	write := func(id string) {
		h := map[string]string{}
		for name, v := range r.headers {
			h[name] = v
		}
		h["ce_id"] = id
		h["ce_source"] = "kcat"
		body := strings.Replace(r.value, `"id":"1001"`, `"id":"`+id+`"`, 1)
		if body == r.value {
			t.Fatalf("the tweet body %q has no id to replace", r.value)
		}
		kcatProduce(t, bin, broker, "tweets", id, body, h)
	}
	write("2002")
	kcatProduce(t, bin, broker, "tweets", "3003", "not a cloudevent", nil)
	write("4004")

	for _, name := range k.models {
		cfg := kafkaonly.FunctionConfig{Function: core.FunctionConfig{ModelDir: filepath.Join(modelsDir, name)},
			Consumer: kafkaonly.Consumer{Kafka: k.kcfg, DeadLetterTopic: deadLetters}, Partitions: 1, Logger: slog.New(slog.DiscardHandler)}
		k.run(func(ctx context.Context) error { return kafkaonly.RunFunction(ctx, cfg) })
	}
	defer k.stopAll()

	// Every model scores 1001, 2002 and 4004: the bad record did not hold the partition.
	meta := kcatConsume(t, bin, broker, "metadata", 3*len(k.models))
	seen := map[string]int{}
	for _, m := range meta {
		seen[m.key]++
		if m.headers["ce_type"] != event.TypeMetadata {
			t.Errorf("metadata record %s: ce_type %q, want %q", m.key, m.headers["ce_type"], event.TypeMetadata)
		}
	}
	for _, id := range []string{"1001", "2002", "4004"} {
		if seen[id] != len(k.models) {
			t.Errorf("tweet %s: %d metadata records, want one per model (%d); all: %v", id, seen[id], len(k.models), seen)
		}
	}
	if seen["3003"] != 0 {
		t.Errorf("the record that is not a CloudEvent was scored")
	}
	// The bad record is in the dead-letter topic, once per model's group.
	dl := kcatConsume(t, bin, broker, deadLetters, len(k.models))
	for _, d := range dl {
		if d.key != "3003" || d.value != "not a cloudevent" {
			t.Errorf("dead letter key %q value %q, want the kcat record 3003", d.key, d.value)
		}
	}
}
