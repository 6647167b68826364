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
	if len(w) > len("should") { // the longest stop word: most words end here
		return false
	}
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
	// One pass over the text splits on white space and folds each field
	// into word as it goes. (It was a splitter handing each field to a
	// second loop; before that, strings.FieldsSeq, a fifth of the engine's
	// time.) engine_test.go keeps the two-pass definition, strings.Fields
	// plus a per-field function, and fuzzes this against it.
	var word [64]byte // lower-cased word; longer words are truncated (hash of the prefix)
	n := 0
	inField, skip := false, false
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' {
				if inField && !skip {
					dst = appendWord(dst, word[:n])
				}
				inField = false
				i++
				continue
			}
			if !inField {
				// A mention, hashtag or link is skipped to its end. The
				// link prefixes hold no white space, so matching them
				// against the rest of the text is matching the field.
				inField, skip, n = true, c == '@' || c == '#' || isLinkPrefix(text[i:]), 0
			}
			i++
			if skip {
				continue
			}
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
		r, size := utf8.DecodeRuneInString(text[i:])
		i += size
		if unicode.IsSpace(r) {
			if inField && !skip {
				dst = appendWord(dst, word[:n])
			}
			inField = false
			continue
		}
		if !inField {
			inField, skip, n = true, false, 0
		}
		if skip || !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			continue
		}
		r = unicode.ToLower(r)
		if n+utf8.RuneLen(r) <= len(word) {
			n += utf8.EncodeRune(word[n:], r)
		}
	}
	if inField && !skip {
		dst = appendWord(dst, word[:n])
	}
	return sortUnique(dst, start)
}

// appendWord appends the hash of a folded word unless it is empty or a stop
// word.
func appendWord(dst []uint64, word []byte) []uint64 {
	if len(word) == 0 || isStopWord(word) {
		return dst
	}
	return append(dst, fnv64(word))
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
