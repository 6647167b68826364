package tokenize

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

type normalizer interface {
	normalize(s string) string
}

func parseNormalizer(raw json.RawMessage) (normalizer, error) {
	typ, err := typeOf(raw)
	if err != nil || typ == "" {
		return nil, err
	}
	switch typ {
	case "BertNormalizer":
		var c struct {
			CleanText          *bool `json:"clean_text"`
			HandleChineseChars *bool `json:"handle_chinese_chars"`
			StripAccents       *bool `json:"strip_accents"`
			Lowercase          *bool `json:"lowercase"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("BertNormalizer: %w", err)
		}
		def := func(p *bool) bool { return p == nil || *p }
		n := bertNormalizer{clean: def(c.CleanText), chinese: def(c.HandleChineseChars), lower: def(c.Lowercase)}
		// strip_accents null means "as lowercase".
		n.strip = n.lower
		if c.StripAccents != nil {
			n.strip = *c.StripAccents
		}
		return n, nil
	case "Lowercase":
		return lowercase{}, nil
	case "NFC":
		return unicodeForm{norm.NFC}, nil
	case "NFD":
		return unicodeForm{norm.NFD}, nil
	case "NFKC":
		return unicodeForm{norm.NFKC}, nil
	case "NFKD":
		return unicodeForm{norm.NFKD}, nil
	case "StripAccents":
		return stripAccents{}, nil
	case "Strip":
		var c struct {
			Left  bool `json:"strip_left"`
			Right bool `json:"strip_right"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Strip: %w", err)
		}
		return strip{c.Left, c.Right}, nil
	case "Prepend":
		var c struct {
			Prepend string `json:"prepend"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Prepend: %w", err)
		}
		return prepend(c.Prepend), nil
	case "Replace":
		var c struct {
			Pattern struct {
				String *string `json:"String"`
				Regex  *string `json:"Regex"`
			} `json:"pattern"`
			Content string `json:"content"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Replace: %w", err)
		}
		switch {
		case c.Pattern.String != nil:
			return replace{*c.Pattern.String, c.Content}, nil
		case c.Pattern.Regex != nil:
			// Oniguruma and Go's RE2 agree on the simple patterns tokenizer files use (" {2,}");
			// one RE2 cannot compile is refused rather than approximated.
			re, err := regexp.Compile(*c.Pattern.Regex)
			if err != nil {
				return nil, fmt.Errorf("Replace: pattern: Regex %q: %w", *c.Pattern.Regex, err)
			}
			return replaceRegex{re, c.Content}, nil
		}
		return nil, fmt.Errorf("Replace: pattern: neither String nor Regex")
	case "Precompiled":
		return precompiled{}, nil
	case "Sequence":
		var c struct {
			Normalizers []json.RawMessage `json:"normalizers"`
		}
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("Sequence: %w", err)
		}
		var seq sequenceNormalizer
		for i, r := range c.Normalizers {
			n, err := parseNormalizer(r)
			if err != nil {
				return nil, fmt.Errorf("Sequence: normalizers[%d]: %w", i, err)
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	}
	return nil, fmt.Errorf("type %q is not supported", typ)
}

type sequenceNormalizer []normalizer

func (q sequenceNormalizer) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

type bertNormalizer struct{ clean, chinese, lower, strip bool }

func (n bertNormalizer) normalize(s string) string {
	if (n.clean || n.chinese) && !plainASCII(s) {
		var b strings.Builder
		b.Grow(len(s) + 8)
		for _, r := range s {
			if n.clean {
				if r == 0 || r == 0xFFFD || isBertControl(r) {
					continue
				}
				if isJSSpace(r) {
					b.WriteByte(' ')
					continue
				}
			}
			if n.chinese && isChinese(r) {
				b.WriteByte(' ')
				b.WriteRune(r)
				b.WriteByte(' ')
				continue
			}
			b.WriteRune(r)
		}
		s = b.String()
	}
	if n.lower {
		s = jsLower(s)
	}
	if n.strip {
		s = stripMn(norm.NFD.String(s))
	}
	return s
}

// isBertControl: Cc, Cf, Co (and Cs, which valid UTF-8 cannot hold) except tab, newline and
// carriage return, which are whitespace.
func isBertControl(r rune) bool {
	if r < 0x80 {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0x7F
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

// plainASCII reports whether BertNormalizer's cleaning leaves s as it is: printable ASCII and
// plain spaces only (most English tweets), so the rune loop and its copy can be skipped.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7F {
			return false
		}
	}
	return true
}

// isChinese is BERT's CJK Unified Ideographs test: the BMP blocks and the supplementary
// ideographic planes, as the Rust tokenizers have it. (transformers.js tests UTF-16 code
// units, so it misses the supplementary ranges; tweets with those are rare.)
func isChinese(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) || (r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) || (r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}

func stripMn(s string) string {
	if !strings.ContainsFunc(s, isMn) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if isMn(r) {
			return -1
		}
		return r
	}, s)
}

func isMn(r rune) bool { return r >= 0x300 && unicode.Is(unicode.Mn, r) }

// jsLower lowercases as JavaScript's toLowerCase (Unicode full case mapping): besides the
// simple mapping, U+0130 becomes "i̇" and a word-final capital sigma becomes ς.
func jsLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range s {
		switch r {
		case 0x130:
			b.WriteString("i\u0307")
		case 0x3A3:
			if finalSigma(s, i) {
				b.WriteRune(0x3C2)
			} else {
				b.WriteRune(0x3C3)
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma is Unicode's Final_Sigma condition for the Σ at byte i: a cased letter before it
// and none after it, skipping case-ignorable characters.
func finalSigma(s string, i int) bool {
	before := false
	for _, r := range reverseRunes(s[:i]) {
		if caseIgnorable(r) {
			continue
		}
		before = isCased(r)
		break
	}
	if !before {
		return false
	}
	for _, r := range s[i+len("Σ"):] {
		if caseIgnorable(r) {
			continue
		}
		return !isCased(r)
	}
	return true
}

func reverseRunes(s string) []rune {
	rs := []rune(s)
	for a, b := 0, len(rs)-1; a < b; a, b = a+1, b-1 {
		rs[a], rs[b] = rs[b], rs[a]
	}
	return rs
}

func isCased(r rune) bool { return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) }

func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', '^', '`', 0xB7, 0x2018, 0x2019, 0x2024, 0x2027:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}

type lowercase struct{}

func (lowercase) normalize(s string) string { return jsLower(s) }

type unicodeForm struct{ f norm.Form }

func (u unicodeForm) normalize(s string) string { return u.f.String(s) }

// stripAccents removes nonspacing marks (Mn), as the Rust tokenizers' StripAccents does; it
// is meant to follow NFD or NFKD.
type stripAccents struct{}

func (stripAccents) normalize(s string) string { return stripMn(s) }

type strip struct{ left, right bool }

func (st strip) normalize(s string) string {
	if st.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if st.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

type prepend string

func (p prepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return string(p) + s
}

type replace struct{ from, to string }

func (r replace) normalize(s string) string {
	if r.from == "" {
		return s
	}
	return strings.ReplaceAll(s, r.from, r.to)
}

type replaceRegex struct {
	re *regexp.Regexp
	to string
}

func (r replaceRegex) normalize(s string) string { return r.re.ReplaceAllLiteralString(s, r.to) }

// precompiled stands for SentencePiece's Precompiled normalizer (XLM-R's nmt_nfkc charsmap) as
// transformers.js, the reference here, implements it: the charsmap is not read; control
// characters are removed, whitespace-like ones become spaces, and the rest is NFKC except
// around U+FF5E. The Rust tokenizers apply the charsmap itself, which differs on a few
// characters; reading the charsmap is left for later.
type precompiled struct{}

func (precompiled) normalize(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 0x01 && r <= 0x08, r == 0x0B, r >= 0x0E && r <= 0x1F, r == 0x7F, r == 0x8F, r == 0x9F:
			return -1
		case r == 0x09, r == 0x0A, r == 0x0C, r == 0x0D, r == 0xA0, r == 0x1680, r >= 0x2000 && r <= 0x200F,
			r == 0x2028, r == 0x2029, r == 0x202F, r == 0x205F, r == 0x2581, r == 0x3000, r == 0xFEFF, r == 0xFFFD:
			return ' '
		}
		return r
	}, s)
	if !strings.ContainsRune(s, 0xFF5E) {
		return norm.NFKC.String(s)
	}
	parts := strings.Split(s, "\uFF5E")
	for i, p := range parts {
		parts[i] = norm.NFKC.String(p)
	}
	return strings.Join(parts, "\uFF5E")
}
