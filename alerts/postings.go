package alerts

import "math/bits"

// postingIndex maps a prefix token to the groups indexed under it, newest
// first. It replaces a map[uint64][]*group: that map cost two hash lookups
// and, for the many tokens seen once, a fresh slice per token, on every
// tweet (together about a quarter of the engine's CPU and 40% of its
// allocations). Here the keys live in an open-addressing table and the
// lists are chains through one shared slab of entries, so indexing a tweet
// allocates nothing but amortised slab growth.
//
// Nothing is deleted between sweeps; sweep rebuilds the table and the slab
// from the live groups, keeping each list's order.
type postingIndex struct {
	slots   []postingSlot // len is a power of two; load kept <= 1/2
	shift   uint          // 64 - log2(len(slots))
	used    int           // occupied slots
	entries []posting     // entries[0] is unused: 0 ends a chain

	// The previous sweep's table and slab, cleared: the next sweep builds
	// into them. (Allocating both afresh at every sweep was a fifth of
	// the engine's allocated bytes.)
	spareSlots   []postingSlot
	spareEntries []posting
}

type postingSlot struct {
	key  uint64
	head int32 // newest entry under key; 0: the slot is empty
}

type posting struct {
	g    *group
	next int32 // the next older entry under the same key; 0: none
}

const minPostingSlots = 1024

func newPostingIndex() *postingIndex {
	p := &postingIndex{}
	p.reset(minPostingSlots, 1)
	return p
}

// reset empties the index with room for n slots (rounded up to a power of
// two) and entries entries, reusing the spare table and slab when they are
// large enough.
func (p *postingIndex) reset(n, entries int) {
	n = max(n, minPostingSlots)
	n = 1 << bits.Len(uint(n-1))
	if cap(p.spareSlots) >= n && cap(p.spareSlots) <= 4*n {
		p.slots = p.spareSlots[:n] // cleared when it became spare
	} else {
		p.slots = make([]postingSlot, n)
	}
	if cap(p.spareEntries) >= entries && cap(p.spareEntries) <= 4*max(entries, minPostingSlots) {
		p.entries = p.spareEntries[:1]
	} else {
		p.entries = make([]posting, 1, max(entries, 1))
	}
	p.spareSlots, p.spareEntries = nil, nil
	p.shift = uint(64 - bits.TrailingZeros(uint(n)))
	p.used = 0
}

// find returns the slot holding key, or the empty slot where it would go.
// Token hashes are FNV-1a, whose low bits are weak: the Fibonacci multiply
// spreads them before the top bits pick the slot.
func (p *postingIndex) find(key uint64) *postingSlot {
	mask := len(p.slots) - 1
	i := int((key * 0x9e3779b97f4a7c15) >> p.shift)
	for {
		s := &p.slots[i]
		if s.head == 0 || s.key == key {
			return s
		}
		i = (i + 1) & mask
	}
}

// head returns the newest entry under key (0 if none).
func (p *postingIndex) head(key uint64) int32 {
	return p.find(key).head
}

// add puts g first in key's list, unless it is already first there (the
// representatives of one group share tokens).
func (p *postingIndex) add(key uint64, g *group) {
	s := p.find(key)
	if s.head != 0 && p.entries[s.head].g == g {
		return
	}
	if s.head == 0 {
		if 2*(p.used+1) > len(p.slots) {
			p.grow()
			s = p.find(key)
		}
		p.used++
		s.key = key
	}
	p.entries = append(p.entries, posting{g: g, next: s.head})
	s.head = int32(len(p.entries) - 1)
}

// grow doubles the table, keeping every chain.
func (p *postingIndex) grow() {
	old := p.slots
	n := 2 * len(old)
	p.slots = make([]postingSlot, n)
	p.shift = uint(64 - bits.TrailingZeros(uint(n)))
	for _, s := range old {
		if s.head != 0 {
			*p.find(s.key) = s
		}
	}
}

// sweep drops the entries of groups whose last tweet is older than
// horizonNs (Unix ns), returns the number of distinct groups kept, and
// appends each dropped group once to dead: no entry refers to them any
// more. epoch must differ from every earlier sweep's: it marks groups
// already counted.
func (p *postingIndex) sweep(horizonNs int64, epoch uint64, dead []*group) (groups int, _ []*group) {
	oldSlots, oldEntries := p.slots, p.entries
	keys := 0
	for _, s := range oldSlots {
		if s.head != 0 {
			keys++
		}
	}
	p.reset(2*keys, len(oldEntries)/2)
	for _, s := range oldSlots {
		if s.head == 0 {
			continue
		}
		var head, prev int32
		for i := s.head; i != 0; i = oldEntries[i].next {
			g := oldEntries[i].g
			if g.lastNs < horizonNs {
				if g.sweepEpoch != epoch {
					g.sweepEpoch = epoch
					dead = append(dead, g)
				}
				continue
			}
			if g.sweepEpoch != epoch {
				g.sweepEpoch = epoch
				groups++
			}
			p.entries = append(p.entries, posting{g: g})
			idx := int32(len(p.entries) - 1)
			if prev == 0 {
				head = idx
			} else {
				p.entries[prev].next = idx
			}
			prev = idx
		}
		if head != 0 {
			slot := p.find(s.key)
			*slot = postingSlot{key: s.key, head: head}
			p.used++
		}
	}
	// The old ones become the spares, cleared so they hold no group.
	clear(oldSlots)
	clear(oldEntries) // past len it is zero already
	p.spareSlots, p.spareEntries = oldSlots[:0], oldEntries[:0]
	return groups, dead
}
