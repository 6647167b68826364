package alerts

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// checkJaccardAtLeast fails unless jaccardAtLeast(a, b, lo) is jaccard(a,
// b) when that is at least lo, and 0 otherwise.
func checkJaccardAtLeast(t *testing.T, a, b []uint64, lo float64) {
	t.Helper()
	want := jaccard(a, b)
	if want < lo {
		want = 0
	}
	if got := jaccardAtLeast(a, b, lo); got != want {
		t.Fatalf("jaccardAtLeast(%v, %v, %v) = %v, want %v (jaccard %v)", a, b, lo, got, want, jaccard(a, b))
	}
}

// smallSet is a sorted, duplicate-free set of values below 40 (so random
// sets overlap) drawn from r.
func smallSet(r *rand.Rand, n int) []uint64 {
	var s []uint64
	for range n {
		s = append(s, uint64(r.IntN(40)))
	}
	slices.Sort(s)
	return slices.Compact(s)
}

func TestJaccardAtLeast(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	// The thresholds the detectors use, values at which a fraction u/(n-u)
	// of small sizes lands exactly (1/3, 1/2, 2/3), and the extremes.
	los := []float64{0, 0.3, 1.0 / 3, 0.35, 0.5, 0.6, 2.0 / 3, 0.8, 1}
	for range 20000 {
		a, b := smallSet(r, r.IntN(30)), smallSet(r, r.IntN(30))
		for _, lo := range los {
			checkJaccardAtLeast(t, a, b, lo)
			checkJaccardAtLeast(t, a, a, lo)
		}
	}
}

func FuzzJaccardAtLeast(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4}, []byte{2, 3, 4, 5}, 0.5)
	f.Add([]byte{}, []byte{}, 0.3)
	f.Add([]byte{7}, []byte{7}, 1.0)
	f.Fuzz(func(t *testing.T, x, y []byte, lo float64) {
		set := func(bs []byte) []uint64 {
			var s []uint64
			for _, c := range bs {
				s = append(s, uint64(c))
			}
			slices.Sort(s)
			return slices.Compact(s)
		}
		checkJaccardAtLeast(t, set(x), set(y), lo)
	})
}
