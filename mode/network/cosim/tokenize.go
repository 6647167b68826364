package cosim

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/rivo/uniseg"
)

// AppendTokens appends to dst the words of text as the QUT toolkit's
// similarity.tokenize sees them, possibly with repeats (the caller makes
// the set): the text lower-cased, every "@..." up to the next white space
// removed, then cut at the Unicode word boundaries of UAX #29 (the toolkit
// splits on the regex module's default word boundary, \b with the WORD
// flag). Punctuation and emoji are words of their own; runs of white space
// are not words (the toolkit's similarity splits its token string on white
// space, which drops them), and neither is a lone apostrophe (its split
// pattern, \b\p{WSegSpace}*'?, swallows one after each boundary).
//
// Texts in ASCII, most of a collection, take a fast path with the same
// result (TestASCIIMatchesUniseg); the others go through uniseg.
func AppendTokens(dst []string, text string) []string {
	s := dropMentions(strings.ToLower(text))
	if isASCII(s) {
		return appendASCIIWords(dst, s)
	}
	for state := -1; s != ""; {
		var w string
		w, s, state = uniseg.FirstWordInString(s, state)
		if w == "'" || isAllSpace(w) {
			continue
		}
		dst = append(dst, w)
	}
	return dst
}

// dropMentions removes every "@" and what follows it up to the next white
// space (the toolkit's social_media_cleaner, @.*?(?=\s|$)).
func dropMentions(s string) string {
	i := strings.IndexByte(s, '@')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexFunc(s, unicode.IsSpace)
		if j < 0 {
			s = ""
			break
		}
		s = s[j:]
		i = strings.IndexByte(s, '@')
	}
	b.WriteString(s)
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func isAllSpace(w string) bool {
	for _, r := range w {
		if !unicode.IsSpace(r) && (r < 0x1c || r > 0x1f) { // Python's str.split also cuts at \x1c-\x1f
			return false
		}
	}
	return true
}

// ASCII word-break classes (UAX #29 table 3 restricted to ASCII).
const (
	wbOther = iota
	wbSpace // white space: never part of a word here
	wbLetter
	wbNumeric
	wbExtendNumLet // _
	wbMidLetter    // :
	wbMidNumLet    // . and '
	wbMidNum       // , ;
)

var asciiClass = func() (t [utf8.RuneSelf]uint8) {
	for c := range t {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			t[c] = wbLetter
		case '0' <= c && c <= '9':
			t[c] = wbNumeric
		case c == '_':
			t[c] = wbExtendNumLet
		case c == ':':
			t[c] = wbMidLetter
		case c == '.', c == '\'':
			t[c] = wbMidNumLet
		case c == ',', c == ';':
			t[c] = wbMidNum
		case c == ' ', c == '\t', c == '\n', c == '\v', c == '\f', c == '\r', c == 0x1c, c == 0x1d, c == 0x1e, c == 0x1f:
			t[c] = wbSpace
		}
	}
	return t
}()

// appendASCIIWords cuts an ASCII text into its UAX #29 words: runs of
// letters, digits and underscores (WB5, WB8-WB13a), joined across one
// ':', '.' or '\” between letters (WB6, WB7) and one '.', '\”, ',' or ';'
// between digits (WB11, WB12); every other non-space byte is a word of
// its own (WB999). Lone apostrophes and white space are dropped, as
// AppendTokens says.
func appendASCIIWords(dst []string, s string) []string {
	isWord := func(c uint8) bool { return c == wbLetter || c == wbNumeric || c == wbExtendNumLet }
	for i := 0; i < len(s); {
		c := asciiClass[s[i]]
		if !isWord(c) {
			if c != wbSpace && s[i] != '\'' {
				dst = append(dst, s[i:i+1])
			}
			i++
			continue
		}
		j := i + 1
		for j < len(s) {
			d := asciiClass[s[j]]
			if isWord(d) {
				j++
				continue
			}
			// A middle character joins when the same kind of character
			// stands on both sides of it.
			if j+1 < len(s) {
				prev, next := asciiClass[s[j-1]], asciiClass[s[j+1]]
				if prev == wbLetter && next == wbLetter && (d == wbMidLetter || d == wbMidNumLet) ||
					prev == wbNumeric && next == wbNumeric && (d == wbMidNum || d == wbMidNumLet) {
					j += 2
					continue
				}
			}
			break
		}
		dst = append(dst, s[i:j])
		i = j
	}
	return dst
}
