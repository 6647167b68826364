package event

import (
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// This file is a hand-written JSON encoder for Metadata and Tweet. Encoding
// the metadata (with the whole tweet) through encoding/json's reflection was
// the largest single cost of a model function per event. The encoder writes
// exactly the bytes json.Marshal writes (same field order, omitempty, HTML
// escaping, float format, sorted map keys); FuzzAppendMetadataJSON checks
// that byte for byte, so the wire contract cannot change through it. Values
// it does not handle the way encoding/json does (NaN, ±Inf, times that
// json.Marshal refuses) make it fall back to json.Marshal, which returns the
// same error it always did.

// MarshalMetadataJSON returns the JSON of m, byte for byte what
// json.Marshal(m) returns, without reflection.
func MarshalMetadataJSON(m *Metadata) ([]byte, error) {
	b, ok := appendMetadata(make([]byte, 0, metadataSizeHint(m)), m)
	if !ok {
		return json.Marshal(m)
	}
	return b, nil
}

// MarshalTweetJSON returns the JSON of t, byte for byte what json.Marshal(t)
// returns, without reflection.
func MarshalTweetJSON(t *Tweet) ([]byte, error) {
	b, ok := appendTweet(make([]byte, 0, tweetSizeHint(t)), t)
	if !ok {
		return json.Marshal(t)
	}
	return b, nil
}

func tweetSizeHint(t *Tweet) int {
	n := 80 + len(t.ID) + len(t.User) + len(t.Text) + len(t.Text)/8
	if t.UserID != "" || t.Lang != "" || t.RetweetOf != "" || t.QuoteOf != "" || t.ReplyTo != "" || t.ConversationID != "" {
		n += 100 + len(t.UserID) + len(t.RetweetOf) + len(t.QuoteOf) + len(t.ReplyTo) + len(t.ConversationID)
	}
	for _, l := range [...][]string{t.Hashtags, t.URLs, t.Mentions} {
		for _, v := range l {
			n += len(v) + 4
		}
	}
	for k, v := range t.Fields {
		n += len(k) + len(v) + 8
	}
	return n
}

func metadataSizeHint(m *Metadata) int {
	n := 120 + len(m.TweetID) + len(m.Model) + len(m.ModelVersion) + len(m.Label) + tweetSizeHint(&m.Tweet)
	for k := range m.Probabilities {
		n += len(k) + 28
	}
	return n
}

// appendMetadata appends m's JSON to b; ok is false when a value needs
// encoding/json's error path.
func appendMetadata(b []byte, m *Metadata) ([]byte, bool) {
	b = append(b, `{"tweet_id":`...)
	b = appendJSONString(b, m.TweetID)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, m.Model)
	b = append(b, `,"model_version":`...)
	b = appendJSONString(b, m.ModelVersion)
	b = append(b, `,"value":`...)
	var ok bool
	if b, ok = appendJSONFloat(b, m.Value); !ok {
		return b, false
	}
	b = append(b, `,"label":`...)
	b = appendJSONString(b, m.Label)
	b = append(b, `,"probabilities":`...)
	if m.Probabilities == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		for i, k := range sortedKeys(m.Probabilities) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			if b, ok = appendJSONFloat(b, m.Probabilities[k]); !ok {
				return b, false
			}
		}
		b = append(b, '}')
	}
	b = append(b, `,"tweet":`...)
	if b, ok = appendTweet(b, &m.Tweet); !ok {
		return b, false
	}
	return append(b, '}'), true
}

func appendTweet(b []byte, t *Tweet) ([]byte, bool) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, t.ID)
	b = appendOptString(b, `,"user_id":`, t.UserID)
	b = append(b, `,"user":`...)
	b = appendJSONString(b, t.User)
	b = append(b, `,"text":`...)
	b = appendJSONString(b, t.Text)
	b = append(b, `,"created_at":"`...)
	// time.Time's MarshalJSON is its quoted MarshalText; AppendText is the
	// same without the allocation. RFC 3339 needs no JSON escaping.
	var err error
	if b, err = t.CreatedAt.AppendText(b); err != nil {
		return b, false
	}
	b = append(b, '"')
	b = appendOptString(b, `,"lang":`, t.Lang)
	b = appendOptString(b, `,"retweet_of":`, t.RetweetOf)
	b = appendOptString(b, `,"quote_of":`, t.QuoteOf)
	b = appendOptString(b, `,"reply_to":`, t.ReplyTo)
	b = appendOptString(b, `,"conversation_id":`, t.ConversationID)
	b = appendOptStrings(b, `,"hashtags":`, t.Hashtags)
	b = appendOptStrings(b, `,"urls":`, t.URLs)
	b = appendOptStrings(b, `,"mentions":`, t.Mentions)
	if len(t.Fields) > 0 {
		b = append(b, `,"fields":{`...)
		for i, k := range sortedKeys(t.Fields) {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, k)
			b = append(b, ':')
			b = appendJSONString(b, t.Fields[k])
		}
		b = append(b, '}')
	}
	return append(b, '}'), true
}

// appendOptString writes an omitempty string field: key (with its leading
// comma and colon) and value, or nothing when v is empty.
func appendOptString(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	return appendJSONString(append(b, key...), v)
}

// appendOptStrings writes an omitempty []string field (omitted when empty,
// nil or not, as encoding/json does).
func appendOptStrings(b []byte, key string, vs []string) []byte {
	if len(vs) == 0 {
		return b
	}
	b = append(b, key...)
	b = append(b, '[')
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, v)
	}
	return append(b, ']')
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// appendJSONFloat formats f as encoding/json does (ES6 number formatting);
// ok is false for NaN and ±Inf, which encoding/json refuses.
func appendJSONFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// e-09 → e-9, as encoding/json does.
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as encoding/json does with HTML escaping on
// (json.Marshal's default): <, > and & become \u003c, \u003e, \u0026,
// U+2028/U+2029 are escaped, invalid UTF-8 becomes \ufffd.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// unmarshalTweet decodes a tweet's JSON into t exactly as json.Unmarshal
// into a zero Tweet would. A scanner handles the shape tweetflow writes
// (the known keys, each once, string values); anything else (unknown
// or differently cased keys, null, surrogate escapes, invalid UTF-8,
// malformed input) goes to json.Unmarshal, which also writes every error.
// FuzzUnmarshalTweet checks the two agree on every input.
func unmarshalTweet(data []byte, t *Tweet) error {
	var fast Tweet
	if scanTweet(data, &fast) {
		*t = fast
		return nil
	}
	*t = Tweet{}
	return json.Unmarshal(data, t)
}

type scanner struct {
	b []byte
	i int
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c, consuming it.
func (s *scanner) next(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// str reads a JSON string at the cursor; ok is false for anything the
// fast path leaves to encoding/json.
func (s *scanner) str() (string, bool) {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", false
	}
	s.i++
	start := s.i
	var buf []byte // nil until the first escape
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			var out string
			if buf == nil {
				out = string(s.b[start:s.i])
			} else {
				out = string(append(buf, s.b[start:s.i]...))
			}
			s.i++
			return out, true
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size == 1 {
				return "", false
			}
			s.i += size
		case c == '\\':
			buf = append(buf, s.b[start:s.i]...)
			if s.i+1 >= len(s.b) {
				return "", false
			}
			switch e := s.b[s.i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				if s.i+6 > len(s.b) {
					return "", false
				}
				r, err := strconv.ParseUint(string(s.b[s.i+2:s.i+6]), 16, 32)
				if err != nil || (r >= 0xD800 && r < 0xE000) {
					return "", false
				}
				buf = utf8.AppendRune(buf, rune(r))
				s.i += 4
			default:
				return "", false
			}
			s.i += 2
			start = s.i
		default:
			s.i++
		}
	}
	return "", false
}

func scanTweet(data []byte, t *Tweet) bool {
	s := scanner{b: data}
	return s.tweet(t) && s.end()
}

// end reports whether only white space is left.
func (s *scanner) end() bool {
	s.ws()
	return s.i == len(s.b)
}

// members reads a JSON object, calling member after each key and its ':'
// to read the value; ok is false for a bad shape or when member says so.
func (s *scanner) members(member func(key string) bool) bool {
	if !s.next('{') {
		return false
	}
	if s.next('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.next(':') || !member(key) {
			return false
		}
		if s.next(',') {
			continue
		}
		return s.next('}')
	}
}

// object reads a JSON object whose keys are in keys, each at most once,
// calling value for each; ok is false for any other key or a bad shape.
func (s *scanner) object(keys []string, value func(k int) bool) bool {
	var seen uint32
	return s.members(func(key string) bool {
		k := slices.Index(keys, key)
		if k < 0 || seen&(1<<k) != 0 || !value(k) {
			return false
		}
		seen |= 1 << k
		return true
	})
}

// tweetKeys are a tweet's members: first its string members in the order
// of tweet's strs, then its lists in the order of lists, then the rest.
var tweetKeys = []string{"id", "user", "text", "user_id", "lang", "retweet_of", "quote_of", "reply_to", "conversation_id",
	"hashtags", "urls", "mentions", "created_at", "fields"}

func (s *scanner) tweet(t *Tweet) bool {
	strs := [...]*string{&t.ID, &t.User, &t.Text, &t.UserID, &t.Lang, &t.RetweetOf, &t.QuoteOf, &t.ReplyTo, &t.ConversationID}
	lists := [...]*[]string{&t.Hashtags, &t.URLs, &t.Mentions}
	return s.object(tweetKeys, func(k int) (ok bool) {
		switch {
		case k < len(strs):
			*strs[k], ok = s.str()
		case k < len(strs)+len(lists):
			*lists[k-len(strs)], ok = s.strings()
		case tweetKeys[k] == "created_at":
			ok = s.time(&t.CreatedAt)
		default: // fields
			t.Fields, ok = scanMap(s, s.str)
		}
		return ok
	})
}

// strings reads a JSON array of strings; [] gives an empty, non-nil slice
// as encoding/json does. null and other shapes are left to encoding/json.
func (s *scanner) strings() ([]string, bool) {
	if !s.next('[') {
		return nil, false
	}
	out := []string{}
	if s.next(']') {
		return out, true
	}
	for {
		v, ok := s.str()
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if s.next(',') {
			continue
		}
		return out, s.next(']')
	}
}

// unmarshalMetadata is unmarshalTweet for Metadata (FuzzUnmarshalMetadata).
func unmarshalMetadata(data []byte, m *Metadata) error {
	var fast Metadata
	s := scanner{b: data}
	if s.metadata(&fast) && s.end() {
		*m = fast
		return nil
	}
	*m = Metadata{}
	return json.Unmarshal(data, m)
}

func (s *scanner) metadata(m *Metadata) bool {
	return s.object([]string{"tweet_id", "model", "model_version", "value", "label", "probabilities", "tweet"}, func(k int) (ok bool) {
		switch k {
		case 0:
			m.TweetID, ok = s.str()
		case 1:
			m.Model, ok = s.str()
		case 2:
			m.ModelVersion, ok = s.str()
		case 3:
			m.Value, ok = s.number()
		case 4:
			m.Label, ok = s.str()
		case 5:
			m.Probabilities, ok = scanMap(s, s.number)
		case 6:
			ok = s.tweet(&m.Tweet)
		}
		return ok
	})
}

// scanMap reads a JSON object whose member values value reads (the
// probabilities, a tweet's fields); {} gives an empty, non-nil map as
// encoding/json does.
func scanMap[V any](s *scanner, value func() (V, bool)) (map[string]V, bool) {
	m := map[string]V{}
	ok := s.members(func(k string) bool {
		v, ok := value()
		m[k] = v
		return ok
	})
	return m, ok
}

// number reads a JSON number (RFC 8259 grammar) as encoding/json does:
// strconv.ParseFloat of the literal; out-of-range literals are left to it.
func (s *scanner) number() (float64, bool) {
	s.ws()
	b, i := s.b, s.i
	start := i
	digits := func() bool {
		j := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i > j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		digits()
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if !digits() {
			return 0, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if !digits() {
			return 0, false
		}
	}
	f, err := strconv.ParseFloat(string(b[start:i]), 64)
	if err != nil {
		return 0, false
	}
	s.i = i
	return f, true
}

// time hands the quoted literal to time.Time's UnmarshalJSON, as
// encoding/json does; literals with escapes are left to encoding/json.
func (s *scanner) time(t *time.Time) bool {
	s.ws()
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	end := s.i + 1
	for end < len(s.b) && s.b[end] != '"' {
		if c := s.b[end]; c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			return false
		}
		end++
	}
	if end >= len(s.b) {
		return false
	}
	if err := t.UnmarshalJSON(s.b[s.i : end+1]); err != nil {
		return false
	}
	s.i = end + 1
	return true
}
