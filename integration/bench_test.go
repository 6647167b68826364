package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/cputime"
	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// buildFunction builds the model function's binary (functions/model) once.
func buildFunction(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "function")
	cmd := exec.Command("go", "build", "-o", bin, "../functions/model")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	return bin
}

func freePort(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startFunction execs the function on one core (GOMAXPROCS=1, pinned to CPU
// 0 with taskset when it exists) and returns the time from exec to the first
// 200 from /health/readiness.
func startFunction(b *testing.B, bin, model, addr string) (time.Duration, func(), int) {
	b.Helper()
	modelDir, _ := filepath.Abs(filepath.Join(modelsDir, model))
	args := []string{bin}
	if ts, err := exec.LookPath("taskset"); err == nil {
		args = append([]string{ts, "-c", "0"}, args...)
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", "LISTEN_ADDRESS="+addr, "MODEL_DIR="+modelDir)
	cmd.Stderr = io.Discard
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }
	client := &http.Client{Timeout: time.Second}
	for {
		resp, err := client.Get("http://" + addr + "/health/readiness")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return time.Since(start), stop, cmd.Process.Pid
			}
		}
		if time.Since(start) > 20*time.Second {
			stop()
			b.Fatalf("function not ready after 20s (last err %v)", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// BenchmarkFunctionStartToReady: process exec → readiness 200 (model loaded).
func BenchmarkFunctionStartToReady(b *testing.B) {
	bin := buildFunction(b)
	var total time.Duration
	b.ResetTimer()
	for range b.N {
		d, stop, _ := startFunction(b, bin, "sentiment", freePort(b))
		total += d
		b.StopTimer()
		stop()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms-to-ready")
}

// BenchmarkFunctionHTTP: one model function process on one core, 64
// concurrent clients POSTing binary-mode tweet events; reports events/s and
// latency percentiles. The request bodies and headers are prepared up front
// so the client side costs as little of the other core as possible.
func BenchmarkFunctionHTTP(b *testing.B) {
	const clients = 64
	bin := buildFunction(b)
	addr := freePort(b)
	_, stop, pid := startFunction(b, bin, "sentiment", addr)
	defer stop()
	url := "http://" + addr + "/"

	events := syntheticTweets(b, 1024, "h")
	type req struct {
		body []byte
		hdr  http.Header
	}
	reqs := make([]req, len(events))
	for i, e := range events {
		h := http.Header{}
		h.Set("ce-specversion", "1.0")
		h.Set("ce-id", e.ID())
		h.Set("ce-source", e.Source())
		h.Set("ce-type", event.TypeTweet)
		h.Set("ce-time", e.Time().Format(time.RFC3339))
		h.Set("ce-partitionkey", e.ID())
		h.Set("Content-Type", "application/json")
		reqs[i] = req{body: e.Data(), hdr: h}
	}
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	post := func(r req) (int, error) {
		hr, _ := http.NewRequestWithContext(context.Background(), http.MethodPost, url, bytes.NewReader(r.body))
		hr.Header = r.hdr.Clone()
		resp, err := client.Do(hr)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// Warm up connections and the model.
	for i := range clients {
		if s, err := post(reqs[i]); err != nil || s != 200 {
			b.Fatalf("warm-up: %d %v", s, err)
		}
	}

	lat := make([][]time.Duration, clients)
	var failed sync.Map
	cpu0, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	// The clients' CPU too: on two shared cores the load generator can be
	// what limits events/s, not the function.
	self0, err := procCPU(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			for i := c; i < b.N; i += clients {
				t0 := time.Now()
				s, err := post(reqs[i%len(reqs)])
				lat[c] = append(lat[c], time.Since(t0))
				if err != nil || s != 200 {
					failed.Store(i, fmt.Sprint(s, err))
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	cpu1, _ := procCPU(pid)
	self1, _ := procCPU(os.Getpid())
	n := 0
	failed.Range(func(k, v any) bool {
		if n++; n <= 3 {
			b.Errorf("request %v: %v", k, v)
		}
		return true
	})
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(float64(len(all)-1)*p)].Microseconds()) / 1000 }
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(pct(0.999), "p99.9-ms")
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(b.N), "server-cpu-µs/event")
	b.ReportMetric(float64((self1-self0).Microseconds())/float64(b.N), "client-cpu-µs/event")
}

// BenchmarkKafkaOnlyEndToEnd: tweets produced into kfake, scored by both
// model functions' consumer groups, their metadata produced back into kfake,
// consumed by the aggregator's group and stored complete in SQLite, all in
// this process on this machine. Reports tweets/s from the first produce to
// the last complete record.
func BenchmarkKafkaOnlyEndToEnd(b *testing.B) {
	const perIter = 20000
	k := newKafkaOnly(b, 6)
	k.startFunctions()
	k.startAggregator()
	defer k.stopAll()
	// Warm-up: groups joined, models loaded.
	k.produce(syntheticTweets(b, 100, "warm"))
	k.waitResults(int64(100*len(k.models)), time.Minute)
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Process()
	for i := range b.N {
		k.produce(syntheticTweets(b, perIter, fmt.Sprintf("b%d-", i)))
		k.waitResults(int64((100+perIter*(i+1))*len(k.models)), 5*time.Minute)
	}
	el, cpu := time.Since(start), cputime.Process()-cpu0
	b.StopTimer()
	k.waitStored(int64(100+perIter*b.N), time.Minute) // and all of them complete
	b.ReportMetric(float64(perIter*b.N)/el.Seconds(), "tweets/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(perIter*b.N), "cpu-µs/tweet")
}

// BenchmarkProducerToKafka: the producer Job's path, CSV rows → tweet
// CloudEvents → idempotent acks=all sarama producer → kfake, in batches.
// Reports tweets/s; each iteration replays the 19,999-row sample.
func BenchmarkProducerToKafka(b *testing.B) {
	for _, batch := range []int{512, 2048} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) { benchProducer(b, batch) })
	}
}

func benchProducer(b *testing.B, batch int) {
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		b.Fatal(err)
	}
	defer cluster.Close()
	kcfg := kafka.Config{Brokers: cluster.ListenAddrs()}
	if err := kafka.EnsureTopic(context.Background(), kcfg, "tweets", 6, 1); err != nil {
		b.Fatal(err)
	}
	p, err := kafka.NewProducer(kcfg, "tweets")
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	var sent int64
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Process()
	for range b.N {
		src, err := csv.Open(sampleCSV, csv.Options{})
		if err != nil {
			b.Fatal(err)
		}
		st, err := producer.Run(context.Background(), src, produce.EventSender(p), producer.Options{BatchSize: batch, Logger: slog.New(slog.DiscardHandler)})
		src.Close()
		if err != nil {
			b.Fatal(err)
		}
		sent += st.Sent
	}
	b.ReportMetric(float64(sent)/time.Since(start).Seconds(), "tweets/s")
	b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(sent), "cpu-µs/tweet")
}
