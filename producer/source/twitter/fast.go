package twitter

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// fastDecoder decodes a twarc2 line into a page without reflection: it
// reads the members tweetflow carries and skips the rest, validating
// everything it skips. It decodes what unmarshal(line, &p) would, for the
// lines it fully understands, and reports false for anything else (a
// syntax error, a member of an unexpected type or null, an escaped member
// name, a duplicate member name, deep nesting, a string the library would
// decode with a replacement character), which the caller then hands to
// unmarshal: errors and corner cases keep the library's exact answer. The
// library decode cost 2-3x the CPU of this one on twarc2 pages
// (BenchmarkPagesLibrary against BenchmarkPages), most of it walking the
// includes and metrics tweetflow never reads. FuzzFastDecoder and
// TestFastDecoderMutations check that whatever this accepts, the library
// accepts with an equal page, and that a reader reads every input as the
// library-only reader does.
//
// The objects it reads are walked member by member (enter, then member
// until false), each member dispatched on its name's key; whatever is not
// read goes through skip, one loop over the tokens of a value.
//
// A fastDecoder is reused from line to line (its scratch buffers grow once).
type fastDecoder struct {
	b []byte
	i int
	// fail is set when member or element stops at something the fast path
	// leaves to the library (rather than at the end of the object or
	// array).
	fail bool
	// first: the object or array just entered has had no member or
	// element yet (so no comma comes before the next one).
	first bool
	// frames are the objects and arrays open, innermost last, skip's
	// included (its capacity is maxFastDepth: pushing never allocates).
	frames []frame
	// names[:nn] holds the key of each member name of the open objects,
	// innermost last, for the duplicate check; names is used up to its
	// length and grown by growNames.
	names []uint64
	nn    int
	// sk holds skip's loop state across a call (see skip).
	sk skipState
	// The member name just read by member: its key, and where its bytes
	// are in the line (b[nameAt:nameEnd]; ints, not a slice, so that
	// setting them is no pointer write).
	key             uint64
	nameAt, nameEnd int
	// bs is the index of the line's first backslash at or after the
	// string being scanned, or before it when stale (see str).
	bs int
	// arena holds the strings decoded from escapes, back to back: one
	// allocation a chunk rather than one a string. A Builder never changes
	// bytes it has handed out, and a full chunk is left to the strings cut
	// from it. A string without escapes (nearly all) is not copied at all:
	// it is the line's own bytes (see decode).
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

// frame is an open object or array.
type frame struct {
	// names is where an object's names start in fastDecoder.names; -1 for
	// an array.
	names int
	// seen is a one-word Bloom filter of the object's name keys: a name
	// whose bit is clear is no duplicate, so the names are compared only
	// on a hit (one in about 64/members).
	seen uint64
}

// maxFastDepth bounds the nesting the fast path follows; deeper lines go to
// the library (whose own bound is 10,000).
const maxFastDepth = 64

// decode decodes line, valid UTF-8 (the reader checks it first), into p (a
// zero page); false: use unmarshal instead.
//
// The strings of p without escapes share line's memory (unsafe.String):
// they are valid while line is unchanged. The Reader converts a page and
// copies each tweet it emits into an allocation of its own (detach) before
// it reads the next line into the same buffer; copying every string read
// into an arena first cost 4% of the decode, and most of them (users and
// included tweets nobody references) are dropped with the page.
func (d *fastDecoder) decode(line []byte, p *page) bool {
	return controlFree(line) && d.decodeControlFree(line, p)
}

// decodeControlFree is decode for a line known to have no byte below 0x20
// (see controlFree).
func (d *fastDecoder) decodeControlFree(line []byte, p *page) bool {
	d.reset(line)
	d.tweets, d.users, d.hashtags, d.mentions, d.urls, d.errs = d.tweets[:0], d.users[:0], d.hashtags[:0], d.mentions[:0], d.urls[:0], d.errs[:0]
	d.ws()
	ok := d.page(p)
	d.ws()
	d.b = nil
	return ok && d.i == len(line)
}

// reset starts reading line.
func (d *fastDecoder) reset(line []byte) {
	d.b, d.i, d.fail, d.bs, d.nn = line, 0, false, -1, 0
	if d.frames == nil {
		d.frames, d.names = make([]frame, 0, maxFastDepth), make([]uint64, 256)
	}
	d.frames = d.frames[:0]
}

// growNames doubles names.
func (d *fastDecoder) growNames() {
	n := make([]uint64, 2*len(d.names))
	copy(n, d.names)
	d.names = n
}

// ws skips whitespace (twarc2 writes one space after a comma or colon,
// Python's json.dumps default).
func (d *fastDecoder) ws() {
	if d.i < len(d.b) && d.b[d.i] <= ' ' {
		d.i = skipSpace(d.b, d.i)
	}
}

// enter enters the object or array at d.i, which must open with c.
func (d *fastDecoder) enter(c byte) bool {
	if d.i >= len(d.b) || d.b[d.i] != c || len(d.frames) >= maxFastDepth {
		return false
	}
	f := frame{names: -1}
	if c == '{' {
		f.names = d.nn
	}
	d.frames = append(d.frames, f)
	d.i++
	d.first = true
	return true
}

// leave closes the innermost object or array (d.i at its end).
func (d *fastDecoder) leave() {
	if f := d.frames[len(d.frames)-1]; f.names >= 0 {
		d.nn = f.names
	}
	d.frames = d.frames[:len(d.frames)-1]
	d.i++
}

// member reads the next member's name of the object entered, leaving d.i
// at its value (which the caller must read) and its name in d.key,
// d.nameAt and d.nameEnd. It returns false at the object's end, which it
// reads, or (with d.fail set) at anything that is not a member or the end.
// The comma and the duplicate check are inline: this runs for every member
// of the objects read.
func (d *fastDecoder) member() bool {
	b, i := d.b, d.i
	first := d.first
	d.first = false
	var key uint64
	var j int
	if i < len(b) && b[i] <= ' ' {
		i = skipSpace(b, i)
	}
	if i >= len(b) {
		goto fail
	}
	if b[i] == '}' {
		d.i = i
		d.leave()
		return false
	}
	if !first {
		if b[i] != ',' {
			goto fail
		}
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
	}
	if key, j = nameKey(b, i); j < 0 {
		goto fail
	}
	if f := &d.frames[len(d.frames)-1]; f.seen&(1<<(key*0x9E3779B97F4A7C15>>58)) == 0 {
		f.seen |= 1 << (key * 0x9E3779B97F4A7C15 >> 58)
	} else {
		for _, k := range d.names[f.names:d.nn] {
			if k == key {
				goto fail
			}
		}
	}
	if d.nn == len(d.names) {
		d.growNames()
	}
	d.names[d.nn] = key
	d.nn++
	d.key, d.nameAt, d.nameEnd = key, i+1, j-1
	if j+1 < len(b) && b[j] == ':' {
		if j++; b[j] == ' ' {
			j++
		}
	} else if j = skipSpace(b, j); j < len(b) && b[j] == ':' {
		j++
	} else {
		goto fail
	}
	if j < len(b) && b[j] <= ' ' {
		j = skipSpace(b, j)
	}
	d.i = j
	return true
fail:
	d.fail = true
	return false
}

// name is the member name just read by member.
func (d *fastDecoder) name() []byte { return d.b[d.nameAt:d.nameEnd] }

// element moves to the next element of the array entered (d.i at it; the
// caller must read it). It returns false at the array's end, which it
// reads, or (with d.fail set) at anything that is not an element or the
// end.
func (d *fastDecoder) element() bool {
	i := d.next(']')
	if i < 0 {
		return false
	}
	if i < len(d.b) && d.b[i] <= ' ' {
		i = skipSpace(d.b, i)
	}
	d.i = i
	return true
}

// next reads up to the next member or element of the innermost object or
// array, which close ends: past its comma, the index of the member or
// element; -1 at the end (read) or, with d.fail set, at anything else.
func (d *fastDecoder) next(close byte) int {
	b, i := d.b, d.i
	first := d.first
	d.first = false
	if i < len(b) && b[i] <= ' ' {
		i = skipSpace(b, i)
	}
	switch {
	case i >= len(b):
	case b[i] == close:
		d.i = i
		d.leave()
		return -1
	case first:
		return i
	case b[i] == ',':
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
		return i
	}
	d.fail = true
	return -1
}

// skipState is skip's loop state: the containers it has open, and of the
// innermost one where its names start in names (-1 for an array) and its
// Bloom word; with the length of names.
type skipState struct {
	open, top, nn, j int
	seen, key        uint64
}

// skip reads any one JSON value at d.i, validating it as the library does
// (structure, strings, numbers, literals, duplicate names, depth). It is
// one loop over the value's tokens, not a call per value: most of a twarc2
// line is skipped. The innermost container it has open is kept in locals,
// the enclosing ones on d.frames. The common tokens (names of up to 16
// bytes, strings of up to 32, whole numbers, the one space twarc2 writes
// after a comma or colon) are read without a call: Go keeps no value in
// a register across a call
// compiler store every local at every token. The rare calls (longer
// strings and names, other numbers, escapes, growing names) store the
// state in d.sk and reload it after, so that no local lives across them.
func (d *fastDecoder) skip() bool { return d.tokens(false) }

// skipRest skips the rest of the object entered, from the end of a
// member's value (d.i), as skip would, and leaves the object: for an
// object whose members to read have all been read (a user's id and
// username come first of its dozen members), one loop instead of a
// member and a skip call a member.
func (d *fastDecoder) skipRest() bool { return d.tokens(true) }

// tokens is skip, or skipRest if rest.
func (d *fastDecoder) tokens(rest bool) bool {
	b, i, nn := d.b, d.i, d.nn
	open, top, seen := 0, -1, uint64(0)
	var key uint64
	var j int
	if rest {
		// The object entered becomes the loop's innermost container (its
		// names so far stay in names[top:nn] for the duplicate check); it
		// is closed when the loop reaches its end.
		f := d.frames[len(d.frames)-1]
		d.frames = d.frames[:len(d.frames)-1]
		open, top, seen = 1, f.names, f.seen
		d.nn = f.names
		goto after
	}
value: // i is at a value (or whitespace before it)
	if i >= len(b) {
		goto fail
	}
	if b[i] <= ' ' {
		if i = skipSpace(b, i); i >= len(b) {
			goto fail
		}
	}
	switch b[i] {
	case '"':
		j = i + 1
		if j+32 <= len(b) {
			// A fixed-length window: no bounds check a word.
			p := b[j : j+32 : j+32]
			for k := 0; k < 32; k += 8 {
				if m := special(binary.LittleEndian.Uint64(p[k : k+8 : k+8])); m != 0 {
					if j += k + bits.TrailingZeros64(m)>>3; b[j] == '"' {
						i = j + 1
						goto after
					}
					goto long
				}
			}
			j += 32
		}
	long:
		d.sk = skipState{open: open, top: top, nn: nn, seen: seen}
		i, _ = d.longStr(j)
		b, open, top, nn, seen = d.b, d.sk.open, d.sk.top, d.sk.nn, d.sk.seen
		if i < 0 {
			goto fail
		}
	case '{', '[':
		if len(d.frames)+open >= maxFastDepth {
			goto fail
		}
		if open > 0 {
			n := len(d.frames)
			d.frames = d.frames[:n+1]
			d.frames[n] = frame{names: top, seen: seen}
		}
		open++
		top, seen = -1, 0
		if b[i] == '{' {
			top = nn
		}
		if i++; i < len(b) && b[i] <= ' ' {
			i = skipSpace(b, i)
		}
		if i < len(b) && (b[i] == '}' && top >= 0 || b[i] == ']' && top < 0) {
			goto close
		}
		if top >= 0 {
			goto name
		}
		goto value
	case 't':
		if len(b)-i < 4 || binary.LittleEndian.Uint32(b[i:]) != 't'|'r'<<8|'u'<<16|'e'<<24 {
			goto fail
		}
		i += 4
	case 'f':
		if len(b)-i < 5 || binary.LittleEndian.Uint32(b[i+1:]) != 'a'|'l'<<8|'s'<<16|'e'<<24 {
			goto fail
		}
		i += 5
	case 'n':
		if len(b)-i < 4 || binary.LittleEndian.Uint32(b[i:]) != 'n'|'u'<<8|'l'<<16|'l'<<24 {
			goto fail
		}
		i += 4
	default:
		// A whole number, most of them, inline; the others by numberAt.
		j = i + 1
		if b[i]-'1' <= 8 {
			for j < len(b) && b[j]-'0' <= 9 {
				j++
			}
		}
		if b[i]-'1' > 8 || j < len(b) && (b[j] == '.' || b[j] == 'e' || b[j] == 'E') {
			d.sk = skipState{open: open, top: top, nn: nn, seen: seen}
			j = numberAt(d.b, i)
			b, open, top, nn, seen = d.b, d.sk.open, d.sk.top, d.sk.nn, d.sk.seen
		}
		if i = j; i < 0 {
			goto fail
		}
	}
after: // a value ended at i
	if open == 0 {
		d.i = i
		return true
	}
	if i < len(b) && b[i] <= ' ' {
		i = skipSpace(b, i)
	}
	if i >= len(b) {
		goto fail
	}
	switch b[i] {
	case ',':
		if i++; i < len(b) && b[i] == ' ' {
			i++
		}
		if top < 0 {
			goto value
		}
		goto name
	case '}':
		if top >= 0 {
			goto close
		}
	case ']':
		if top < 0 {
			goto close
		}
	}
	goto fail
close: // b[i] ends the innermost container
	if top >= 0 {
		nn = top
	}
	i++
	if open--; open > 0 {
		f := d.frames[len(d.frames)-1]
		top, seen = f.names, f.seen
		d.frames = d.frames[:len(d.frames)-1]
	}
	goto after
name: // i is at an object member's name (or whitespace before it)
	if i < len(b) && b[i] <= ' ' {
		i = skipSpace(b, i)
	}
	// nameKey's one or two loads, inline.
	if i >= 0 && i+17 <= len(b) && b[i] == '"' {
		x := word(b, i+1)
		if m := special(x); m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			if b[i+1+n] != '"' {
				goto fail
			}
			key, j = x&(1<<(8*n)-1), i+2+n
			goto named
		}
		y := word(b, i+9)
		if m := special(y); m != 0 {
			n := bits.TrailingZeros64(m) >> 3
			if b[i+9+n] != '"' {
				goto fail
			}
			key, j = x, i+10
			if n > 0 {
				key, j = nameHash(x, y&(1<<(8*n)-1), 8+n), i+10+n
			}
			goto named
		}
	}
	d.sk = skipState{open: open, top: top, nn: nn, seen: seen}
	key, j = nameKey(d.b, i)
	b, open, top, nn, seen = d.b, d.sk.open, d.sk.top, d.sk.nn, d.sk.seen
	if j < 0 {
		goto fail
	}
named:
	if bit := uint64(1) << (key * 0x9E3779B97F4A7C15 >> 58); seen&bit == 0 {
		seen |= bit
	} else {
		for _, k := range d.names[top:nn] {
			if k == key {
				goto fail
			}
		}
	}
	if nn == len(d.names) {
		d.sk = skipState{open: open, top: top, nn: nn, seen: seen, key: key, j: j}
		d.growNames()
		b, open, top, nn, seen, key, j = d.b, d.sk.open, d.sk.top, d.sk.nn, d.sk.seen, d.sk.key, d.sk.j
	}
	d.names[nn] = key
	nn++
	if j+1 < len(b) && b[j] == ':' {
		if i = j + 1; b[i] == ' ' {
			i++
		}
		goto value
	}
	if j = skipSpace(b, j); j < len(b) && b[j] == ':' {
		i = j + 1
		goto value
	}
fail:
	return false
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	if i < len(b) && b[i] == ' ' {
		i++
	}
	for i < len(b) && b[i] <= ' ' && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// nameKey reads the member name at b[i] (its quote): its key and the index
// after it; -1 for a name with escapes (left to the library, which
// compares names unescaped) or a bad string. A name of up to 8 bytes is
// its own key: its bytes read little endian (a name has no NUL byte, so
// zero bytes pad it unambiguously). A longer name's key is a hash of its
// length and bytes (the first and last 8 of a name longer than 16) whose
// low byte is 1, which no short name's key has (its first byte is 0x20 or
// more, or it is the empty name's 0): keys of long names are only compared
// for duplicates, where a collision sends the line to the library. Names
// of up to 16 bytes, nearly all of them, take one or two loads.
func nameKey(b []byte, i int) (uint64, int) {
	// Written for the compiler's bounds-check elimination: p has the 17
	// bytes read, and n is below 8.
	if i < 0 || i+17 > len(b) {
		return longNameKey(b, i)
	}
	p := b[i:]
	if len(p) < 17 || p[0] != '"' {
		return longNameKey(b, i)
	}
	x := binary.LittleEndian.Uint64(p[1:9])
	if m := special(x); m != 0 {
		n := uint(bits.TrailingZeros64(m)>>3) & 7
		if p[1+n] != '"' {
			return 0, -1
		}
		return x & (1<<(8*n) - 1), i + 2 + int(n)
	}
	y := binary.LittleEndian.Uint64(p[9:17])
	m := special(y)
	if m == 0 {
		return longNameKey(b, i)
	}
	n := uint(bits.TrailingZeros64(m)>>3) & 7
	if p[9+n] != '"' {
		return 0, -1
	}
	if n == 0 {
		return x, i + 10
	}
	return nameHash(x, y&(1<<(8*n)-1), 8+int(n)), i + 10 + int(n)
}

// nameHash is the key of a name longer than 8 bytes: lo and hi are its
// first and last 8 bytes, or for n < 16 the rest after the first 8
// (zero-padded).
func nameHash(lo, hi uint64, n int) uint64 {
	h := (lo*0x9E3779B97F4A7C15 ^ bits.RotateLeft64(hi*0xC2B2AE3D27D4EB4F, 31)) + uint64(n)
	return h<<8 | 1
}

// longNameKey is nameKey for a name of more than 16 bytes, or near the end
// of the line.
func longNameKey(b []byte, i int) (uint64, int) {
	if i < 0 || i >= len(b) || b[i] != '"' {
		return 0, -1
	}
	s := i + 1
	j := toSpecial(b, s)
	if j >= len(b) || b[j] != '"' {
		return 0, -1
	}
	var lo, hi uint64
	switch n := j - s; {
	case n <= 8:
		for k := j - 1; k >= s; k-- {
			lo = lo<<8 | uint64(b[k])
		}
		return lo, j + 1
	case n < 16:
		lo = binary.LittleEndian.Uint64(b[s:])
		for k := j - 1; k >= s+8; k-- {
			hi = hi<<8 | uint64(b[k])
		}
	default:
		lo = binary.LittleEndian.Uint64(b[s:])
		hi = binary.LittleEndian.Uint64(b[j-8:])
	}
	return nameHash(lo, hi, j-s), j + 1
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

// printableASCII reports whether every byte of line is printable ASCII
// (0x20 to 0x7f): such a line is valid UTF-8 and controlFree, which this
// one pass shows at about half the instructions of utf8.Valid's and
// controlFree's two.
// twarc2 writes Python's json.dumps default, which escapes every
// non-ASCII character: the real fixtures are all such lines.
func printableASCII(line []byte) bool {
	// A byte b is printable ASCII when b has its high bit clear and b+0x60
	// has it set: b+0x60 is 0x80-0xdf for b 0x20-0x7f and below 0x80 for a
	// control byte. Added a word at a time, a byte of 0xa0 or more
	// carries into the byte above, which can then pass wrongly, but that
	// byte has its own high bit set: so the line passes exactly when the
	// AND of the words plus 0x60 a byte has every high bit set and the OR
	// of the words none. Four instructions a word, 64 bytes a round;
	// re-slicing rather than indexing lets the compiler drop the bounds
	// checks.
	and, or := uint64(highs), uint64(0)
	p := line
	for len(p) >= 64 {
		w0 := binary.LittleEndian.Uint64(p)
		w1 := binary.LittleEndian.Uint64(p[8:])
		w2 := binary.LittleEndian.Uint64(p[16:])
		w3 := binary.LittleEndian.Uint64(p[24:])
		w4 := binary.LittleEndian.Uint64(p[32:])
		w5 := binary.LittleEndian.Uint64(p[40:])
		w6 := binary.LittleEndian.Uint64(p[48:])
		w7 := binary.LittleEndian.Uint64(p[56:])
		and &= (w0 + ones*0x60) & (w1 + ones*0x60) & (w2 + ones*0x60) & (w3 + ones*0x60) &
			(w4 + ones*0x60) & (w5 + ones*0x60) & (w6 + ones*0x60) & (w7 + ones*0x60)
		or |= w0 | w1 | w2 | w3 | w4 | w5 | w6 | w7
		if and&highs != highs || or&highs != 0 {
			return false
		}
		p = p[64:]
	}
	for len(p) >= 8 {
		w := binary.LittleEndian.Uint64(p)
		and &= w + ones*0x60
		or |= w
		p = p[8:]
	}
	for _, c := range p {
		if c < 0x20 || c >= 0x80 {
			return false
		}
	}
	return and&highs == highs && or&highs == 0
}

// controlFree reports whether line has no byte below 0x20. The fast path
// takes only such lines (twarc2 writes spaces, not tabs or newlines,
// between tokens and escapes control characters in strings; a line with a
// tab between tokens goes to the library), so that a string is scanned for its quote and
// backslashes only: a control character cannot be in it.
func controlFree(line []byte) bool {
	// A word at a time: only lines that are not printableASCII come here.
	var acc uint64
	p := line
	for len(p) >= 8 {
		w := binary.LittleEndian.Uint64(p)
		acc |= (w - ones*0x20) &^ w
		p = p[8:]
	}
	if acc&highs != 0 {
		return false
	}
	for _, c := range p {
		if c < 0x20 {
			return false
		}
	}
	return true
}

// word is the 8 bytes of b at i, read little endian (the caller knows
// they are there). The full slice expression spares the pointer
// arithmetic of b[i:], which must allow for an empty result.
func word(b []byte, i int) uint64 { return binary.LittleEndian.Uint64(b[i : i+8 : i+8]) }

// special marks (high bit of its byte) the first byte of x, read little
// endian, that is '"' or '\\'; bytes above the first one may be marked
// wrongly (borrows), the lowest mark is exact.
func special(x uint64) uint64 {
	q := x ^ (ones * '"')
	s := x ^ (ones * '\\')
	return ((q-ones)&^q | (s-ones)&^s) & highs
}

// toSpecial returns the index of the first '"' or '\\' at or after i
// (len(b) for none), eight bytes at a time.
func toSpecial(b []byte, i int) int {
	for i+8 <= len(b) {
		if m := special(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
		i += 8
	}
	for i < len(b) && b[i] != '"' && b[i] != '\\' {
		i++
	}
	return i
}

// str returns the index after the JSON string at d.b[i] (its opening
// quote), or -1, and whether the string has escapes. Raw non-ASCII bytes
// pass (the line's UTF-8 was checked before), and there are no control
// characters (controlFree). Most strings end within their first 8 bytes
// (one load); longStr reads the others.
func (d *fastDecoder) str(i int) (int, bool) {
	b := d.b
	if i+9 > len(b) {
		return escapes(b, i+1)
	}
	if m := special(binary.LittleEndian.Uint64(b[i+1:])); m != 0 {
		if j := i + 1 + bits.TrailingZeros64(m)>>3; b[j] == '"' {
			return j + 1, false
		}
		return escapes(b, i+1)
	}
	return d.longStr(i + 9)
}

// longStr reads the rest of a string from b[i], in its content, where the
// 8 bytes before have no quote or backslash. Its quote is found by
// bytes.IndexByte (vector instructions), and whether a backslash comes
// before it by d.bs, the next backslash of the line: it only moves
// forward, so the line's backslashes are searched for once each.
func (d *fastDecoder) longStr(i int) (int, bool) {
	b := d.b
	q := bytes.IndexByte(b[i:], '"')
	if q < 0 {
		return -1, false
	}
	q += i
	if d.bs < i {
		if d.bs = bytes.IndexByte(b[i:], '\\'); d.bs < 0 {
			d.bs = len(b)
		} else {
			d.bs += i
		}
	}
	if d.bs < q {
		return escapes(b, i)
	}
	return q + 1, false
}

// escapes scans the rest of a string from b[i], in its content, checking
// its escapes: the index after it (-1 for a bad string) and whether it had
// any. The quote that may end it and the backslashes before that quote
// are found by bytes.IndexByte; the quote is searched for again only when
// an escape took it (\\").
func escapes(b []byte, i int) (int, bool) {
	esc := false
	q := -1
	for {
		if q < i {
			if q = bytes.IndexByte(b[i:], '"'); q < 0 {
				return -1, false
			}
			q += i
		}
		// An escape often follows another (a run of \u escapes for an
		// emoji or accents): that one is found without a search.
		if i >= q || b[i] != '\\' {
			k := bytes.IndexByte(b[i:q], '\\')
			if k < 0 {
				return q + 1, esc
			}
			i += k
		}
		esc = true
		if i+1 >= len(b) {
			return -1, false
		}
		switch b[i+1] {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			i += 2
		case 'u':
			if i+6 > len(b) || !hex4(b[i+2:i+6]) {
				return -1, false
			}
			i += 6
		default:
			return -1, false
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

// setString reads a JSON string value into *dst; anything else (null
// included) is false.
func (d *fastDecoder) setString(dst *string) bool {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return false
	}
	start := d.i
	end, esc := d.str(start)
	switch {
	case end < 0:
		return false
	case !esc:
		d.i = end
		if end-start > 2 {
			*dst = unsafe.String(&d.b[start+1], end-start-2)
		}
		return true
	}
	var ok bool
	if d.unq, ok = unescape(d.unq[:0], d.b[start+1:end-1]); !ok {
		return false
	}
	d.i = end
	*dst = d.keep(d.unq)
	return true
}

// unescape appends the string content s (its escapes checked by the
// scan) to dst, unescaped, as the library decodes it; false for a lone
// surrogate escape, which the library decodes to U+FFFD and the fast path
// leaves to it. It copies the runs between escapes whole (texts carry a
// few \\u escapes for accents and emoji, and \\n).
func unescape(dst, s []byte) ([]byte, bool) {
	for {
		k := 0 // an escape right after another is found without a search
		if len(s) == 0 || s[0] != '\\' {
			if k = bytes.IndexByte(s, '\\'); k < 0 {
				return append(dst, s...), true
			}
			dst = append(dst, s[:k]...)
		}
		if k+1 >= len(s) {
			return dst, false
		}
		switch c := s[k+1]; c {
		case 'u':
			r, n := hexRune(s[k+2:])
			switch {
			case n < 0:
				return dst, false
			case 0xd800 <= r && r < 0xdc00: // a high surrogate: its low one must follow
				if len(s) < k+12 || s[k+6] != '\\' || s[k+7] != 'u' {
					return dst, false
				}
				lo, m := hexRune(s[k+8:])
				if m < 0 || lo < 0xdc00 || lo >= 0xe000 {
					return dst, false
				}
				dst = utf8.AppendRune(dst, 0x10000+(r-0xd800)<<10+(lo-0xdc00))
				s = s[k+12:]
				continue
			case 0xdc00 <= r && r < 0xe000:
				return dst, false
			}
			dst = utf8.AppendRune(dst, r)
			s = s[k+6:]
			continue
		default:
			// The one-letter escapes, by their letter.
			e := strings.IndexByte(`"\/bfnrt`, c)
			if e < 0 {
				return dst, false
			}
			dst = append(dst, "\"\\/\b\f\n\r\t"[e])
		}
		s = s[k+2:]
	}
}

// hexRune is the value of the 4 hex digits at the start of h, and 4; -1
// if they are not there.
func hexRune(h []byte) (rune, int) {
	if len(h) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range h[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, -1
		}
		r = r<<4 | rune(c)
	}
	return r, 4
}

// arenaChunk is the size of an arena chunk: the escaped strings of a few
// tweets.
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

// The keys (see nameKey) of the member names of up to 8 bytes that are
// read; longer ones are matched by their bytes. TestNameKeys checks them.
const (
	kID       = 'i' | 'd'<<8
	kText     = 't' | 'e'<<8 | 'x'<<16 | 't'<<24
	kLang     = 'l' | 'a'<<8 | 'n'<<16 | 'g'<<24
	kType     = 't' | 'y'<<8 | 'p'<<16 | 'e'<<24
	kTag      = 't' | 'a'<<8 | 'g'<<16
	kURL      = 'u' | 'r'<<8 | 'l'<<16
	kURLs     = 'u' | 'r'<<8 | 'l'<<16 | 's'<<24
	kData     = 'd' | 'a'<<8 | 't'<<16 | 'a'<<24
	kUsers    = 'u' | 's'<<8 | 'e'<<16 | 'r'<<24 | 's'<<32
	kTitle    = 't' | 'i'<<8 | 't'<<16 | 'l'<<24 | 'e'<<32
	kTweets   = 't' | 'w'<<8 | 'e'<<16 | 'e'<<24 | 't'<<32 | 's'<<40
	kAuthor   = 'a' | 'u'<<8 | 't'<<16 | 'h'<<24 | 'o'<<32 | 'r'<<40
	kErrors   = 'e' | 'r'<<8 | 'r'<<16 | 'o'<<24 | 'r'<<32 | 's'<<40
	kDetail   = 'd' | 'e'<<8 | 't'<<16 | 'a'<<24 | 'i'<<32 | 'l'<<40
	kEntities = 'e' | 'n'<<8 | 't'<<16 | 'i'<<24 | 't'<<32 | 'i'<<40 | 'e'<<48 | 's'<<56
	kIncludes = 'i' | 'n'<<8 | 'c'<<16 | 'l'<<24 | 'u'<<32 | 'd'<<40 | 'e'<<48 | 's'<<56
	kHashtags = 'h' | 'a'<<8 | 's'<<16 | 'h'<<24 | 't'<<32 | 'a'<<40 | 'g'<<48 | 's'<<56
	kMentions = 'm' | 'e'<<8 | 'n'<<16 | 't'<<24 | 'i'<<32 | 'o'<<40 | 'n'<<48 | 's'<<56
	kUsername = 'u' | 's'<<8 | 'e'<<16 | 'r'<<24 | 'n'<<32 | 'a'<<40 | 'm'<<48 | 'e'<<56
)

// object reads the object at d.i into v, member reading each member
// (named in d.key and d.name, d.i at its value). A method expression, not
// a closure: one indirect call a member.
func object[T any](d *fastDecoder, v *T, member func(*fastDecoder, *T) bool) bool {
	if !d.enter('{') {
		return false
	}
	for d.member() {
		if !member(d, v) {
			return false
		}
	}
	return !d.fail
}

// slab reads the array at d.i into *dst, a cut of *buf, elem reading each
// element in place. An empty array is an empty, non-nil slice, as the
// library makes it.
func slab[T any](d *fastDecoder, buf *[]T, dst *[]T, elem func(*fastDecoder, *T) bool) bool {
	if *buf == nil {
		*buf = make([]T, 0, 16)
	}
	if !d.enter('[') {
		return false
	}
	start := len(*buf)
	for d.element() {
		var zero T
		*buf = append(*buf, zero)
		if !elem(d, &(*buf)[len(*buf)-1]) {
			return false
		}
	}
	n := len(*buf)
	*dst = (*buf)[start:n:n]
	return !d.fail
}

// page reads a whole line's object.
func (d *fastDecoder) page(p *page) bool { return object(d, p, (*fastDecoder).pageMember) }

func (d *fastDecoder) pageMember(p *page) bool {
	switch d.key {
	case kData:
		return d.data(&p.Data)
	case kIncludes:
		return object(d, p, (*fastDecoder).includesMember)
	case kErrors:
		return slab(d, &d.errs, &p.Errors, (*fastDecoder).apiError)
	}
	return d.tweetMember(&p.tweet)
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
		return slab(d, &d.tweets, &dt.tweets, (*fastDecoder).tweet)
	case '{':
		dt.kind = '{'
		dt.tweets = make([]tweet, 1)
		return d.tweet(&dt.tweets[0])
	}
	return false
}

func (d *fastDecoder) includesMember(p *page) bool {
	switch d.key {
	case kUsers:
		return slab(d, &d.users, &p.Includes.Users, (*fastDecoder).user)
	case kTweets:
		return slab(d, &d.tweets, &p.Includes.Tweets, (*fastDecoder).tweet)
	}
	return d.skip()
}

func (d *fastDecoder) tweet(t *tweet) bool { return object(d, t, (*fastDecoder).tweetMember) }

// tweetMember reads the member of a tweet just named (or skips an unknown
// one).
func (d *fastDecoder) tweetMember(t *tweet) bool {
	switch d.key {
	case kID:
		return d.setString(&t.ID)
	case kText:
		return d.setString(&t.Text)
	case kLang:
		return d.setString(&t.Lang)
	case kEntities:
		return object(d, &t.Entities, (*fastDecoder).entitiesMember)
	case kAuthor:
		t.Author = new(user)
		return d.user(t.Author)
	}
	if d.nameEnd-d.nameAt <= 8 {
		return d.skip()
	}
	switch string(d.name()) {
	case "author_id":
		return d.setString(&t.AuthorID)
	case "created_at":
		return d.setString(&t.CreatedAt)
	case "conversation_id":
		return d.setString(&t.ConversationID)
	case "referenced_tweets":
		t.ReferencedTweets = []ref{}
		if !d.enter('[') {
			return false
		}
		for d.element() {
			t.ReferencedTweets = append(t.ReferencedTweets, ref{})
			if !object(d, &t.ReferencedTweets[len(t.ReferencedTweets)-1], (*fastDecoder).refMember) {
				return false
			}
		}
		return !d.fail
	case "note_tweet":
		t.NoteTweet = new(noteTweet)
		return object(d, t.NoteTweet, (*fastDecoder).noteMember)
	}
	return d.skip()
}

func (d *fastDecoder) refMember(rf *ref) bool {
	if d.key == kType {
		return d.setString(&rf.Type)
	}
	return d.tweetMember(&rf.tweet)
}

func (d *fastDecoder) noteMember(n *noteTweet) bool {
	switch d.key {
	case kText:
		return d.setString(&n.Text)
	case kEntities:
		return object(d, &n.Entities, (*fastDecoder).entitiesMember)
	}
	return d.skip()
}

func (d *fastDecoder) entitiesMember(e *entities) bool {
	switch {
	case d.key == kHashtags:
		return slab(d, &d.hashtags, &e.Hashtags, (*fastDecoder).hashtag)
	case d.key == kMentions:
		return slab(d, &d.mentions, &e.Mentions, (*fastDecoder).mention)
	case d.key == kURLs:
		return slab(d, &d.urls, &e.URLs, (*fastDecoder).url)
	case string(d.name()) == "user_mentions":
		return slab(d, &d.mentions, &e.UserMentions, (*fastDecoder).mention)
	}
	return d.skip()
}

// strField is a string member kept: its name's key, for a name of up to 8
// bytes, or its name, and where it goes.
type strField struct {
	key  uint64
	name string
	dst  *string
}

// stringsObject reads an object of which only fields, string members, are
// kept; once all of them are read, the rest is skipped in one go.
func (d *fastDecoder) stringsObject(fields ...strField) bool {
	if !d.enter('{') {
		return false
	}
	left := len(fields)
	for d.member() {
		var dst *string
		for _, f := range fields {
			if f.name == "" && f.key == d.key || f.name != "" && f.name == string(d.name()) {
				dst = f.dst
				break
			}
		}
		switch {
		case dst == nil:
			if !d.skip() {
				return false
			}
		case !d.setString(dst):
			return false
		default:
			// Names are not repeated (member checks), so every field has
			// been read when left reaches 0.
			if left--; left == 0 {
				return d.skipRest()
			}
		}
	}
	return !d.fail
}

func (d *fastDecoder) user(u *user) bool {
	return d.stringsObject(strField{key: kID, dst: &u.ID}, strField{key: kUsername, dst: &u.Username})
}

func (d *fastDecoder) hashtag(h *hashtag) bool {
	return d.stringsObject(strField{key: kTag, dst: &h.Tag}, strField{key: kText, dst: &h.Text})
}

func (d *fastDecoder) mention(m *mention) bool {
	return d.stringsObject(strField{key: kUsername, dst: &m.Username}, strField{name: "screen_name", dst: &m.ScreenName})
}

func (d *fastDecoder) url(u *urlEntity) bool {
	return d.stringsObject(strField{key: kURL, dst: &u.URL}, strField{name: "expanded_url", dst: &u.ExpandedURL})
}

func (d *fastDecoder) apiError(e *apiError) bool {
	return d.stringsObject(strField{key: kTitle, dst: &e.Title}, strField{key: kDetail, dst: &e.Detail},
		strField{name: "resource_type", dst: &e.ResourceType}, strField{name: "resource_id", dst: &e.ResourceID})
}
