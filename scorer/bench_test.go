package scorer_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
	"github.com/tweetflow/tweetflow/tokenize/tokenizetest"
)

// Run with GOMAXPROCS=1 (see docs/BENCHMARKS.md): one Go thread, one ONNX
// Runtime thread, featurize and score together.

// readTweets returns the 500 real tweets of testdata/SOURCE.md.
func readTweets(tb testing.TB) []string {
	tb.Helper()
	return tokenizetest.Lines(tb, "testdata/tweets.txt")
}

func benchScore(b *testing.B, name string, batch int) {
	benchScoreDir(b, "../models/"+name, batch)
}

func benchScoreDir(b *testing.B, dir string, batch int) {
	m, err := scorer.Load(dir, scorer.Options{IntraOpThreads: 1})
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
	cpu0 := scorer.CPUSeconds()
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
	b.ReportMetric(tweets/(scorer.CPUSeconds()-cpu0), "tweets/cpu-s")
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

// BenchmarkScoreReference scores the test models of scripts/reference-models (a 2-layer,
// hidden-16 BERT-style and RoBERTa-style transformer, a TF-IDF string pipeline): tokenize, pad,
// ONNX Runtime, softmax.
func BenchmarkScoreReference(b *testing.B) {
	for _, name := range referenceModels {
		for _, batch := range []int{1, 64} {
			b.Run(fmt.Sprintf("%s/batch%d", name, batch), func(b *testing.B) { benchScoreDir(b, "testdata/"+name, batch) })
		}
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
	dirs := []string{"../models/sentiment", "../models/offense"}
	for _, name := range referenceModels {
		dirs = append(dirs, "testdata/"+name)
	}
	for _, dir := range dirs {
		b.Run(filepath.Base(dir), func(b *testing.B) {
			cpu0 := scorer.CPUSeconds()
			for i := 0; i < b.N; i++ {
				m, err := scorer.Load(dir, scorer.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if err := m.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric((scorer.CPUSeconds()-cpu0)*1e3/float64(b.N), "cpu-ms/load")
		})
	}
}
