package tokenize

import (
	"container/heap"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"unicode/utf8"
)

// model turns one pre-tokenized piece into ids.
type model interface {
	// encode appends the ids of piece to ids. limit >= 0: the caller needs no more than limit
	// ids in all, so a model may stop early once len(ids) > limit.
	encode(piece string, ids []int64, limit int) []int64
	tokenID(token string) (int64, bool)
	size() int
}

func parseModel(raw json.RawMessage) (model, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, err
	}
	switch typ {
	case "WordPiece":
		return parseWordPiece(raw)
	case "BPE":
		return parseBPE(raw)
	case "Unigram":
		return parseUnigram(raw)
	case "WordLevel":
		return nil, fmt.Errorf("type %q is not supported yet", typ)
	}
	return nil, fmt.Errorf("type %q is not supported", typ)
}

func vocabSize(v map[string]int64) int {
	n := 0
	for _, id := range v {
		n = max(n, int(id)+1)
	}
	return n
}

func checkVocab(v map[string]int64) error {
	if len(v) == 0 {
		return errors.New("vocab: empty")
	}
	for tok, id := range v {
		if id < 0 {
			return fmt.Errorf("vocab: %q has negative id %d", tok, id)
		}
	}
	return nil
}

// unmarshalVocabModel unmarshals a vocab model's JSON (WordPiece, BPE) into c
// and checks the vocab it decoded into *vocab; errors start with the type.
func unmarshalVocabModel(typ string, raw json.RawMessage, c any, vocab *map[string]int64) error {
	if err := json.Unmarshal(raw, c); err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	if err := checkVocab(*vocab); err != nil {
		return fmt.Errorf("%s: %w", typ, err)
	}
	return nil
}

// ---- WordPiece ----

type wordPiece struct {
	vocab    map[string]int64
	cont     map[string]int64 // entries with the continuing prefix, keyed without it
	unk      int64
	maxChars int
	maxLen   int // longest entry in bytes (continuations without the prefix): longer substrings are never looked up
}

func parseWordPiece(raw json.RawMessage) (*wordPiece, error) {
	var c struct {
		Vocab      map[string]int64 `json:"vocab"`
		Unk        *string          `json:"unk_token"`
		Prefix     *string          `json:"continuing_subword_prefix"`
		MaxInChars *int             `json:"max_input_chars_per_word"`
	}
	if err := unmarshalVocabModel("WordPiece", raw, &c, &c.Vocab); err != nil {
		return nil, err
	}
	unk := "[UNK]"
	if c.Unk != nil {
		unk = *c.Unk
	}
	unkID, ok := c.Vocab[unk]
	if !ok {
		return nil, fmt.Errorf("WordPiece: unk_token %q is not in vocab", unk)
	}
	prefix := "##"
	if c.Prefix != nil {
		prefix = *c.Prefix
	}
	w := &wordPiece{vocab: c.Vocab, cont: map[string]int64{}, unk: unkID, maxChars: 100}
	if c.MaxInChars != nil {
		w.maxChars = *c.MaxInChars
	}
	for tok, id := range c.Vocab {
		w.maxLen = max(w.maxLen, len(tok))
		if rest, ok := strings.CutPrefix(tok, prefix); ok && rest != "" {
			w.cont[rest] = id
		}
	}
	return w, nil
}

func (w *wordPiece) tokenID(t string) (int64, bool) { id, ok := w.vocab[t]; return id, ok }
func (w *wordPiece) size() int                      { return vocabSize(w.vocab) }

// encode is greedy longest-match-first; a word with an unmatched part, or longer than
// max_input_chars_per_word characters, is one unk.
func (w *wordPiece) encode(piece string, ids []int64, _ int) []int64 {
	if piece == "" {
		return ids
	}
	if utf8.RuneCountInString(piece) > w.maxChars {
		return append(ids, w.unk)
	}
	mark := len(ids)
	for start := 0; start < len(piece); {
		found := false
		end := len(piece)
		if end-start > w.maxLen {
			end = start + w.maxLen
			for end > start && !utf8.RuneStart(piece[end]) {
				end--
			}
		}
		for end > start {
			sub := piece[start:end]
			var id int64
			var ok bool
			if start == 0 {
				id, ok = w.vocab[sub]
			} else {
				id, ok = w.cont[sub]
			}
			if ok {
				ids = append(ids, id)
				start, found = end, true
				break
			}
			_, size := utf8.DecodeLastRuneInString(sub)
			end -= size
		}
		if !found {
			return append(ids[:mark], w.unk)
		}
	}
	return ids
}

// ---- BPE ----

type merge struct {
	rank int32
	id   int64
}

type bpe struct {
	vocab       map[string]int64
	merges      map[uint64]merge
	unk         int64 // -1: none (unknown symbols are dropped)
	fuseUnk     bool
	byteFB      bool
	ignoreMerge bool
	byteLevel   bool
	byteSym     [256]int64 // byte-level: the id of each byte's GPT-2 character, -1 if absent
	byteFBID    [256]int64 // byte_fallback: the id of <0xXX>, -1 if absent

	cache wordCache
}

const (
	cacheMaxLen     = 64
	cacheMaxEntries = 1 << 17 // bounds memory on an endless stream of new words
)

func pairKey(a, b int64) uint64 { return uint64(a)<<32 | uint64(uint32(b)) }

func parseBPE(raw json.RawMessage) (*bpe, error) {
	var c struct {
		Vocab          map[string]int64  `json:"vocab"`
		Merges         []json.RawMessage `json:"merges"`
		Unk            *string           `json:"unk_token"`
		FuseUnk        bool              `json:"fuse_unk"`
		ByteFallback   bool              `json:"byte_fallback"`
		IgnoreMerges   bool              `json:"ignore_merges"`
		Dropout        *float64          `json:"dropout"`
		ContinuingPref *string           `json:"continuing_subword_prefix"`
		EndOfWord      *string           `json:"end_of_word_suffix"`
	}
	if err := unmarshalVocabModel("BPE", raw, &c, &c.Vocab); err != nil {
		return nil, err
	}
	for _, s := range []struct {
		name string
		v    *string
	}{{"continuing_subword_prefix", c.ContinuingPref}, {"end_of_word_suffix", c.EndOfWord}} {
		if s.v != nil && *s.v != "" {
			return nil, fmt.Errorf("BPE: %s %q is not supported", s.name, *s.v)
		}
	}
	if c.Dropout != nil && *c.Dropout != 0 {
		return nil, fmt.Errorf("BPE: dropout %v is not supported (tokenization would be random)", *c.Dropout)
	}
	b := &bpe{vocab: c.Vocab, merges: make(map[uint64]merge, len(c.Merges)), unk: -1,
		fuseUnk: c.FuseUnk, byteFB: c.ByteFallback, ignoreMerge: c.IgnoreMerges}
	b.cache.seed = maphash.MakeSeed()
	if c.Unk != nil {
		id, ok := c.Vocab[*c.Unk]
		if !ok {
			return nil, fmt.Errorf("BPE: unk_token %q is not in vocab", *c.Unk)
		}
		b.unk = id
	}
	for i, m := range c.Merges {
		l, r, err := mergeParts(m)
		if err != nil {
			return nil, fmt.Errorf("BPE: merges[%d]: %w", i, err)
		}
		li, ok1 := c.Vocab[l]
		ri, ok2 := c.Vocab[r]
		id, ok3 := c.Vocab[l+r]
		if !ok1 || !ok2 || !ok3 {
			return nil, fmt.Errorf("BPE: merges[%d]: %q + %q: a part or the result is not in vocab", i, l, r)
		}
		if li > 1<<31 || ri > 1<<31 {
			return nil, fmt.Errorf("BPE: merges[%d]: id too large", i)
		}
		k := pairKey(li, ri)
		if _, dup := b.merges[k]; !dup {
			b.merges[k] = merge{rank: int32(i), id: id}
		}
	}
	for i := range b.byteFBID {
		b.byteFBID[i] = -1
		if id, ok := c.Vocab[fmt.Sprintf("<0x%02X>", i)]; ok {
			b.byteFBID[i] = id
		}
	}
	return b, nil
}

// mergeParts reads a merge written as "a b" (older files) or ["a", "b"] (newer ones).
func mergeParts(m json.RawMessage) (string, string, error) {
	var s string
	if json.Unmarshal(m, &s) == nil {
		l, r, ok := strings.Cut(s, " ")
		if !ok || l == "" || r == "" {
			return "", "", fmt.Errorf("%q is not \"left right\"", s)
		}
		return l, r, nil
	}
	var pair []string
	if err := json.Unmarshal(m, &pair); err != nil || len(pair) != 2 || pair[0] == "" || pair[1] == "" {
		return "", "", fmt.Errorf("%s is neither \"left right\" nor [left, right]", m)
	}
	return pair[0], pair[1], nil
}

// byteToRune is GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to
// U+0100 onwards, so every byte is a visible character.
func byteToRune() [256]rune {
	var t [256]rune
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = rune(256 + n)
			n++
		}
	}
	return t
}

func (b *bpe) useByteLevel() error {
	b.byteLevel = true
	br := byteToRune()
	missing := 0
	for i, r := range br {
		id, ok := b.vocab[string(r)]
		if !ok {
			id = -1
			missing++
		}
		b.byteSym[i] = id
	}
	if missing == 256 {
		return errors.New("BPE: the pre-tokenizer is ByteLevel but vocab has none of the 256 byte characters")
	}
	return nil
}

func (b *bpe) tokenID(t string) (int64, bool) { id, ok := b.vocab[t]; return id, ok }
func (b *bpe) size() int                      { return vocabSize(b.vocab) }

func (b *bpe) encode(piece string, ids []int64, _ int) []int64 {
	if piece == "" {
		return ids
	}
	if len(piece) > cacheMaxLen {
		return b.encodeUncached(piece, ids)
	}
	sh := b.cache.shard(piece)
	sh.mu.RLock()
	v, ok := sh.m[piece]
	sh.mu.RUnlock()
	if ok {
		return append(ids, v...)
	}
	mark := len(ids)
	ids = b.encodeUncached(piece, ids)
	sh.mu.Lock()
	if sh.m == nil {
		sh.m = map[string][]int64{}
	}
	if len(sh.m) < cacheMaxEntries/cacheShards {
		sh.m[strings.Clone(piece)] = append([]int64(nil), ids[mark:]...)
	}
	sh.mu.Unlock()
	return ids
}

const cacheShards = 32

// wordCache maps a piece to its ids. Sharded maps under RWMutexes: cheaper than sync.Map for
// these short keys, and shards keep concurrent encoders from queueing on one lock.
type wordCache struct {
	seed   maphash.Seed
	shards [cacheShards]struct {
		mu sync.RWMutex
		m  map[string][]int64
		_  [40]byte // keep shards on separate cache lines
	}
}

func (c *wordCache) shard(key string) *struct {
	mu sync.RWMutex
	m  map[string][]int64
	_  [40]byte
} {
	return &c.shards[maphash.String(c.seed, key)%cacheShards]
}

func (b *bpe) encodeUncached(piece string, ids []int64) []int64 {
	if b.ignoreMerge {
		key := piece
		if b.byteLevel {
			key = byteLevelString(piece)
		}
		if id, ok := b.vocab[key]; ok {
			return append(ids, id)
		}
	}
	var syms []int64
	if b.byteLevel {
		syms = make([]int64, len(piece))
		for i := 0; i < len(piece); i++ {
			syms[i] = b.byteSym[piece[i]]
		}
	} else {
		syms = make([]int64, 0, len(piece))
		for i, r := range piece {
			id, ok := b.vocab[string(r)]
			if !ok {
				id = -1 - int64(i) // unknown: remember where the character starts
			}
			syms = append(syms, id)
		}
	}
	if len(syms) > 48 {
		syms = mergeHeap(syms, b.merges)
	} else {
		syms = mergeSimple(syms, b.merges)
	}
	lastUnk := false
	for _, id := range syms {
		if id >= 0 {
			ids, lastUnk = append(ids, id), false
			continue
		}
		if b.byteFB && !b.byteLevel {
			r, size := utf8.DecodeRuneInString(piece[-1-id:])
			_ = r
			all := true
			for k := 0; k < size; k++ {
				if b.byteFBID[piece[-1-id+int64(k)]] < 0 {
					all = false
				}
			}
			if all {
				for k := 0; k < size; k++ {
					ids = append(ids, b.byteFBID[piece[-1-id+int64(k)]])
				}
				lastUnk = false
				continue
			}
		}
		if b.unk < 0 {
			continue
		}
		if b.fuseUnk && lastUnk {
			continue
		}
		ids, lastUnk = append(ids, b.unk), true
	}
	return ids
}

func byteLevelString(s string) string {
	br := byteToRune()
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		sb.WriteRune(br[s[i]])
	}
	return sb.String()
}

// mergeSimple applies merges lowest rank first, leftmost first on ties; quadratic, and the
// fastest for the short words of tweets.
func mergeSimple(syms []int64, merges map[uint64]merge) []int64 {
	for len(syms) > 1 {
		best, at := merge{rank: -1}, -1
		for i := 0; i+1 < len(syms); i++ {
			if syms[i] < 0 || syms[i+1] < 0 {
				continue
			}
			m, ok := merges[pairKey(syms[i], syms[i+1])]
			if ok && (at < 0 || m.rank < best.rank) {
				best, at = m, i
			}
		}
		if at < 0 {
			break
		}
		syms[at] = best.id
		syms = append(syms[:at+1], syms[at+2:]...)
	}
	return syms
}

// mergeHeap gives mergeSimple's result in O(n log n), so a 100 KB word without spaces costs
// milliseconds, not minutes.
func mergeHeap(syms []int64, merges map[uint64]merge) []int64 {
	n := len(syms)
	prev, next := make([]int, n), make([]int, n)
	alive := make([]bool, n)
	for i := range syms {
		prev[i], next[i], alive[i] = i-1, i+1, true
	}
	h := &pairHeap{}
	push := func(i int) {
		j := next[i]
		if i < 0 || j >= n || syms[i] < 0 || syms[j] < 0 {
			return
		}
		if m, ok := merges[pairKey(syms[i], syms[j])]; ok {
			heap.Push(h, pairItem{rank: m.rank, pos: i, left: syms[i], right: syms[j], rightPos: j, id: m.id})
		}
	}
	for i := 0; i+1 < n; i++ {
		push(i)
	}
	for h.Len() > 0 {
		it := heap.Pop(h).(pairItem)
		i, j := it.pos, it.rightPos
		if !alive[i] || !alive[j] || next[i] != j || syms[i] != it.left || syms[j] != it.right {
			continue
		}
		syms[i] = it.id
		alive[j] = false
		next[i] = next[j]
		if next[j] < n {
			prev[next[j]] = i
		}
		if prev[i] >= 0 {
			push(prev[i])
		}
		push(i)
	}
	out := syms[:0]
	for i := 0; i < n; i = next[i] {
		out = append(out, syms[i])
	}
	return out
}

type pairItem struct {
	rank            int32
	pos, rightPos   int
	left, right, id int64
}

type pairHeap []pairItem

func (h pairHeap) Len() int { return len(h) }
func (h pairHeap) Less(a, b int) bool {
	if h[a].rank != h[b].rank {
		return h[a].rank < h[b].rank
	}
	return h[a].pos < h[b].pos
}
func (h pairHeap) Swap(a, b int) { h[a], h[b] = h[b], h[a] }
func (h *pairHeap) Push(x any)   { *h = append(*h, x.(pairItem)) }
func (h *pairHeap) Pop() (x any) { old := *h; x = old[len(old)-1]; *h = old[:len(old)-1]; return }
