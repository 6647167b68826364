package tokenize

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime is the process's user+system CPU time: on a shared machine wall-clock figures halve
// when another build runs, CPU per tweet does not.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

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
			cpu0 := cpuTime(b)
			for i := 0; b.Loop(); i++ {
				tokens += len(tok.Encode(texts[i%len(texts)], Options{MaxLength: 128}).IDs)
			}
			cpu := (cpuTime(b) - cpu0).Seconds()
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
