package twitter

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// sameAsLibrary fails unless the fast decoder, where it accepts line, gives
// the page the library gives; it reports whether the fast path accepted.
// Lines of invalid UTF-8 are not the decoder's (the reader rejects them
// before, naming the byte): false.
func sameAsLibrary(t *testing.T, d *fastDecoder, line []byte) bool {
	t.Helper()
	if !utf8.Valid(line) {
		return false
	}
	var fast page
	if !d.decode(line, &fast) {
		return false
	}
	var lib page
	if err := unmarshal(line, &lib); err != nil {
		t.Fatalf("the fast path accepts a line the library rejects (%v): %q", err, line)
	}
	if !reflect.DeepEqual(fast, lib) {
		t.Fatalf("fast %+v\nlibrary %+v\nline %q", fast, lib, line)
	}
	return true
}

// readBoth reads in with the fast path and with the library only: the same
// tweets and the same errors, in the same order. It returns how many lines
// the fast path decoded.
func readBoth(t *testing.T, in []byte) int {
	t.Helper()
	fast := NewReader(bytes.NewReader(in), "f.jsonl", Options{MaxLineBytes: 1 << 20})
	lib := NewReader(bytes.NewReader(in), "f.jsonl", Options{MaxLineBytes: 1 << 20})
	lib.libraryOnly = true
	got, want := transcript(t, fast), transcript(t, lib)
	if got != want {
		t.Fatalf("fast path read\n%s\nthe library\n%s", got, want)
	}
	return fast.fastLines
}

// The fast decoder's strings are the line's bytes, which the next line
// overwrites in the reader's buffer: the tweets a reader returned must
// stay as they were after the reads that follow (detach copies them). A
// small buffer (64 KiB) is refilled many times over the flattened fixture.
func TestFastTweetsOutliveTheLine(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "flat.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	in = append(in, in...)
	rows := func(libraryOnly bool) []csv.Row {
		r := NewReader(bytes.NewReader(in), "flat.jsonl", Options{MaxLineBytes: 64 << 10})
		r.libraryOnly = libraryOnly
		var rows []csv.Row
		if err := csv.Drain(context.Background(), r, func(row csv.Row) { rows = append(rows, row) }, nil); err != nil {
			t.Fatal(err)
		}
		if !libraryOnly && r.fastLines == 0 {
			t.Fatal("no line went the fast way")
		}
		return rows
	}
	fast, lib := rows(false), rows(true)
	if len(fast) != len(lib) || len(fast) < 100 {
		t.Fatalf("%d tweets the fast way, %d by the library", len(fast), len(lib))
	}
	for i := range fast {
		if !reflect.DeepEqual(fast[i], lib[i]) {
			t.Fatalf("tweet %d changed after its line: %#v\nthe library's: %#v", i, fast[i].Tweet, lib[i].Tweet)
		}
	}
}

// transcript is every row and row error of r, one a line.
func transcript(t *testing.T, r *Reader) string {
	var b strings.Builder
	err := csv.Drain(context.Background(), r,
		func(row csv.Row) { fmt.Fprintf(&b, "%d %#v\n", row.Line, row.Tweet) },
		func(re *csv.RowError) { fmt.Fprintf(&b, "%v\n", re) })
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Every line of the real twarc2 fixtures goes the fast way, decodes to the
// library's page, and the reader's tweets and errors are the library's.
func TestFastDecoderFixtures(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.jsonl"))
	if err != nil || len(files) < 10 {
		t.Fatalf("%v %v", files, err)
	}
	var d fastDecoder
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines, fast := 0, 0
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			if line = bytes.TrimSpace(line); len(line) == 0 {
				continue
			}
			lines++
			var lib page
			libErr := unmarshal(line, &lib)
			switch ok := sameAsLibrary(t, &d, line); {
			case ok:
				fast++
			case libErr == nil:
				t.Errorf("%s: a line the library decodes went the slow way: %.200q", f, line)
			}
		}
		if n := readBoth(t, b); n != fast || fast == 0 {
			t.Errorf("%s: the reader decoded %d of %d lines the fast way, want %d", f, n, lines, fast)
		}
	}
}

// The corner cases the fast path must leave to the library (or get
// exactly right).
func TestFastDecoderCorners(t *testing.T) {
	const tw = `"id":"1","text":"x","created_at":"2021-01-01T00:00:00Z"`
	for _, tc := range []struct {
		line string
		fast bool // the fast path decodes it
	}{
		{`{"data":[{` + tw + `}]}`, true},
		{`{ "data" : [ {` + tw + ` } ] , "meta" : { "a" : [ 1 , -2.5e+3 , true , false , null ] } }`, true},
		{`{"data":{` + tw + `}}`, true},
		{`{` + tw + `,"author":{"id":"9","username":"u"}}`, true},
		{`{"data":[],"errors":[{"title":"t","detail":"d","resource_type":"tweet","resource_id":"5"}]}`, true},
		{`{"data":[{` + tw + `,"entities":{"hashtags":[],"urls":[{"url":"u"}],"mentions":[{"username":"m","id":"3"}]}}]}`, true},
		{`{"data":[{` + tw + `,"entities":{"user_mentions":[{"screen_name":"m"}]}}]}`, true}, // v1.1's name: the library fills entities.UserMentions too
		{`{"data":[{` + tw + `,"note_tweet":{"text":"long \n\u00e9\ud83d\ude00","entities":{"hashtags":[{"tag":"h"}]}}}]}`, true},
		{`{"data":[{"id":"1","text":"cut \ud83d","created_at":"2021-01-01T00:00:00Z"}]}`, false}, // lone surrogate
		{`{"data":[{` + tw + `,"id":"2"}]}`, false},                                              // duplicate known member
		{`{"data":[{` + tw + `,"x":{"a":1,"a":2}}]}`, false},                                     // duplicate skipped member
		{`{"data":[{` + tw + `,"x":{"a":1,"b":2}}]}`, true},                                      // no duplicate
		{`{"data":[{"i\u0064":"1","text":"x"}]}`, false},                                         // escaped name
		{`{"data":[{"id":1,"text":"x"}]}`, false},                                                // wrong type
		{`{"data":[{"id":null,"text":"x"}]}`, false},                                             // null
		{`{"data":null}`, false},                                // null data
		{`{"data":"x"}`, false},                                 // not a tweet list
		{`{"data":[{` + tw + `}]} x`, false},                    // trailing data
		{`{"data":[{` + tw + `,"n":01}]}`, false},               // bad number
		{`{"data":[{` + tw + `,"n":1.}]}`, false},               // bad number
		{`{"data":[{` + tw + `,"s":"a` + "\t" + `b"}]}`, false}, // raw control character
		{`{"data":[{` + tw + `,"s":"\x"}]}`, false},             // bad escape
		{`{"data":[{` + tw + `,"s":"\u12g4"}]}`, false},         // bad escape
		{`{"data":[{` + tw + `,}]}`, false},                     // trailing comma
		{`{"data":[{` + tw + `,"d":` + strings.Repeat(`[`, 100) + strings.Repeat(`]`, 100) + `}]}`, false}, // deep: left to the library
		{`[{` + tw + `}]`, false},
		{`{"data":[{` + tw + `,"ID":"2"}]}`, true},         // names match exactly: ID is not id
		{"{\"data\":[{" + tw + "}],\t\"meta\":{}}", false}, // a control byte anywhere: left to the library
		{`{"data":[{"id":"1","text":"a long text with \"quotes\" and \u00e9 past the first word","created_at":"2021-01-01T00:00:00Z"}]}`, true},
		{`{"data":[{` + tw + `,"lang":"a long text, then a cut \`, false},                                      // an escape cut off at the end of the line
		{`{"data":[{` + tw + `,"x":"abcdefghijklmnop\"}]}`, false},                                             // an escaped quote: the string runs on
		{`{"data":[{` + tw + `,"created\u005fat":"2"}]}`, false},                                               // an escape in a name's second word
		{`{"data":[{` + tw + `,"conversation_id":"2","conversation_id":"3"}]}`, false},                         // duplicate long name
		{`{"data":[{` + tw + `,"x":{"abcdefghijklmnopqr":1,"abcdefghijklmnopqs":2}}]}`, true},                  // long names that differ at the end
		{`{"data":[{` + tw + `,"x":{"abcdefghijklmnopqrstuvwxyz":1,"abcdefghijKLMNOPqrstuvwxyz":2}}]}`, false}, // same length, first and last 8 bytes: a collision, left to the library
		{`{"data":[{` + tw + `,"x":{"":1,"":2}}]}`, false},                                                     // duplicate empty name
		{`{"data":[{` + tw + `,"x":[{},[],{"a":[]},"",0,-0.5e-3,true]}],"a":{}}`, true},
	} {
		var d fastDecoder
		if got := sameAsLibrary(t, &d, []byte(tc.line)); got != tc.fast {
			t.Errorf("fast path took it: %v, want %v: %s", got, tc.fast, tc.line)
		}
		readBoth(t, []byte(tc.line+"\n"+tc.line))
	}
}

// FuzzFastDecoder: what the fast path accepts, the library accepts with an
// equal page; and the reader with the fast path reads every input exactly
// as the library-only reader does (tweets, errors and their order).
func FuzzFastDecoder(f *testing.F) {
	for _, name := range []string{"two_tweets.jsonl", "mentions_tweet.jsonl", "streaming_output_with_error.jsonl", "media_tweet.jsonl"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"data":[{"id":"1","text":"a\"\\\/\b\f\n\r\t\u0041","created_at":"2021-01-01T00:00:00Z","x":[1,{"y":null}]}],"includes":{"users":[{"id":"1","username":"u"}],"tweets":[]}}`))
	f.Add([]byte(`{"id":"1","text":"x","created_at":"2021-01-01T00:00:00Z","referenced_tweets":[{"type":"retweeted","id":"2","text":"y","author":{"id":"3"}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var d fastDecoder
		for line := range bytes.SplitSeq(b, []byte("\n")) {
			sameAsLibrary(t, &d, bytes.TrimSpace(line))
		}
		readBoth(t, b)
	})
}

// The fuzzer runs a few inputs a second on the shared machine, so this
// test mutates the real fixtures itself (a fixed seed: the same inputs each
// run): token insertions, cuts and byte changes, each checked as
// FuzzFastDecoder checks its inputs.
func TestFastDecoderMutations(t *testing.T) {
	var seeds [][]byte
	files, _ := filepath.Glob("testdata/*.jsonl")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for l := range bytes.SplitSeq(b, []byte("\n")) {
			if len(l) > 0 && len(l) < 40000 {
				seeds = append(seeds, bytes.Clone(l))
			}
		}
	}
	toks := []string{`"`, `\`, `{`, `}`, `[`, `]`, `,`, `:`, ` `, `null`, `1`, `-`, `.`, `e`, `\u`, `"id"`, `"id":"1"`, `"text":"x"`, `\ud83d`, "\t", "\x01", `"data":`, `0`, `"a":1,"a":2`}
	r := rand.New(rand.NewPCG(1, 2))
	var d fastDecoder
	n, fast := 0, 0
	for iter := 0; iter < 8000; iter++ {
		b := bytes.Clone(seeds[r.IntN(len(seeds))])
		for k := r.IntN(4) + 1; k > 0; k-- {
			p := r.IntN(len(b) + 1)
			switch r.IntN(3) {
			case 0:
				b = append(b[:p:p], append([]byte(toks[r.IntN(len(toks))]), b[p:]...)...)
			case 1:
				e := min(len(b), p+r.IntN(20))
				b = append(b[:p:p], b[e:]...)
			case 2:
				if p < len(b) {
					b[p] = byte(r.IntN(256))
				}
			}
		}
		n++
		if sameAsLibrary(t, &d, bytes.TrimSpace(b)) {
			fast++
		}
		if iter%10 == 0 {
			readBoth(t, b)
		}
	}
	// Most mutations break the JSON; enough must stay valid that the fast
	// path's own decoding is compared, not only its refusals.
	if fast < n/10 {
		t.Fatalf("only %d of %d mutated inputs went the fast way", fast, n)
	}
}

// The key constants are the keys nameKey computes for their names, and a
// long name's key is none of them.
func TestNameKeys(t *testing.T) {
	for name, want := range map[string]uint64{
		"id": kID, "text": kText, "lang": kLang, "type": kType, "tag": kTag, "url": kURL, "urls": kURLs,
		"data": kData, "users": kUsers, "title": kTitle, "tweets": kTweets, "author": kAuthor,
		"errors": kErrors, "detail": kDetail, "entities": kEntities, "includes": kIncludes,
		"hashtags": kHashtags, "mentions": kMentions, "username": kUsername,
	} {
		for _, line := range []string{`"` + name + `":1,"padding":2}`, `"` + name + `"`} {
			key, j := nameKey([]byte(line), 0)
			if key != want || j != len(name)+2 {
				t.Errorf("nameKey(%s) = %#x, %d; want %#x, %d", line, key, j, want, len(name)+2)
			}
		}
	}
	for _, line := range []string{`"conversation_id"`, `"usernames"`, `"referenced_tweets":[]`} {
		if key, _ := nameKey([]byte(line), 0); key&0xff != 1 {
			t.Errorf("nameKey(%s) = %#x: a long name's key must end in byte 1", line, key)
		}
	}
}

// A name's key is the same whether nameKey reads it with its word loads
// or, at the end of a line, byte by byte; and names that differ (in their
// last byte: the key of a name past 16 bytes ignores its middle) have
// different keys.
func TestNameKeyPaths(t *testing.T) {
	seen := map[uint64]string{}
	for n := 0; n <= 40; n++ {
		for _, c := range []byte{'a', 'b', 0xc3} {
			name := strings.Repeat("n", n) + string(c)
			short := []byte(`"` + name + `"`)
			long := []byte(`"` + name + `":` + strings.Repeat(" ", 40))
			k1, j1 := nameKey(short, 0)
			k2, j2 := nameKey(long, 0)
			if k1 != k2 || j1 != len(short) || j2 != len(short) {
				t.Errorf("%q: key %#x, %d at the end of a line, %#x, %d within it", name, k1, j1, k2, j2)
			}
			if other, ok := seen[k1]; ok {
				t.Errorf("%q and %q have the same key %#x", name, other, k1)
			}
			seen[k1] = name
		}
	}
	for _, line := range []string{`"a\"b"` + strings.Repeat(" ", 20), `"abcdefghij\n"` + strings.Repeat(" ", 20), `"abc`, `"abcdefghijklmnopqrstu`} {
		if _, j := nameKey([]byte(line), 0); j >= 0 {
			t.Errorf("nameKey(%q) took it", line)
		}
	}
}

// BenchmarkFastSkip validates and skips whole twarc2 pages (noflat.jsonl)
// without reading a member: the floor under BenchmarkPages's decoding, in
// tweets of the page per CPU second.
func BenchmarkFastSkip(b *testing.B) {
	line, err := os.ReadFile(filepath.Join("testdata", "noflat.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	line = bytes.TrimSpace(line)
	b.SetBytes(int64(len(line)))
	var d fastDecoder
	n := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		d.reset(line)
		if !printableASCII(line) || !d.skip() || d.i != len(line) {
			b.Fatal("the fixture page did not skip")
		}
		n += 100
	}
	b.ReportMetric(float64(n)/(cpuSeconds()-cpu0), "tweets/cpu-s")
}

// printableASCII and controlFree find the bytes they look for wherever
// they are in the line (each word position, the tail, next to each other,
// with carries and borrows from the bytes around), as a byte-by-byte
// check does.
func TestLineScans(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte{0x00, 0x01, 0x1f, 0x20, 0x21, '"', '\\', 'a', 0x7e, 0x7f, 0x80, 0x9f, 0xa0, 0xc3, 0xff}
	for iter := 0; iter < 20000; iter++ {
		b := make([]byte, r.IntN(100))
		for i := range b {
			b[i] = 'x'
			if r.IntN(8) == 0 {
				b[i] = alphabet[r.IntN(len(alphabet))]
			}
		}
		checkLineScans(t, b)
	}
}

func FuzzLineScans(f *testing.F) {
	f.Add([]byte("{\"a\": 1}"))
	f.Add([]byte("0123456789abcdef0123456789abcdef\x1f\x80"))
	f.Fuzz(checkLineScans)
}

func checkLineScans(t *testing.T, b []byte) {
	ascii, free := true, true
	for _, c := range b {
		ascii = ascii && 0x20 <= c && c < 0x80
		free = free && c >= 0x20
	}
	if got := printableASCII(b); got != ascii {
		t.Fatalf("printableASCII(%q) = %v", b, got)
	}
	if got := controlFree(b); got != free {
		t.Fatalf("controlFree(%q) = %v", b, got)
	}
}

// unescape gives what the library's unquoting gives, and leaves to it
// (false) what it would decode with a replacement character.
func TestUnescape(t *testing.T) {
	for _, s := range []string{
		``, `plain`, `a\"b\\c\/d\be\ff\ng\rh\ti`, `\u00e9t\u00C9`, `\u0000\u001f\u007f`, `\ud83d\ude00 x`, `\uD83D\uDE00`,
		`\ud83d`, `\ud83dx`, `\ud83d\u0041`, `\ude00`, `\ud83d\ud83d\ude00`, `caf\u00e9 \ud83c\udf89\n`, `\u20ac\uffff\ufffd`,
	} {
		got, ok := unescape(nil, []byte(s))
		want, err := jsontext.AppendUnquote(nil, `"`+s+`"`)
		switch {
		case ok && err != nil:
			t.Errorf("%s: unescape took it (%q), the library: %v", s, got, err)
		case ok && string(got) != string(want):
			t.Errorf("%s: unescape %q, the library %q", s, got, want)
		case !ok && err == nil && !strings.ContainsRune(string(want), utf8.RuneError):
			t.Errorf("%s: unescape left to the library what it decodes without a replacement (%q)", s, want)
		}
	}
}
