package scorer

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/tokenize"
	"github.com/tweetflow/tweetflow/tokenize/tokenizetest"
)

// BenchmarkTransformerOverhead splits a transformer's Score into what tweetflow adds (tokenize,
// sort into length buckets) and the rest (tensors, session.Run, softmax, derive), on the same
// batches: "full" is Score, "run" feeds pre-tokenized buckets to the same run. By default the
// test models at batch 64; with TWEETFLOW_OVERHEAD_MODEL set to a transformer folder (such as
// the BERT-base-shaped one scripts/reference-models/bert_base_shaped.py exports, 440 MB, not
// committed), that model at batch 1, 8 and 32. Run with GOMAXPROCS=1.
func BenchmarkTransformerOverhead(b *testing.B) {
	dirs, batches := []string{"testdata/tiny-bert-sentiment", "testdata/tiny-roberta-sentiment"}, []int{64}
	if d := os.Getenv("TWEETFLOW_OVERHEAD_MODEL"); d != "" {
		dirs, batches = []string{d}, []int{1, 8, 32}
	}
	for _, dir := range dirs {
		for _, batch := range batches {
			benchOverhead(b, dir, batch)
		}
	}
}

func benchOverhead(b *testing.B, dir string, batch int) {
	texts := tokenizetest.Lines(b, "testdata/tweets.txt")
	texts = texts[:len(texts)/batch*batch]
	name := fmt.Sprintf("%s/batch%d", filepath.Base(dir), batch)
	m, err := Load(dir, Options{IntraOpThreads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	tr := m.impl.(*transformer)
	out := make([]model.Prediction, batch)
	b.Run(name+"/full", func(b *testing.B) {
		cpu0 := CPUSeconds()
		for i := 0; i < b.N; i++ {
			j := (i * batch) % len(texts)
			if err := m.Score(context.Background(), texts[j:j+batch], out); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "tweets/s")
		b.ReportMetric(float64(b.N*batch)/(CPUSeconds()-cpu0), "tweets/cpu-s")
	})
	// Pre-tokenized and sorted batches, cut into buckets as score cuts them.
	type prepared struct {
		encs    []tokenize.Encoding
		buckets [][]int
	}
	var preps []prepared
	for j := 0; j < len(texts); j += batch {
		p := prepared{encs: make([]tokenize.Encoding, batch)}
		order := make([]int, batch)
		for k := range batch {
			p.encs[k] = tr.tok.Encode(texts[j+k], tokenize.Options{MaxLength: tr.maxLen})
			order[k] = k
		}
		slices.SortStableFunc(order, func(a, c int) int { return cmp.Compare(len(p.encs[a].IDs), len(p.encs[c].IDs)) })
		for s := 0; s < batch; {
			e := bucketEnd(p.encs, order, s)
			p.buckets = append(p.buckets, order[s:e])
			s = e
		}
		preps = append(preps, p)
	}
	b.Run(name+"/run", func(b *testing.B) {
		cpu0 := CPUSeconds()
		for i := 0; i < b.N; i++ {
			p := preps[i%len(preps)]
			for _, rows := range p.buckets {
				if err := tr.run(m, p.encs, rows, out); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "tweets/s")
		b.ReportMetric(float64(b.N*batch)/(CPUSeconds()-cpu0), "tweets/cpu-s")
	})
}
