package twitter

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// fastDecoder decodes a twarc2 line into a page without reflection: it
// reads the members tweetflow carries and skips the rest, validating
// everything it skips. It decodes what unmarshal(line, &p) would, for the
// lines it fully understands, and reports false for anything else (a
// syntax error, a member of an unexpected type or null, an escaped member
// name, a duplicate member name, deep nesting, a string the library would
// decode with a replacement character), which the caller then hands to
// unmarshal: errors and corner cases keep the library's exact answer. The
// library decode cost about 3x the CPU of this one on twarc2 pages
// (BenchmarkPagesLibrary against BenchmarkPages), most of it walking the
// includes and metrics tweetflow never reads. FuzzFastDecoder and
// TestFastDecoderMutations check that whatever this accepts, the library
// accepts with an equal page, and that a reader reads every input as the
// library-only reader does.
//
// A fastDecoder is reused from line to line (its scratch buffers grow once).
type fastDecoder struct {
	b     []byte
	i     int
	depth int
	// names holds a hash of each member name of the objects being read,
	// innermost last: a name whose hash is already there is a duplicate
	// (or a collision: either way the library decides).
	names []uint64
	// open is skip's stack of containers (kept for its capacity).
	open []int
	// arena holds the strings decoded, back to back: one allocation a
	// chunk rather than one a string, and only the members read are
	// copied (a copy of the whole line cost more: most of it is skipped).
	// A Builder never changes bytes it has handed out, and a full chunk is
	// left to the strings cut from it.
	arena strings.Builder
	// unq is the scratch buffer for unescaping a string.
	unq []byte
	// Slabs: the elements of a line's arrays of each type, back to back;
	// each decoded slice is a cut of its slab. Reset at each line and
	// reused (an element is overwritten whole when appended), so their
	// arrays grow once, not line after line and list after list. Only
	// types whose arrays cannot nest have one (a referenced tweet, flat,
	// may hold referenced tweets: refs are plain slices).
	tweets   []tweet
	users    []user
	hashtags []hashtag
	mentions []mention
	urls     []urlEntity
	errs     []apiError
}

// slab reads the array at d.i into *dst, a cut of *buf, elem reading each
// element in place. An empty array is an empty, non-nil slice, as the
// library makes it.
func slab[T any](d *fastDecoder, buf *[]T, dst *[]T, elem func(*T) bool) bool {
	if *buf == nil {
		*buf = make([]T, 0, 16)
	}
	start := len(*buf)
	ok := d.array(func() bool {
		var zero T
		*buf = append(*buf, zero)
		return elem(&(*buf)[len(*buf)-1])
	})
	n := len(*buf)
	*dst = (*buf)[start:n:n]
	return ok
}

// maxFastDepth bounds the nesting the fast path follows; deeper lines go to
// the library (whose own bound is 10,000).
const maxFastDepth = 64

// decode decodes line, valid UTF-8 (the reader checks it first), into p (a
// zero page); false: use unmarshal instead.
func (d *fastDecoder) decode(line []byte, p *page) bool {
	d.b, d.i, d.depth, d.names = line, 0, 0, d.names[:0]
	d.tweets, d.users, d.hashtags, d.mentions, d.urls, d.errs = d.tweets[:0], d.users[:0], d.hashtags[:0], d.mentions[:0], d.urls[:0], d.errs[:0]
	ok := d.peek('{') && d.object(func(name []byte) bool {
		switch string(name) {
		case "data":
			return d.data(&p.Data)
		case "includes":
			return d.includes(p)
		case "errors":
			return slab(d, &d.errs, &p.Errors, d.apiError)
		}
		return d.tweetMember(&p.tweet, name)
	})
	d.ws()
	d.b = nil
	return ok && d.i == len(line)
}

// peek skips whitespace and reports whether the next byte is c.
func (d *fastDecoder) peek(c byte) bool {
	d.ws()
	return d.i < len(d.b) && d.b[d.i] == c
}

// ws skips whitespace; twarc2 writes none between tokens, so the common
// case is one comparison.
func (d *fastDecoder) ws() {
	if d.i < len(d.b) && d.b[d.i] <= ' ' {
		d.i = skipSpace(d.b, d.i)
	}
}

// object reads the object at d.i ('{'), calling member with each member's
// name (d.i at its value, which member must read).
func (d *fastDecoder) object(member func(name []byte) bool) bool {
	base := len(d.names)
	more, ok := d.enter('}')
	for more && ok {
		if !d.peek('"') {
			return false
		}
		h, j := memberName(d.b, d.i)
		if j < 0 || dupName(d.names[base:], h) {
			return false
		}
		name := d.b[d.i+1 : j-1]
		d.names = append(d.names, h)
		if d.i = j; !d.peek(':') {
			return false
		}
		d.i++
		if d.ws(); !member(name) {
			return false
		}
		more, ok = d.next('}')
	}
	d.names = d.names[:base]
	return ok
}

// array reads the array at d.i, calling elem for each element (d.i at it).
func (d *fastDecoder) array(elem func() bool) bool {
	if !d.peek('[') {
		return false
	}
	more, ok := d.enter(']')
	for more && ok {
		if d.ws(); !elem() {
			return false
		}
		more, ok = d.next(']')
	}
	return ok
}

// enter enters the object or array at d.i, which close ends: more is false
// for an empty one (read whole).
func (d *fastDecoder) enter(close byte) (more, ok bool) {
	if d.depth++; d.depth > maxFastDepth {
		return false, false
	}
	d.i++
	if d.peek(close) {
		d.i++
		d.depth--
		return false, true
	}
	return true, true
}

// next reads what follows a member or an element: a comma (more to come)
// or close (the end of the object or array); anything else is not ok.
func (d *fastDecoder) next(close byte) (more, ok bool) {
	d.ws()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return true, true
	case close:
		d.i++
		d.depth--
		return false, true
	}
	return false, false
}

// skip reads any one JSON value at d.i, validating it as the library does
// (structure, strings, numbers, literals, duplicate names, depth). It is
// one loop over the value's tokens with its own stack, not a call per
// value: most of a twarc2 line is skipped.
func (d *fastDecoder) skip() bool {
	j, open, ok := skipValue(d.b, d.i, d.open[:0], &d.names, maxFastDepth-d.depth)
	d.open = open
	if ok {
		d.i = j
	}
	return ok
}

// skipValue is skip's loop: it returns the index after the value at b[i],
// open for reuse and whether the value is valid; names is the stack of
// member-name hashes, depth the nesting allowed. open is the stack of
// containers being skipped, innermost last: for an object, where its names
// start in names; for an array, -1.
func skipValue(b []byte, i int, open []int, names *[]uint64, depth int) (int, []int, bool) {
value:
	if i >= len(b) {
		return i, open, false
	}
	switch b[i] {
	case '"':
		if i = skipString(b, i); i < 0 {
			return i, open, false
		}
	case '{', '[':
		if len(open) >= depth {
			return i, open, false
		}
		obj, top, end := b[i] == '{', -1, byte(']')
		if obj {
			top, end = len(*names), '}'
		}
		open = append(open, top)
		if i = skipSpace(b, i+1); i < len(b) && b[i] == end {
			open = open[:len(open)-1]
			i++
			break
		}
		if obj {
			goto name
		}
		goto value
	case 't':
		if i = literalAt(b, i, "true"); i < 0 {
			return i, open, false
		}
	case 'f':
		if i = literalAt(b, i, "false"); i < 0 {
			return i, open, false
		}
	case 'n':
		if i = literalAt(b, i, "null"); i < 0 {
			return i, open, false
		}
	default:
		if i = numberAt(b, i); i < 0 {
			return i, open, false
		}
	}
after: // a value ended at i
	if len(open) == 0 {
		return i, open, true
	}
	if i = skipSpace(b, i); i >= len(b) {
		return i, open, false
	}
	switch top := open[len(open)-1]; {
	case b[i] == ',':
		i = skipSpace(b, i+1)
		if top < 0 {
			goto value
		}
		goto name
	case b[i] == ']' && top < 0, b[i] == '}' && top >= 0:
		if top >= 0 {
			*names = (*names)[:top]
		}
		open = open[:len(open)-1]
		i++
		goto after
	}
	return i, open, false
name: // i is at an object member's name
	{
		if i >= len(b) || b[i] != '"' {
			return i, open, false
		}
		h, j := memberName(b, i)
		if j < 0 || dupName((*names)[open[len(open)-1]:], h) {
			return i, open, false
		}
		*names = append(*names, h)
		if i = skipSpace(b, j); i >= len(b) || b[i] != ':' {
			return i, open, false
		}
		i = skipSpace(b, i+1)
	}
	goto value
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// memberName reads the name at b[i] (its quote): a hash of it and the index
// after it; -1 for a name with escapes (left to the library, which
// compares names unescaped) or a bad string.
func memberName(b []byte, i int) (uint64, int) {
	j := toSpecial(b, i+1)
	if j >= len(b) || b[j] != '"' {
		return 0, -1
	}
	return nameHash(b, i+1, j), j + 1
}

// dupName reports whether h is among an object's names so far.
func dupName(names []uint64, h uint64) bool {
	for _, g := range names {
		if g == h {
			return true
		}
	}
	return false
}

func literalAt(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// numberAt returns the index after the JSON number (RFC 8259's grammar) at
// b[i], or -1; what follows it is checked by the caller (a delimiter).
func numberAt(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = digits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// special marks (high bit of its byte) the first byte of x, read little
// endian, that is '"', '\\' or a control character; bytes above the first
// one may be marked wrongly (borrows), the lowest mark is exact.
func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	s := x ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s | (x-ones*0x20)&^x) & highs
}

// str reads the string at d.i (its opening quote): the bounds of its
// content and whether it has escapes.
func (d *fastDecoder) str() (start, end int, esc, ok bool) {
	j := skipString(d.b, d.i)
	if j < 0 {
		return 0, 0, false, false
	}
	start, end = d.i+1, j-1
	d.i = j
	return start, end, bytes.IndexByte(d.b[start:end], '\\') >= 0, true
}

// toSpecial returns the index of the first '"', '\\' or control
// character at or after i (len(b) for none), eight bytes at a time: most of
// a twarc2 line is string content.
func toSpecial(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && b[i] >= 0x20 && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

// skipString returns the index after the JSON string at b[i] (its opening
// quote), or -1. Raw non-ASCII bytes pass (the line's UTF-8 was checked
// before), control characters and bad escapes do not.
func skipString(b []byte, i int) int {
	i++
	for {
		if i = toSpecial(b, i); i >= len(b) {
			return -1
		}
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			if i+1 >= len(b) {
				return -1
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !hex4(b[i+2:i+6]) {
					return -1
				}
				i += 6
			default:
				return -1
			}
		default: // a control character
			return -1
		}
	}
}

func hex4(h []byte) bool {
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// nameHash identifies the member name b[i:j] for the duplicate check:
// exact for names of up to 16 bytes, a hash beyond. Short names, most of
// them, are read with one load where the line has 8 bytes from i.
func nameHash(b []byte, i, j int) uint64 {
	n := j - i
	var lo, hi uint64
	switch {
	case n >= 8:
		lo = binary.LittleEndian.Uint64(b[i:])
		hi = binary.LittleEndian.Uint64(b[j-8:])
	case i+8 <= len(b):
		lo = binary.LittleEndian.Uint64(b[i:]) & (1<<(8*n) - 1)
	default:
		for k, c := range b[i:j] {
			lo |= uint64(c) << (8 * k)
		}
	}
	return (lo*0x9E3779B97F4A7C15 ^ bits.RotateLeft64(hi*0xC2B2AE3D27D4EB4F, 31)) + uint64(n)
}

// strValue reads a JSON string value; anything else (null included) is
// false.
func (d *fastDecoder) strValue() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start, end, esc, ok := d.str()
	switch {
	case !ok:
		return "", false
	case start == end:
		return "", true
	case !esc:
		return d.keep(d.b[start:end]), true
	}
	// The library's own unquoting: a string it would decode with a
	// replacement character (a lone surrogate escape) goes to it whole.
	var err error
	d.unq, err = jsontext.AppendUnquote(d.unq[:0], d.b[start-1:end+1])
	if err != nil {
		return "", false
	}
	return d.keep(d.unq), true
}

// arenaChunk is the size of an arena chunk: a few tweets' worth of the
// members read.
const arenaChunk = 32 << 10

// keep returns b as a string cut from the arena.
func (d *fastDecoder) keep(b []byte) string {
	if d.arena.Cap()-d.arena.Len() < len(b) {
		d.arena = strings.Builder{}
		d.arena.Grow(max(arenaChunk, len(b)))
	}
	start := d.arena.Len()
	d.arena.Write(b)
	return d.arena.String()[start:]
}

// setString reads a string member into *dst.
func (d *fastDecoder) setString(dst *string) bool {
	s, ok := d.strValue()
	*dst = s
	return ok
}

// tweetMember reads member name of a tweet (or skips an unknown one).
func (d *fastDecoder) tweetMember(t *tweet, name []byte) bool {
	if dst := pick(name, []strField{{"id", &t.ID}, {"text", &t.Text}, {"author_id", &t.AuthorID},
		{"created_at", &t.CreatedAt}, {"lang", &t.Lang}, {"conversation_id", &t.ConversationID}}); dst != nil {
		return d.setString(dst)
	}
	switch string(name) {
	case "referenced_tweets":
		t.ReferencedTweets = []ref{}
		return d.array(func() bool {
			t.ReferencedTweets = append(t.ReferencedTweets, ref{})
			return d.ref(&t.ReferencedTweets[len(t.ReferencedTweets)-1])
		})
	case "entities":
		return d.peek('{') && d.entities(&t.Entities)
	case "author":
		t.Author = new(user)
		return d.user(t.Author)
	case "note_tweet":
		t.NoteTweet = new(noteTweet)
		return d.peek('{') && d.object(func(name []byte) bool {
			switch string(name) {
			case "text":
				return d.setString(&t.NoteTweet.Text)
			case "entities":
				return d.peek('{') && d.entities(&t.NoteTweet.Entities)
			}
			return d.skip()
		})
	}
	return d.skip()
}

func (d *fastDecoder) tweet(t *tweet) bool {
	return d.peek('{') && d.object(func(name []byte) bool { return d.tweetMember(t, name) })
}

func (d *fastDecoder) ref(rf *ref) bool {
	return d.peek('{') && d.object(func(name []byte) bool {
		if string(name) == "type" {
			return d.setString(&rf.Type)
		}
		return d.tweetMember(&rf.tweet, name)
	})
}

func (d *fastDecoder) user(u *user) bool {
	return d.stringsObject(strField{"id", &u.ID}, strField{"username", &u.Username})
}

// strField is a string member kept: its name and where it goes.
type strField struct {
	name string
	dst  *string
}

// pick is where member name goes among fields; nil for none of them.
func pick(name []byte, fields []strField) *string {
	for _, f := range fields {
		if string(name) == f.name {
			return f.dst
		}
	}
	return nil
}

// stringsObject reads an object of which only fields, string members, are
// kept.
func (d *fastDecoder) stringsObject(fields ...strField) bool {
	return d.peek('{') && d.object(func(name []byte) bool {
		if dst := pick(name, fields); dst != nil {
			return d.setString(dst)
		}
		return d.skip()
	})
}

func (d *fastDecoder) entities(e *entities) bool {
	return d.object(func(name []byte) bool {
		switch string(name) {
		case "hashtags":
			return slab(d, &d.hashtags, &e.Hashtags, func(h *hashtag) bool {
				return d.stringsObject(strField{"tag", &h.Tag}, strField{"text", &h.Text})
			})
		case "mentions":
			return slab(d, &d.mentions, &e.Mentions, d.mention)
		case "user_mentions":
			return slab(d, &d.mentions, &e.UserMentions, d.mention)
		case "urls":
			return slab(d, &d.urls, &e.URLs, func(u *urlEntity) bool {
				return d.stringsObject(strField{"url", &u.URL}, strField{"expanded_url", &u.ExpandedURL})
			})
		}
		return d.skip()
	})
}

func (d *fastDecoder) mention(m *mention) bool {
	return d.stringsObject(strField{"username", &m.Username}, strField{"screen_name", &m.ScreenName})
}

func (d *fastDecoder) apiError(e *apiError) bool {
	return d.stringsObject(strField{"resource_type", &e.ResourceType}, strField{"resource_id", &e.ResourceID},
		strField{"title", &e.Title}, strField{"detail", &e.Detail})
}

func (d *fastDecoder) includes(p *page) bool {
	return d.peek('{') && d.object(func(name []byte) bool {
		switch string(name) {
		case "users":
			return slab(d, &d.users, &p.Includes.Users, d.user)
		case "tweets":
			return slab(d, &d.tweets, &p.Includes.Tweets, d.tweet)
		}
		return d.skip()
	})
}

// data reads a page's "data" as data.UnmarshalJSONFrom does, for an array
// of tweets or one tweet.
func (d *fastDecoder) data(dt *data) bool {
	if d.i >= len(d.b) {
		return false
	}
	switch d.b[d.i] {
	case '[':
		dt.kind = '['
		return slab(d, &d.tweets, &dt.tweets, d.tweet)
	case '{':
		dt.kind = '{'
		dt.tweets = make([]tweet, 1)
		return d.tweet(&dt.tweets[0])
	}
	return false
}
