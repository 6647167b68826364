package alerts

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"
)

// stopWords are dropped before texts are compared. Without this, short
// unrelated tweets ("i am so tired" / "i am so bored") look alike because
// they share only function words; with them gone, what remains is what a
// campaign is about.
var stopWords = [...]string{
	"a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for",
	"with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "am", "i", "im", "me",
	"my", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "their", "this",
	"that", "these", "those", "so", "do", "does", "did", "not", "no", "just", "have", "has", "had",
	"will", "would", "can", "could", "should", "rt", "via", "u", "ur", "lol",
}

// maxStopWord is the length of the longest stop word: most words are
// longer and need no look-up.
const maxStopWord = len("should")

// stopHashSet holds the FNV-1a hashes of the stop words in an
// open-addressing table (0 = empty). tokenHashes hashes each word as it
// reads it, so testing the hash saves keeping the word and comparing
// strings (a switch over the words was 5% of the engine's CPU). A word
// whose 64-bit hash equals a stop word's is taken for it; words are
// compared by these hashes anyway, so that is no new kind of error.
type stopHashSet [256]uint64

// stopHashes is built once and only read.
var stopHashes = func() (s stopHashSet) {
	for _, w := range stopWords {
		h := fnv64([]byte(w))
		i := s.slot(h)
		for s[i] != 0 {
			i = (i + 1) % len(s)
		}
		s[i] = h
	}
	return s
}()

func (s *stopHashSet) slot(h uint64) int { return int((h * 0x9e3779b97f4a7c15) >> 56) }

// has reports whether h is a stop word's hash.
func (s *stopHashSet) has(h uint64) bool {
	for i := s.slot(h); ; i = (i + 1) % len(s) {
		switch s[i] {
		case h:
			return true
		case 0:
			return false
		}
	}
}

// FNV-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// maxWord bounds the bytes of a word that are hashed: longer words are
// truncated (hash of the prefix).
const maxWord = 64

// asciiFold says what a word keeps of an ASCII byte: its lower case for
// letters and digits, 0 for nothing, foldSpace for white space (a field
// separator). One table look-up replaces four range tests per byte.
var asciiFold = func() (t [utf8.RuneSelf]byte) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			t[c] = byte(c)
		case 'A' <= c && c <= 'Z':
			t[c] = byte(c) + 'a' - 'A'
		case c == ' ', c == '\t', c == '\n', c == '\r', c == '\v', c == '\f':
			t[c] = foldSpace
		}
	}
	return t
}()

const foldSpace = 1

// htmlEntities are the entities sentiment140 keeps literally in its texts.
// Each decodes to punctuation, which a word drops, and none to white space,
// '@', '#' or a letter: so tokenHashes skips an entity as one dropped
// character instead of decoding the text into a copy (a string per tweet
// with an '&'). engine_test.go decodes with strings.Replacer and fuzzes
// the two against each other.
var htmlEntities = [...]string{"&quot;", "&amp;", "&lt;", "&gt;", "&#39;", "&apos;"}

// entityLen returns the length of the entity s starts with, or 1.
func entityLen(s string) int {
	for _, e := range htmlEntities {
		if strings.HasPrefix(s, e) {
			return len(e)
		}
	}
	return 1
}

// tokenHashes appends to dst the 64-bit FNV-1a hashes of the distinct
// content tokens of text, after normalisation:
//   - HTML entities decoded, case folded;
//   - URLs, @mentions and #hashtags dropped (a campaign adds and varies them);
//   - inside a word, everything but letters and digits dropped, so
//     punctuation and apostrophes do not matter ("don't!" = "dont");
//   - stop words dropped.
//
// Word order is ignored (a set), so swapped words do not matter either.
// The result is sorted, without duplicates.
func tokenHashes(dst []uint64, text string) []uint64 {
	start := len(dst)
	// One pass over the text splits on white space and hashes each word's
	// folded bytes as it goes: no word buffer, and the stop-word test is a
	// look-up of the hash. engine_test.go keeps the two-pass definition,
	// strings.Fields plus a per-field function, and fuzzes this against it.
	h, n := uint64(fnvOffset), 0 // hash and length of the folded word so far
	inField, skip := false, false
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			f := asciiFold[c]
			if f == foldSpace {
				if inField && !skip {
					dst = appendWord(dst, h, n)
				}
				inField = false
				i++
				continue
			}
			if !inField {
				// A mention, hashtag or link is skipped to its end. The
				// link prefixes hold no white space, so matching them
				// against the rest of the text is matching the field.
				inField, skip, h, n = true, c == '@' || c == '#' || isLinkPrefix(text[i:]), fnvOffset, 0
			}
			if skip { // to the field's end, or to a non-ASCII byte
				for i++; i < len(text) && text[i] < utf8.RuneSelf && asciiFold[text[i]] != foldSpace; i++ {
				}
				continue
			}
			if c == '&' {
				i += entityLen(text[i:])
				continue // dropped like the character it decodes to
			}
			// The rest of the word's ASCII stretch in a tight loop, without
			// the outer loop's field bookkeeping per byte (870 -> 790 ns
			// per sample text).
			for {
				if f != 0 && n < maxWord {
					h = (h ^ uint64(f)) * fnvPrime
					n++
				}
				if i++; i == len(text) {
					break
				}
				if c = text[i]; c >= utf8.RuneSelf || c == '&' {
					break
				}
				if f = asciiFold[c]; f == foldSpace {
					break
				}
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if unicode.IsSpace(r) {
			if inField && !skip {
				dst = appendWord(dst, h, n)
			}
			inField = false
			continue
		}
		if !inField {
			inField, skip, h, n = true, false, fnvOffset, 0
		}
		if skip || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		var b [utf8.UTFMax]byte
		l := utf8.EncodeRune(b[:], unicode.ToLower(r))
		if n+l <= maxWord {
			for _, x := range b[:l] {
				h = (h ^ uint64(x)) * fnvPrime
			}
			n += l
		}
	}
	if inField && !skip {
		dst = appendWord(dst, h, n)
	}
	return sortUnique(dst, start)
}

// appendWord appends the hash h of a folded word of n bytes unless it is
// empty or a stop word.
func appendWord(dst []uint64, h uint64, n int) []uint64 {
	if n == 0 || n <= maxStopWord && stopHashes.has(h) {
		return dst
	}
	return append(dst, h)
}

// isLinkPrefix reports whether s starts with "http" or "www.", in any case.
// (The folds of these letters are all ASCII, so a byte test is
// strings.EqualFold's answer.)
func isLinkPrefix(s string) bool {
	if len(s) < 4 {
		return false
	}
	switch s[0] | 0x20 {
	case 'h':
		return s[1]|0x20 == 't' && s[2]|0x20 == 't' && s[3]|0x20 == 'p'
	case 'w':
		return s[1]|0x20 == 'w' && s[2]|0x20 == 'w' && s[3] == '.'
	}
	return false
}

func fnv64(b []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime
	}
	return h
}

// sortUnique sorts dst[start:] and removes duplicates from it. Token lists are
// short (a tweet has tens of words), so insertion sort is the fast choice.
func sortUnique(dst []uint64, start int) []uint64 {
	s := dst[start:]
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	out := start
	for i, v := range s {
		if i > 0 && v == s[i-1] {
			continue
		}
		dst[out] = v
		out++
	}
	return dst[:out]
}

// jaccard is |a∩b| / |a∪b| of two sorted, duplicate-free sets.
func jaccard(a, b []uint64) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := intersection(a, b)
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// jaccardAtLeast is jaccard(a, b) when that is at least lo, and 0 when it
// is below (then the merge stops as soon as the tokens left cannot bring
// the intersection up to lo: most candidate groups of a tweet share a word
// or two with it and no more). Every value it returns equals jaccard's, so
// a caller comparing it with lo or anything above decides as before.
func jaccardAtLeast(a, b []uint64, lo float64) float64 {
	if len(a) == 0 && len(b) == 0 {
		if jaccard(a, b) < lo {
			return 0
		}
		return jaccard(a, b)
	}
	inter := overlap(a, b, minOverlap(len(a), len(b), lo))
	if inter < 0 {
		return 0
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}

// minOverlap is the least intersection of sets of sizes na and nb whose
// Jaccard similarity, computed as jaccard does, is at least lo:
// min(na, nb) + 1 when none is. u/(na+nb-u) grows with u, so the first u
// that passes is the bound; the estimate from the closed form is checked
// against the float expression itself, so rounding cannot move it.
func minOverlap(na, nb int, lo float64) int {
	sum, most := na+nb, min(na, nb)
	ok := func(u int) bool { return float64(u)/float64(sum-u) >= lo }
	u := min(max(int(math.Ceil(lo*float64(sum)/(1+lo)))-1, 0), most)
	for u > 0 && ok(u) {
		u--
	}
	for u <= most && !ok(u) {
		u++
	}
	return u
}

// intersection is |a∩b| of two sorted, duplicate-free sets.
func intersection(a, b []uint64) int { return overlap(a, b, 0) }

// overlap is |a∩b| of two sorted, duplicate-free sets, or -1 once the
// tokens left cannot bring it to need. The merge steps without branching
// on the comparison (the compiler sets the increments with SETcc, no
// jump): token hashes are random, so a branch on their order is
// mispredicted half the time, and this merge runs for every candidate
// group of every tweet.
func overlap(a, b []uint64, need int) int {
	inter, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		if inter+min(len(a)-i, len(b)-j) < need {
			return -1
		}
		x, y := a[i], b[j]
		di, dj := 0, 0
		if x <= y {
			di = 1
		}
		if y <= x {
			dj = 1
		}
		i, j, inter = i+di, j+dj, inter+di&dj // equal: both step
	}
	if inter < need {
		return -1
	}
	return inter
}

// Similarity is the Jaccard similarity of two texts' normalised content
// tokens, as the coordination detector compares them.
func Similarity(a, b string) float64 {
	return jaccard(tokenHashes(nil, a), tokenHashes(nil, b))
}
