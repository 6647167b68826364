// Package cputime reads the CPU time this process has used, the figure the
// benchmarks report per tweet or record: on the shared 2-core machine a
// wall-clock rate halves when another build runs, CPU per item does not.
package cputime

import (
	"fmt"
	"syscall"
	"time"
)

// Process is the user + system CPU time of this process, all threads (cgo's
// ONNX Runtime and SQLite threads included). It panics if getrusage fails,
// which for RUSAGE_SELF it does only for a bad pointer: a benchmark must not
// report a rate over a zero time.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(fmt.Sprintf("cputime: getrusage: %v", err))
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
