package kafka

import (
	"math/rand/v2"
	"testing"
)

func TestOffsetTrackerCommitsContiguousPrefixOnly(t *testing.T) {
	tr := newOffsetTracker()
	for _, o := range []int64{10, 11, 12, 14, 15} { // 13 absent: compacted away
		tr.add(o)
	}
	steps := []struct {
		ack     int64
		next    int64
		advance bool
	}{
		{12, 0, false}, // 10, 11 not acked: nothing may be committed
		{11, 0, false},
		{99, 0, false}, // unknown
		{10, 13, true}, // prefix 10..12 done: next to read is 13
		{10, 0, false}, // repeated ack
		{15, 0, false},
		{14, 16, true},
	}
	for i, s := range steps {
		next, ok := tr.ack(s.ack)
		if ok != s.advance || (ok && next != s.next) {
			t.Fatalf("step %d ack(%d) = %d,%v; want %d,%v", i, s.ack, next, ok, s.next, s.advance)
		}
	}
	if tr.outstanding() != 0 {
		t.Fatalf("outstanding = %d", tr.outstanding())
	}
}

// Random ack orders: the committed offset never passes an unacked one and
// ends at the last offset + 1.
func TestOffsetTrackerRandomOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 50 {
		tr := newOffsetTracker()
		n := 1 + r.IntN(3000)
		for o := range n {
			tr.add(int64(o))
		}
		acked := make([]bool, n)
		committed := int64(0)
		for _, o := range r.Perm(n) {
			acked[o] = true
			if next, ok := tr.ack(int64(o)); ok {
				for i := int64(0); i < next; i++ {
					if !acked[i] {
						t.Fatalf("round %d: committed %d past unacked %d", round, next, i)
					}
				}
				if next <= committed {
					t.Fatalf("round %d: commit went back from %d to %d", round, committed, next)
				}
				committed = next
			}
		}
		if committed != int64(n) {
			t.Fatalf("round %d: final commit %d, want %d", round, committed, n)
		}
	}
}
