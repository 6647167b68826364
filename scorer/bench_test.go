package scorer_test

import (
	"bufio"
	"context"
	"os"
	"syscall"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
)

// Run with GOMAXPROCS=1 (see docs/BENCHMARKS.md): one Go thread, one ONNX
// Runtime thread, featurize and score together.

func readTweets(tb testing.TB) []string {
	tb.Helper()
	f, err := os.Open("testdata/tweets.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		texts = append(texts, sc.Text())
	}
	if len(texts) == 0 {
		tb.Fatal("testdata/tweets.txt is empty")
	}
	return texts
}

// cpuSeconds is the process's user+system CPU time. On a shared machine the
// wall clock depends on the neighbours' load; CPU time per tweet much less.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

func benchScore(b *testing.B, name string, batch int) {
	m, err := scorer.Load("../models/"+name, scorer.Options{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	texts := readTweets(b)
	// Wrap around so every batch is full.
	for len(texts)%batch != 0 {
		texts = append(texts, texts[len(texts)%500])
	}
	out := make([]model.Prediction, batch)
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuSeconds()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := (i * batch) % len(texts)
		if err := m.Score(ctx, texts[j:j+batch], out); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	tweets := float64(b.N * batch)
	b.ReportMetric(tweets/b.Elapsed().Seconds(), "tweets/s")
	b.ReportMetric(tweets/(cpuSeconds()-cpu0), "tweets/cpu-s")
}

func BenchmarkScoreBatch64(b *testing.B) {
	for _, name := range []string{"sentiment", "offense"} {
		b.Run(name, func(b *testing.B) { benchScore(b, name, 64) })
	}
}

func BenchmarkScoreBatch1(b *testing.B) {
	for _, name := range []string{"sentiment", "offense"} {
		b.Run(name, func(b *testing.B) { benchScore(b, name, 1) })
	}
}

// BenchmarkLoad measures loading one model folder (spec, lexicons, ONNX
// session) with the ONNX Runtime environment already up, as when a process
// loads its second model or reloads one.
func BenchmarkLoad(b *testing.B) {
	keep, err := scorer.Load("../models/offense", scorer.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer keep.Close()
	for _, name := range []string{"sentiment", "offense"} {
		b.Run(name, func(b *testing.B) {
			cpu0 := cpuSeconds()
			for i := 0; i < b.N; i++ {
				m, err := scorer.Load("../models/"+name, scorer.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((cpuSeconds()-cpu0)*1e3/float64(b.N), "cpu-ms/load")
		})
	}
}
