package scorer

import (
	"bufio"
	"cmp"
	"context"
	"os"
	"slices"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/tokenize"
)

// BenchmarkTransformerOverhead splits a transformer's Score at batch 64 into what tweetflow adds
// (tokenize, sort into length buckets) and the rest (tensors, session.Run, softmax, derive), on
// the same batches: "full" is Score, "run" feeds pre-tokenized buckets to the same run.
// Run with GOMAXPROCS=1.
func BenchmarkTransformerOverhead(b *testing.B) {
	f, err := os.Open("testdata/tweets.txt")
	if err != nil {
		b.Fatal(err)
	}
	var texts []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		texts = append(texts, sc.Text())
	}
	f.Close()
	const batch = 64
	texts = texts[:len(texts)/batch*batch]
	for _, name := range []string{"tiny-bert-sentiment", "tiny-roberta-sentiment"} {
		m, err := Load("testdata/"+name, Options{IntraOpThreads: 1})
		if err != nil {
			b.Fatal(err)
		}
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
				e := s + 1
				for e < batch && e-s < maxBucketRows && (e-s+1)*len(p.encs[order[e]].IDs) <= maxBucketTokens {
					e++
				}
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
		m.Close()
	}
}
