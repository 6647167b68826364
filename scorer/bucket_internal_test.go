package scorer

import (
	"slices"
	"testing"

	"github.com/tweetflow/tweetflow/tokenize"
)

// TestBucketEnd: sorted encodings are cut where padding would pass maxPadShare of a bucket's
// cells, and at maxBucketRows and maxBucketTokens.
func TestBucketEnd(t *testing.T) {
	cut := func(lens ...int) [][]int {
		encs := make([]tokenize.Encoding, len(lens))
		order := make([]int, len(lens))
		for i, n := range lens {
			encs[i].IDs = make([]int64, n)
			order[i] = i
		}
		var out [][]int
		for s := 0; s < len(order); {
			e := bucketEnd(encs, order, s)
			out = append(out, lens[s:e])
			s = e
		}
		return out
	}
	for _, c := range []struct {
		lens []int
		want [][]int
	}{
		{[]int{10, 10, 12, 40}, [][]int{{10, 10, 12}, {40}}}, // 40 would make 3/4 of the cells padding
		{[]int{30, 31, 33, 35}, [][]int{{30, 31, 33, 35}}},
		{[]int{5}, [][]int{{5}}},
		{[]int{1000, 1000, 3000, 3000}, [][]int{{1000, 1000}, {3000}, {3000}}}, // 4096 tokens per call
	} {
		got := cut(c.lens...)
		if !slices.EqualFunc(got, c.want, slices.Equal[[]int]) {
			t.Errorf("lengths %v cut into %v, want %v", c.lens, got, c.want)
		}
	}
	rows := make([]int, 100)
	for i := range rows {
		rows[i] = 8
	}
	if got := cut(rows...); len(got) != 2 || len(got[0]) != maxBucketRows {
		t.Errorf("100 equal rows cut into buckets of %d, %d...; want %d first", len(got[0]), len(got[len(got)-1]), maxBucketRows)
	}
}
