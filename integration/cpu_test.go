package integration

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The machine is shared (2 cores, other builds and benchmarks running), so
// wall-clock rates vary with the load. The benchmarks also report the CPU
// time spent per event, which the load does not inflate much: 1e6 divided by
// it is the rate one fully available core would sustain.

// procCPU is another process's user+system CPU time, from /proc/PID/stat
// (in clock ticks of 1/100 s).
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name (which is in parentheses and may hold spaces).
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(fields))
	}
	ut, err1 := strconv.ParseInt(fields[11], 10, 64)
	st, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: utime %q stime %q", pid, fields[11], fields[12])
	}
	return time.Duration(ut+st) * 10 * time.Millisecond, nil
}
