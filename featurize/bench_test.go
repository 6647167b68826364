package featurize_test

import (
	"syscall"
	"testing"

	"github.com/tweetflow/tweetflow/featurize"
	"github.com/tweetflow/tweetflow/tokenize/tokenizetest"
)

func benchFeaturize(b *testing.B, dir string) {
	spec := loadSpecParams(b, dir)
	fz, err := featurize.New(spec, dir)
	if err != nil {
		b.Fatal(err)
	}
	texts := tokenizetest.Lines(b, "../scorer/testdata/tweets.txt") // 500 real tweets (scorer/testdata/SOURCE.md)
	var s featurize.Scratch
	var idx []int64
	var val []float32
	b.ReportAllocs()
	cpu := startCPU()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		idx, val = fz.Featurize(&s, texts[i%len(texts)], idx[:0], val[:0])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
	b.ReportMetric(float64(b.N)/cpu(), "tweets/cpu-s")
}

// startCPU returns a function giving the process CPU seconds (user+system)
// spent since the call. On a shared machine wall-clock figures vary with the
// neighbours' load; CPU time per tweet does not (GOMAXPROCS=1).
func startCPU() func() float64 {
	now := func() float64 {
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
	}
	t0 := now()
	return func() float64 { return now() - t0 }
}

func BenchmarkFeaturizeSentiment(b *testing.B) { benchFeaturize(b, "../models/sentiment") }
func BenchmarkFeaturizeOffense(b *testing.B)   { benchFeaturize(b, "../models/offense") }
