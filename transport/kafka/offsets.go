package kafka

import "sync"

// offsetTracker follows the records of one partition claim from delivery to
// ack and says which offset may be committed: the one after the longest
// prefix of acked records. sarama keeps only the highest mark, so marking an
// acked record behind an unacked one would commit past it and lose it on a
// crash (gocloud's kafkapubsub does the same: "we can't mark messages that
// aren't at the head").
type offsetTracker struct {
	mu      sync.Mutex
	pending []pendingOffset // in delivery order
	head    int             // index of the first unacked entry in pending
}

type pendingOffset struct {
	offset int64
	acked  bool
}

func newOffsetTracker() *offsetTracker {
	return &offsetTracker{}
}

// add records a delivered offset. Offsets must be added in increasing order.
func (t *offsetTracker) add(off int64) {
	t.mu.Lock()
	t.pending = append(t.pending, pendingOffset{offset: off})
	t.mu.Unlock()
}

// ack marks off as done. It returns the offset to commit (the next one to
// read) and true when the acked prefix grew; a repeated or unknown ack
// changes nothing.
func (t *offsetTracker) ack(off int64) (int64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	// Pending is short (bounded by the in-flight limit) and acks come
	// roughly in order, so a scan from the head is cheap.
	found := false
	for i := t.head; i < len(t.pending); i++ {
		if t.pending[i].offset == off {
			t.pending[i].acked = true
			found = true
			break
		}
	}
	if !found {
		return 0, false
	}
	advanced := false
	var next int64
	for t.head < len(t.pending) && t.pending[t.head].acked {
		next = t.pending[t.head].offset + 1
		t.head++
		advanced = true
	}
	// Compact once the acked prefix dominates, so the slice does not grow.
	if t.head > 1024 && t.head*2 > len(t.pending) {
		t.pending = append(t.pending[:0], t.pending[t.head:]...)
		t.head = 0
	}
	return next, advanced
}

// outstanding is the number of delivered, unacked records.
func (t *offsetTracker) outstanding() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.pending) - t.head
}
