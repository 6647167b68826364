package tokenize

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// preTokenizer cuts normalized text into the pieces (words) the model encodes one by one.
type preTokenizer interface {
	// split calls yield with each piece of s, in order.
	split(s string, yield func(string))
}

// parsePreTokenizer also reports whether pieces are to be byte-level encoded (ByteLevel).
func parsePreTokenizer(raw json.RawMessage) (preTokenizer, bool, error) {
	typ, err := typeOf(raw)
	if err != nil {
		return nil, false, err
	}
	switch typ {
	case "":
		return wholeText{}, false, nil
	case "BertPreTokenizer":
		return bertPre{}, false, nil
	case "Whitespace":
		return whitespacePre{}, false, nil
	case "WhitespaceSplit":
		return whitespaceSplit{}, false, nil
	case "ByteLevel":
		var c struct {
			AddPrefixSpace bool  `json:"add_prefix_space"`
			UseRegex       *bool `json:"use_regex"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, false, fmt.Errorf("ByteLevel: %w", err)
		}
		return byteLevelPre{prefixSpace: c.AddPrefixSpace, regex: c.UseRegex == nil || *c.UseRegex}, true, nil
	case "Metaspace":
		var c struct {
			Replacement    *string `json:"replacement"`
			PrependScheme  *string `json:"prepend_scheme"`
			AddPrefixSpace *bool   `json:"add_prefix_space"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, false, fmt.Errorf("Metaspace: %w", err)
		}
		// split is ignored, as transformers.js ignores it: the whole section goes to the model
		// (the Unigram model walks it word by word itself; see unigram.encode).
		m := metaspace{replacement: "\u2581", prepend: true}
		if c.Replacement != nil {
			if *c.Replacement == "" {
				return nil, false, errors.New("Metaspace: replacement: empty")
			}
			m.replacement = *c.Replacement
		}
		if c.AddPrefixSpace != nil { // older files
			m.prepend = *c.AddPrefixSpace
		}
		if c.PrependScheme != nil {
			switch *c.PrependScheme {
			case "always":
				m.prepend = true
			case "never":
				m.prepend = false
			default:
				// "first" depends on the position among added-token sections (Llama); not yet.
				return nil, false, fmt.Errorf("Metaspace: prepend_scheme %q is not supported", *c.PrependScheme)
			}
		}
		return m, false, nil
	case "Sequence":
		var c struct {
			PreTokenizers []json.RawMessage `json:"pretokenizers"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, false, fmt.Errorf("Sequence: %w", err)
		}
		var seq sequencePre
		byteLevel := false
		for i, r := range c.PreTokenizers {
			if byteLevel {
				return nil, false, fmt.Errorf("Sequence: pretokenizers[%d]: only the last pre-tokenizer may be ByteLevel", i-1)
			}
			p, bl, err := parsePreTokenizer(r)
			if err != nil {
				return nil, false, fmt.Errorf("Sequence: pretokenizers[%d]: %w", i, err)
			}
			seq = append(seq, p)
			byteLevel = bl
		}
		if len(seq) == 0 {
			return nil, false, errors.New("Sequence: pretokenizers: empty")
		}
		return seq, byteLevel, nil
	}
	return nil, false, fmt.Errorf("type %q is not supported", typ)
}

type wholeText struct{}

func (wholeText) split(s string, yield func(string)) { yield(s) }

type sequencePre []preTokenizer

func (q sequencePre) split(s string, yield func(string)) {
	if len(q) == 0 {
		yield(s)
		return
	}
	q[0].split(s, func(piece string) { q[1:].split(piece, yield) })
}

// isBertPunct is transformers.js's PUNCTUATION_REGEX: \p{P} and all ASCII punctuation and
// symbols (so $, +, <, =, >, ^, `, |, ~ count as punctuation, as in BERT).
func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= 0x21 && r <= 0x2F) || (r >= 0x3A && r <= 0x40) || (r >= 0x5B && r <= 0x60) || (r >= 0x7B && r <= 0x7E)
	}
	return unicode.IsPunct(r)
}

// bertPre is BertPreTokenizer: runs of neither whitespace nor punctuation, and each
// punctuation character alone; whitespace is dropped.
type bertPre struct{}

func (bertPre) split(s string, yield func(string)) {
	start := -1
	for i, r := range s {
		switch {
		case isJSSpace(r):
			if start >= 0 {
				yield(s[start:i])
				start = -1
			}
		case isBertPunct(r):
			if start >= 0 {
				yield(s[start:i])
				start = -1
			}
			yield(s[i : i+len(string(r))])
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		yield(s[start:])
	}
}

func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || unicode.Is(unicode.Pc, r)
}

// whitespacePre is the Whitespace pre-tokenizer: \w+|[^\w\s]+.
type whitespacePre struct{}

func (whitespacePre) split(s string, yield func(string)) {
	start, kind := -1, 0 // kind 1: word, 2: other
	for i, r := range s {
		k := 2
		if isJSSpace(r) {
			k = 0
		} else if isWordRune(r) {
			k = 1
		}
		if k != kind && start >= 0 {
			yield(s[start:i])
			start = -1
		}
		if k != 0 && start < 0 {
			start = i
		}
		kind = k
	}
	if start >= 0 {
		yield(s[start:])
	}
}

type whitespaceSplit struct{}

func (whitespaceSplit) split(s string, yield func(string)) {
	for f := range strings.FieldsFuncSeq(s, isJSSpace) {
		yield(f)
	}
}

// byteLevelPre is GPT-2's pre-tokenizer: the pieces of the regular expression
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//
// matched by hand (Go's regexp has no lookahead). The pieces stay raw UTF-8; the BPE model maps
// their bytes to GPT-2's byte alphabet.
type byteLevelPre struct{ prefixSpace, regex bool }

func (p byteLevelPre) split(s string, yield func(string)) {
	if p.prefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	if !p.regex {
		yield(s)
		return
	}
	for i := 0; i < len(s); {
		n := gpt2Match(s, i)
		yield(s[i : i+n])
		i += n
	}
}

type runeClass int

const (
	classSpace runeClass = iota
	classLetter
	classNumber
	classOther
)

func classOf(r rune) runeClass {
	switch {
	case r < 0x80:
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			return classLetter
		case r >= '0' && r <= '9':
			return classNumber
		case r == ' ', r >= '\t' && r <= '\r':
			return classSpace
		}
		return classOther
	case isJSSpace(r):
		return classSpace
	case unicode.IsLetter(r):
		return classLetter
	case unicode.Is(unicode.N, r):
		return classNumber
	}
	return classOther
}

// run returns the end of the run of class c starting at i.
func run(s string, i int, c runeClass) int {
	for i < len(s) {
		r, size := decodeRune(s[i:])
		if classOf(r) != c {
			break
		}
		i += size
	}
	return i
}

// gpt2Match returns the length of the regular expression's match at s[i:] (always > 0).
func gpt2Match(s string, i int) int {
	rest := s[i:]
	if rest[0] == '\'' && len(rest) >= 2 {
		switch rest[1] {
		case 's', 't', 'm', 'd':
			return 2
		case 'r', 'v', 'l':
			if len(rest) >= 3 && ((rest[1] == 'r' && rest[2] == 'e') || (rest[1] == 'v' && rest[2] == 'e') || (rest[1] == 'l' && rest[2] == 'l')) {
				return 3
			}
		}
	}
	j := i
	if rest[0] == ' ' {
		j++
	}
	if j < len(s) {
		r, _ := decodeRune(s[j:])
		if c := classOf(r); c != classSpace {
			return run(s, j, c) - i
		}
	}
	// Whitespace: \s+(?!\S) leaves the last space of a run before a non-space to the next
	// piece (which then starts with it); \s+ takes a single one.
	end := run(s, i, classSpace)
	if end == len(s) {
		return end - i
	}
	_, last := lastRune(s[i:end])
	if end-last > i {
		return end - last - i
	}
	return end - i
}

func lastRune(s string) (rune, int) {
	for k := len(s) - 1; k >= 0; k-- {
		if s[k] < 0x80 || s[k] >= 0xC0 {
			r, size := decodeRune(s[k:])
			return r, size
		}
	}
	return 0, 1
}

// metaspace replaces spaces with ▁ and prepends one when the text does not start with it.
type metaspace struct {
	replacement string
	prepend     bool
}

func (m metaspace) split(s string, yield func(string)) {
	s = strings.ReplaceAll(s, " ", m.replacement)
	if m.prepend && !strings.HasPrefix(s, m.replacement) {
		s = m.replacement + s
	}
	yield(s)
}
