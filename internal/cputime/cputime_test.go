package cputime

import "testing"

// Busy work moves the process's CPU time forward.
func TestProcessAdvances(t *testing.T) {
	before := Process()
	x := uint64(1)
	for Process()-before < 1_000_000 { // 1 ms of CPU
		for range 1 << 16 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 || Process() <= before {
		t.Fatalf("CPU time did not advance: %v -> %v", before, Process())
	}
}
