package scorer_test

import (
	"testing"

	"github.com/tweetflow/tweetflow/scorer"
)

func TestIntraOpThreads(t *testing.T) {
	for _, c := range []struct {
		name                    string
		explicit, procs, models int
		want                    int
	}{
		{"ORT_THREADS wins over the allowance", 3, 8, 1, 3},
		{"ORT_THREADS is per model, not split", 2, 8, 4, 2},
		{"one model takes the whole allowance", 0, 4, 1, 4},
		{"a 1-CPU function gets one thread", 0, 1, 1, 1},
		{"models split the allowance", 0, 8, 3, 2},
		{"more models than CPUs: one each", 0, 2, 5, 1},
		{"Load alone (no count) is one model", 0, 6, 0, 6},
		{"negative ORT_THREADS derives", -1, 2, 1, 2},
	} {
		if got := scorer.IntraOpThreads(c.explicit, c.procs, c.models); got != c.want {
			t.Errorf("%s: IntraOpThreads(%d, %d, %d) = %d, want %d", c.name, c.explicit, c.procs, c.models, got, c.want)
		}
	}
}
