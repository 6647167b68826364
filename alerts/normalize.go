package alerts

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isStopWord reports whether w is dropped before texts are compared.
// Without this, short unrelated tweets ("i am so tired" / "i am so bored")
// look alike because they share only function words; with them gone, what
// remains is what a campaign is about. (A switch on string(w) does not
// allocate.)
func isStopWord(w []byte) bool {
	switch string(w) {
	case "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for",
		"with", "from", "as", "is", "are", "was", "were", "be", "been", "being", "am", "i", "im", "me",
		"my", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "their", "this",
		"that", "these", "those", "so", "do", "does", "did", "not", "no", "just", "have", "has", "had",
		"will", "would", "can", "could", "should", "rt", "via", "u", "ur", "lol":
		return true
	}
	return false
}

// htmlEntities are the entities sentiment140 keeps literally in its texts.
var htmlEntities = strings.NewReplacer("&quot;", `"`, "&amp;", "&", "&lt;", "<", "&gt;", ">", "&#39;", "'", "&apos;", "'")

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
	if strings.IndexByte(text, '&') >= 0 {
		text = htmlEntities.Replace(text)
	}
	start := len(dst)
	// Split on white space by hand: an iterator (strings.FieldsSeq) cost a
	// fifth of the engine's time.
	from := -1
	for i := 0; i <= len(text); {
		space, size := true, 1
		if i < len(text) {
			if c := text[i]; c < utf8.RuneSelf {
				space = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
			} else {
				var r rune
				r, size = utf8.DecodeRuneInString(text[i:])
				space = unicode.IsSpace(r)
			}
		}
		switch {
		case space && from >= 0:
			dst = appendToken(dst, text[from:i])
			from = -1
		case !space && from < 0:
			from = i
		}
		i += size
	}
	return sortUnique(dst, start)
}

// appendToken appends the hash of one white-space-separated field, unless
// it is a mention, hashtag, link or stop word, or has no letter or digit.
func appendToken(dst []uint64, field string) []uint64 {
	switch {
	case field[0] == '@' || field[0] == '#':
		return dst
	case hasPrefixFold(field, "http") || hasPrefixFold(field, "www."):
		return dst
	}
	var word [64]byte // lower-cased word; longer words are truncated (hash of the prefix)
	n := 0
	for i := 0; i < len(field); {
		c := field[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
			case 'A' <= c && c <= 'Z':
				c += 'a' - 'A'
			default:
				continue
			}
			if n < len(word) {
				word[n] = c
				n++
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(field[i:])
		i += size
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		r = unicode.ToLower(r)
		if n+utf8.RuneLen(r) <= len(word) {
			n += utf8.EncodeRune(word[n:], r)
		}
	}
	if n == 0 || isStopWord(word[:n]) {
		return dst
	}
	return append(dst, fnv64(word[:n]))
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
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

// intersection is |a∩b| of two sorted, duplicate-free sets.
func intersection(a, b []uint64) int {
	inter, i, j := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			inter++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return inter
}

// Similarity is the Jaccard similarity of two texts' normalised content
// tokens, as the coordination detector compares them.
func Similarity(a, b string) float64 {
	return jaccard(tokenHashes(nil, a), tokenHashes(nil, b))
}
