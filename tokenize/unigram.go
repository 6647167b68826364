package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// unigram is SentencePiece's Unigram model (XLM-R, T5, ALBERT): the segmentation of a piece
// with the highest total score (Viterbi), an unknown character scoring the lowest score less 10,
// consecutive unknowns fused into one unk, as both the Rust and JavaScript tokenizers do.
type unigram struct {
	ids      map[string]int64
	prefix   map[string]int64 // every prefix of a piece: its id, or -1 when it is no piece
	scores   []float64
	unk      int64
	unkScore float64
	maxLen   int // longest piece, bytes
}

func parseUnigram(raw json.RawMessage) (*unigram, error) {
	var c struct {
		Vocab        [][]json.RawMessage `json:"vocab"`
		UnkID        *int64              `json:"unk_id"`
		ByteFallback bool                `json:"byte_fallback"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, fmt.Errorf("Unigram: %w", err)
	}
	if len(c.Vocab) == 0 {
		return nil, errors.New("Unigram: vocab: empty")
	}
	if c.ByteFallback {
		return nil, errors.New("Unigram: byte_fallback is not supported")
	}
	if c.UnkID == nil {
		return nil, errors.New("Unigram: unk_id: missing (unknown characters would have no id)")
	}
	u := &unigram{ids: make(map[string]int64, len(c.Vocab)), scores: make([]float64, len(c.Vocab)), unk: *c.UnkID}
	if u.unk < 0 || int(u.unk) >= len(c.Vocab) {
		return nil, fmt.Errorf("Unigram: unk_id %d is outside the vocab (%d pieces)", u.unk, len(c.Vocab))
	}
	minScore := math.Inf(1)
	for i, e := range c.Vocab {
		var piece string
		var score float64
		if len(e) != 2 || json.Unmarshal(e[0], &piece) != nil || json.Unmarshal(e[1], &score) != nil {
			return nil, fmt.Errorf("Unigram: vocab[%d]: want [piece, score]", i)
		}
		if _, dup := u.ids[piece]; !dup {
			u.ids[piece] = int64(i)
		}
		u.scores[i] = score
		minScore = min(minScore, score)
		u.maxLen = max(u.maxLen, len(piece))
	}
	u.prefix = make(map[string]int64, 2*len(u.ids))
	for piece, id := range u.ids {
		for i := range piece {
			if i > 0 {
				if _, ok := u.prefix[piece[:i]]; !ok {
					u.prefix[piece[:i]] = -1
				}
			}
		}
		u.prefix[piece] = id
	}
	u.unkScore = minScore - 10
	u.scores[u.unk] = u.unkScore
	return u, nil
}

func (u *unigram) tokenID(t string) (int64, bool) { id, ok := u.ids[t]; return id, ok }
func (u *unigram) size() int                      { return len(u.scores) }

// encode finds the best segmentation of piece. The lattice runs over the whole piece, as
// transformers.js's does, but in chunks cut before each ▁: SentencePiece pieces hold ▁ only
// at their start, so every path has a boundary there and the chunks' paths join into the
// piece's path. The running score is carried from chunk to chunk, so the floating-point sums,
// and so the choice between equal-scoring segmentations ("o"+"oo" or "oo"+"o"), are the
// reference's; and a chunk boundary is where a long text may stop once limit ids are known.
func (u *unigram) encode(piece string, ids []int64, limit int) []int64 {
	offset, mark := 0.0, len(ids)
	for start := 0; start < len(piece); {
		end := len(piece)
		if k := strings.Index(piece[start+1:], "\u2581"); k >= 0 {
			end = start + 1 + k
		}
		ids, offset = u.encodeChunk(piece[start:end], ids, mark, offset)
		start = end
		if limit >= 0 && len(ids) > limit {
			break
		}
	}
	return ids
}

func (u *unigram) encodeChunk(piece string, ids []int64, mark int, offset float64) ([]int64, float64) {
	starts := make([]int, 0, len(piece)+1)
	for i := range piece {
		starts = append(starts, i)
	}
	n := len(starts)
	starts = append(starts, len(piece))
	best := make([]float64, n+1)
	from := make([]int, n+1)    // start position of the best last token
	tokID := make([]int64, n+1) // its id
	reached := make([]bool, n+1)
	best[0], reached[0] = offset, true
	for p := 0; p < n; p++ {
		if !reached[p] {
			continue
		}
		single := false
		for e := p + 1; e <= n && starts[e]-starts[p] <= u.maxLen; e++ {
			id, ok := u.prefix[piece[starts[p]:starts[e]]]
			if !ok {
				break // no piece starts so: the common-prefix search ends here
			}
			if id < 0 {
				continue
			}
			if e == p+1 {
				single = true
			}
			if s := best[p] + u.scores[id]; !reached[e] || s > best[e] {
				best[e], from[e], tokID[e], reached[e] = s, p, id, true
			}
		}
		if !single {
			if s := best[p] + u.unkScore; !reached[p+1] || s > best[p+1] {
				best[p+1], from[p+1], tokID[p+1], reached[p+1] = s, p, u.unk, true
			}
		}
	}
	var rev []int64
	for e := n; e > 0; e = from[e] {
		rev = append(rev, tokID[e])
	}
	for k := len(rev) - 1; k >= 0; k-- {
		// Consecutive unknowns of this piece fuse into one unk, as in the reference.
		if rev[k] == u.unk && len(ids) > mark && ids[len(ids)-1] == u.unk {
			continue
		}
		ids = append(ids, rev[k])
	}
	return ids, best[n]
}
