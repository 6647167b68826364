package alerts

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// chain lists the groups under key, newest first.
func (p *postingIndex) chain(key uint64) []*group {
	var gs []*group
	for i := p.head(key); i != 0; i = p.entries[i].next {
		gs = append(gs, p.entries[i].g)
	}
	return gs
}

// The index keeps the lists a map of slices would, through growth and
// sweeps: newest first, no repeat of the newest, expired groups dropped.
func TestPostingIndexMatchesMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := newPostingIndex()
	want := map[uint64][]*group{} // oldest first
	var groups []*group
	for round := range 20 {
		for range 3000 {
			if len(groups) == 0 || rng.IntN(4) == 0 {
				groups = append(groups, &group{lastNs: int64(round*100 + rng.IntN(100))})
			}
			g := groups[len(groups)-1-rng.IntN(min(len(groups), 5))]
			k := rng.Uint64N(5000) // collisions in the table, keys shared by groups
			p.add(k, g)
			if gs := want[k]; len(gs) == 0 || gs[len(gs)-1] != g {
				want[k] = append(gs, g)
			}
		}
		horizon := int64(round*100 - 150)
		wantDead := map[*group]bool{}
		for _, gs := range want {
			for _, g := range gs {
				if g.lastNs < horizon {
					wantDead[g] = true
				}
			}
		}
		live := map[*group]bool{}
		for k, gs := range want {
			gs = slices.DeleteFunc(gs, func(g *group) bool { return g.lastNs < horizon })
			if len(gs) == 0 {
				delete(want, k)
				continue
			}
			want[k] = gs
			for _, g := range gs {
				live[g] = true
			}
		}
		n, dead := p.sweep(horizon, uint64(round+1), nil)
		if n != len(live) {
			t.Fatalf("round %d: sweep kept %d groups, want %d", round, n, len(live))
		}
		if len(dead) != len(wantDead) {
			t.Fatalf("round %d: sweep dropped %d groups, want %d", round, len(dead), len(wantDead))
		}
		for _, g := range dead {
			if !wantDead[g] {
				t.Fatalf("round %d: dropped a group that is live or was dropped before", round)
			}
			delete(wantDead, g) // so a repeat fails
		}
		for k := range uint64(5000) {
			w := slices.Clone(want[k])
			slices.Reverse(w)
			if got := p.chain(k); !slices.Equal(got, w) {
				t.Fatalf("round %d, key %d: %d groups, want %d", round, k, len(got), len(w))
			}
		}
	}
}
