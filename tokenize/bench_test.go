package tokenize

import "testing"

// BenchmarkEncode reports tweets/s and tokens/s over the golden texts (real tweets first),
// truncated at 128 as a tweet classifier would; run with -cpu 1 for the per-core figure.
func BenchmarkEncode(b *testing.B) {
	texts := loadTexts(b)[:2000] // sentiment/val.tsv: real tweets
	for _, name := range fixtures {
		b.Run(name, func(b *testing.B) {
			tok := loadFixture(b, name)
			for _, s := range texts { // warm the BPE cache as a long-running function would
				tok.Encode(s, Options{MaxLength: 128})
			}
			tokens := 0
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				tokens += len(tok.Encode(texts[i%len(texts)], Options{MaxLength: 128}).IDs)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tweets/s")
			b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
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
