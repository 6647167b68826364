// Package coordtest is the test kit of the coordination networks: the QUT
// toolkit's network tables (alerts/coord's testdata/qut goldens, and the
// tables mode/network has the toolkit write live) read as weighted edges,
// and one comparison of two edge sets, so the engine's tests and the network
// command's are held to the toolkit the same way.
package coordtest

import (
	"encoding/csv"
	"errors"
	"io"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ReadToolkit reads a network table the toolkit wrote (header user_1,
// user_2, weight) as directed weights, user_1 -> user_2, or fails the test
// naming the file and line. Self-loops (an account matching itself) are left
// out, as the toolkit's graph export leaves them out: coordination is
// between distinct accounts.
func ReadToolkit(tb testing.TB, path string) map[[2]string]int {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 3
	if head, err := r.Read(); err != nil || strings.Join(head, ",") != "user_1,user_2,weight" {
		tb.Fatalf("%s: header %q, want user_1,user_2,weight (%v)", path, head, err)
	}
	out := map[[2]string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		w, err := strconv.Atoi(rec[2])
		if err != nil {
			line, _ := r.FieldPos(2)
			tb.Fatalf("%s:%d: weight: %v", path, line, err)
		}
		if rec[0] != rec[1] {
			out[[2]string{rec[0], rec[1]}] = w
		}
	}
}

// Undirected folds directed weights into the edge list tweetflow's network
// command writes: one edge per unordered pair, its accounts in sorted order,
// weighing the larger of the two directions.
func Undirected(directed map[[2]string]int) map[[2]string]int {
	out := map[[2]string]int{}
	for k, w := range directed {
		if k[0] > k[1] {
			k = [2]string{k[1], k[0]}
		}
		out[k] = max(out[k], w)
	}
	return out
}

// Diff fails the test where got and want differ, naming the first ten
// pairs: a missing edge, a weight that differs, an edge want does not have.
func Diff(tb testing.TB, what string, got, want map[[2]string]int) {
	tb.Helper()
	n := 0
	for k, v := range want {
		if got[k] != v {
			if n++; n <= 10 {
				tb.Errorf("%s: %s -> %s: weight %d, want %d", what, k[0], k[1], got[k], v)
			}
		}
	}
	for k, v := range got {
		if _, ok := want[k]; !ok {
			if n++; n <= 10 {
				tb.Errorf("%s: %s -> %s: weight %d, want no edge", what, k[0], k[1], v)
			}
		}
	}
	if n > 10 {
		tb.Errorf("%s: %d pairs differ in all", what, n)
	}
}
