package featurize

import (
	"unicode"
	"unicode/utf8"
)

// Token kinds.
const (
	kindWord     uint8 = iota // letters, digits, ', _; may start with # or @
	kindEmoticon              // :) :-( <3 ... kept as written
	kindEmoji                 // one pictographic rune
	kindPunct                 // ! ? (runs up to 3) and . , ; :
	kindURL                   // any http(s)://, www. chunk, as "<url>"
)

type token struct {
	start, end int32 // in Scratch.buf
	kind       uint8
	// caps: the word was written in capitals (2+ letters, all upper).
	caps bool
	// negated: the word is in a negation scope (set by Featurize).
	negated bool
}

type shapeCounts struct {
	exclaim, question, capsWords, mentions, hashtags, urls, emoji, elongated int
}

// Scratch holds one goroutine's buffers. The zero value is ready; reusing one
// Scratch across calls makes Featurize allocation-free.
type Scratch struct {
	buf    []byte // normalized token text, tokens back to back
	toks   []token
	phrase []byte // cuss phrase lookups
	shape  shapeCounts
}

func (s *Scratch) reset() {
	s.buf = s.buf[:0]
	s.toks = s.toks[:0]
	s.shape = shapeCounts{}
}

func (s *Scratch) text(t *token) []byte { return s.buf[t.start:t.end] }

// maxChunk caps the bytes of one whitespace-free chunk looked at as a whole,
// so a 100 KB run without spaces is cut into pieces rather than scanned for
// URLs and emoticons as one string.
const maxChunk = 512

// tokenize splits text into tokens: whitespace separates chunks; a chunk is
// a URL, an emoticon, or is split further into words, emoji and punctuation.
// Words are lower-cased, digits become 0, a letter repeated more than three
// times is cut to three ("soooooo" -> "sooo"), and ’ becomes '. Invalid UTF-8
// bytes, control and format characters separate tokens and are dropped.
func (s *Scratch) tokenize(text string, maxTokens int) {
	pos := 0
	for pos < len(text) && len(s.toks) < maxTokens {
		if size := separatorAt(text, pos); size > 0 {
			pos += size
			continue
		}
		end := pos
		for end < len(text) && end-pos < maxChunk && separatorAt(text, end) == 0 {
			if text[end] < utf8.RuneSelf {
				end++
			} else {
				_, size := utf8.DecodeRuneInString(text[end:])
				end += size
			}
		}
		s.chunk(text[pos:end], maxTokens)
		pos = end
	}
}

// separatorAt returns the byte size of the separator at text[pos] (space,
// control character or invalid UTF-8), or 0 if there is none.
func separatorAt(text string, pos int) int {
	if b := text[pos]; b < utf8.RuneSelf {
		if b <= ' ' || b == 0x7f {
			return 1
		}
		return 0
	}
	r, size := utf8.DecodeRuneInString(text[pos:])
	if (r == utf8.RuneError && size <= 1) || unicode.IsSpace(r) || unicode.IsControl(r) {
		return size
	}
	return 0
}

func (s *Scratch) chunk(c string, maxTokens int) {
	if isURL(c) {
		s.push("<url>", kindURL, false)
		s.shape.urls++
		return
	}
	if isEmoticon(c) {
		s.push(c, kindEmoticon, false)
		return
	}
	// Split into words, emoji and punctuation.
	wordStart := -1 // start of the current word in buf, -1 if none
	var wd word
	endWord := func() {
		if wordStart < 0 {
			return
		}
		start := wordStart
		wordStart = -1
		end := len(s.buf)
		for end > start && s.buf[end-1] == '\'' {
			end--
		}
		s.buf = s.buf[:end]
		w := s.buf[start:end]
		if len(w) == 0 || (len(w) == 1 && (w[0] == '#' || w[0] == '@')) || len(s.toks) >= maxTokens {
			s.buf = s.buf[:start]
			return
		}
		caps := wd.letters >= 2 && wd.upper == wd.letters
		if caps {
			s.shape.capsWords++
		}
		s.toks = append(s.toks, token{start: int32(start), end: int32(end), kind: kindWord, caps: caps})
		switch w[0] {
		case '@':
			s.shape.mentions++
		case '#':
			// A hashtag is also read as the bare word, so #happy finds
			// "happy" in the lexicons and shares its weights.
			s.shape.hashtags++
			if len(s.toks) < maxTokens {
				s.toks = append(s.toks, token{start: int32(start + 1), end: int32(end), kind: kindWord, caps: caps})
			}
		}
	}
	for i := 0; i < len(c); {
		var r rune
		if b := c[i]; b < utf8.RuneSelf {
			i++
			// Fast path for the ASCII word bytes that make up most tweets;
			// same result as the general path below.
			if cls := asciiClass[b]; cls >= clsLower {
				if wordStart < 0 {
					wordStart, wd = len(s.buf), word{}
				}
				switch cls {
				case clsLower:
					wd.letters++
				case clsUpper:
					wd.letters++
					wd.upper++
					b += 'a' - 'A'
				case clsDigit:
					b = '0'
				}
				if wd.keep(rune(b), &s.shape) {
					s.buf = append(s.buf, b)
				}
				continue
			}
			r = rune(b)
		} else {
			var size int
			r, size = utf8.DecodeRuneInString(c[i:])
			i += size
		}
		switch {
		case r == '’' || r == '\'':
			if wordStart >= 0 {
				s.buf = append(s.buf, '\'')
				wd.last, wd.repeat = '\'', 1
			}
		case isWordRune(r) || ((r == '#' || r == '@') && wordStart < 0):
			if wordStart < 0 {
				wordStart, wd = len(s.buf), word{}
			}
			switch {
			case 'a' <= r && r <= 'z':
				wd.letters++
			case 'A' <= r && r <= 'Z':
				wd.letters++
				wd.upper++
			case r >= utf8.RuneSelf && unicode.IsLetter(r):
				wd.letters++
				if unicode.IsUpper(r) {
					wd.upper++
				}
			}
			if r = normalizeRune(r); wd.keep(r, &s.shape) {
				s.buf = utf8.AppendRune(s.buf, r)
			}
		default:
			endWord()
			if len(s.toks) >= maxTokens {
				return
			}
			switch {
			case r == '!' || r == '?':
				n := 1
				for i < len(c) && c[i] == byte(r) {
					n++
					i++
				}
				if r == '!' {
					s.shape.exclaim += n
				} else {
					s.shape.question += n
				}
				s.push(punctRun(r == '?', n), kindPunct, false)
			case r == '.' || r == ',' || r == ';' || r == ':':
				for i < len(c) && c[i] == byte(r) {
					i++
				}
				s.pushRune(r, kindPunct)
			case isEmoji(r):
				s.shape.emoji++
				s.pushRune(r, kindEmoji)
			}
		}
	}
	endWord()
}

// word is what chunk tracks of the word being read: its letters and
// capitals (two or more letters, all capitals: a caps word) and the run of
// one character in it.
type word struct {
	last                   rune
	repeat, letters, upper int
}

// keep reports whether r, the word's next character, goes into the word: a
// run of one character is cut to three ("sooooo" becomes "sooo") and its
// fourth marks the word elongated, once.
func (w *word) keep(r rune, sh *shapeCounts) bool {
	if r != w.last {
		w.last, w.repeat = r, 1
		return true
	}
	w.repeat++
	if w.repeat == 4 {
		sh.elongated++
	}
	return w.repeat <= 3
}

// ASCII byte classes, as a string constant so the table is immutable.
// Classes >= clsLower are word bytes.
const (
	clsOther byte = iota
	clsLower
	clsUpper
	clsDigit
	clsUnderscore
)

const asciiClass = "" +
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x00
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x10
	"\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00" + // 0x20 space..'/'
	"\x03\x03\x03\x03\x03\x03\x03\x03\x03\x03\x00\x00\x00\x00\x00\x00" + // 0x30 digits
	"\x00\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02" + // 0x40 @ A-O
	"\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x00\x00\x00\x00\x04" + // 0x50 P-Z _
	"\x00\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01" + // 0x60 ` a-o
	"\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\x00\x00\x00\x00\x00" //   0x70 p-z

// punctRun is the token for a run of n '!' or '?' (capped at three).
func punctRun(question bool, n int) string {
	const bangs, marks = "!!!", "???"
	if question {
		return marks[:min(n, 3)]
	}
	return bangs[:min(n, 3)]
}

func (s *Scratch) push(text string, kind uint8, caps bool) {
	start := len(s.buf)
	s.buf = append(s.buf, text...)
	s.toks = append(s.toks, token{start: int32(start), end: int32(len(s.buf)), kind: kind, caps: caps})
}

func (s *Scratch) pushRune(r rune, kind uint8) {
	start := len(s.buf)
	s.buf = utf8.AppendRune(s.buf, r)
	s.toks = append(s.toks, token{start: int32(start), end: int32(len(s.buf)), kind: kind})
}

// normalizeRune lower-cases and maps every decimal digit to 0 (numbers are
// rarely telling; their count of digits is kept).
func normalizeRune(r rune) rune {
	switch {
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		if '0' <= r && r <= '9' {
			return '0'
		}
		return r
	case unicode.IsDigit(r):
		return '0'
	default:
		return unicode.ToLower(r)
	}
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func isEmoji(r rune) bool {
	return (r >= 0x1F000 && r <= 0x1FAFF) || (r >= 0x2600 && r <= 0x27BF) || unicode.Is(unicode.So, r)
}

func isURL(c string) bool {
	return hasPrefixFold(c, "http://") || hasPrefixFold(c, "https://") || hasPrefixFold(c, "www.")
}

func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for i := 0; i < len(prefix); i++ {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if b != prefix[i] {
			return false
		}
	}
	return true
}

// isEmoticon recognizes the common ASCII emoticons (as VADER lists them, and
// their mirrored forms) when they stand alone between spaces.
func isEmoticon(c string) bool {
	switch c {
	case ":)", ":-)", ":))", ":)))", ":]", ":}", ":o)", ":3", ":>", "=)", "=]", "(:", "(-:", "((:", "^_^", "^^", "^.^",
		":D", ":-D", "=D", "xD", "XD", "xd", ":d", "8)", "8-)", "B)",
		";)", ";-)", ";]", ";D", ";d", "(;",
		":P", ":-P", ":p", ":-p", ";P", ";p", "=P", "=p", ":b", "xP", "XP",
		":(", ":-(", ":((", ":(((", ":[", ":{", "=(", "=[", "):", ")-:", "D:", "Dx",
		":'(", ":'-(", ":'[", ";(", ";-(", ":,(", "T_T", "T.T", "-_-", "-.-", ">:(", ">:[", "D;",
		":/", ":-/", ":\\", ":-\\", "=/", ":|", ":-|", ":s", ":S", ":-S", ":o", ":O", ":-o", ":-O", "o.O", "O.o", "O_o", "o_O",
		"<3", "<33", "<333", "</3", ":*", ":-*", ":x", ":X", "xo", "xoxo", "xx", "xxx":
		return true
	}
	return false
}

// Tokens returns the tokens Featurize reads from text, for tests and
// debugging (it allocates; Featurize does not).
func Tokens(text string, maxTokens int) []string {
	var s Scratch
	s.tokenize(text, maxTokens)
	out := make([]string, len(s.toks))
	for i := range s.toks {
		out[i] = string(s.text(&s.toks[i]))
	}
	return out
}
