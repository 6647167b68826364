package tokenize

import (
	"testing"

	"github.com/tweetflow/tweetflow/internal/cputime"
)

// BenchmarkEncode reports tweets/s and tokens/s over 2,000 real tweets (sentiment/val.tsv, the
// first golden texts), truncated at 128 as a tweet classifier would, by wall clock and by CPU
// time (tweets/cpu-s: the per-core figure). Run with -cpu 1.
func BenchmarkEncode(b *testing.B) {
	texts := loadTexts(b)[:2000]
	for _, name := range fixtures {
		b.Run(name, func(b *testing.B) {
			tok := loadFixture(b, name)
			for _, s := range texts { // warm the BPE cache as a long-running function would
				tok.Encode(s, Options{MaxLength: 128})
			}
			tokens := 0
			b.ResetTimer()
			cpu0 := cputime.Process()
			for i := 0; b.Loop(); i++ {
				tokens += len(tok.Encode(texts[i%len(texts)], Options{MaxLength: 128}).IDs)
			}
			cpu := (cputime.Process() - cpu0).Seconds()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
			b.ReportMetric(float64(b.N)/cpu, "tweets/cpu-s")
			b.ReportMetric(float64(tokens)/cpu, "tokens/cpu-s")
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for _, name := range fixtures {
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				loadFixture(b, name)
			}
		})
	}
}
