package csv

import (
	"context"
	stdcsv "encoding/csv"
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

type result struct {
	rows []Row
	errs []*RowError
}

func readAll(t *testing.T, input string, opts Options) result {
	t.Helper()
	r, err := NewReader(strings.NewReader(input), "in.csv", opts)
	if err != nil {
		t.Fatal(err)
	}
	var res result
	err = Drain(context.Background(), r,
		func(row Row) { res.rows = append(res.rows, row) },
		func(re *RowError) { res.errs = append(res.errs, re) })
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// Drain hands rows and row errors over in order and ends at the first error
// that is neither: a stream error is returned, not taken for the end.
func TestDrain(t *testing.T) {
	stream := errors.New("gzip: unexpected EOF")
	r := &scripted{results: []error{nil, &RowError{Line: 2, Reason: ReasonEmptyText}, nil, stream, nil}}
	var got []string
	err := Drain(context.Background(), r,
		func(row Row) { got = append(got, "row "+row.Tweet.ID) },
		func(re *RowError) { got = append(got, "bad "+string(re.Reason)) })
	if !errors.Is(err, stream) || !slices.Equal(got, []string{"row 1", "bad empty_text", "row 3"}) {
		t.Fatalf("%v, %q", err, got)
	}
	r = &scripted{results: []error{nil, &RowError{Line: 2}, nil}}
	tweets, err := Tweets(context.Background(), r)
	if err != nil || len(tweets) != 2 || tweets[0].ID != "1" || tweets[1].ID != "3" {
		t.Fatalf("%v, %+v", err, tweets)
	}
}

// scripted returns a row (id = its 1-based position) for each nil of
// results and the error otherwise, then io.EOF.
type scripted struct {
	results []error
	n       int
}

func (s *scripted) Read(context.Context) (Row, error) {
	if s.n == len(s.results) {
		return Row{}, io.EOF
	}
	s.n++
	if err := s.results[s.n-1]; err != nil {
		return Row{}, err
	}
	return Row{Line: s.n, Tweet: event.Tweet{ID: strconv.Itoa(s.n)}}, nil
}

const good1 = `"0","1467810369","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","_TheSpecialOne_","@switchfoot Awww, that's a ""bummer""."`
const good2 = `"4","2193602129","Tue Jun 16 08:40:50 UTC 2009","NO_QUERY","user2","good morning"`

func TestSentiment140Row(t *testing.T) {
	res := readAll(t, good1+"\n"+good2, Options{Keep: map[string]string{"target": "0"}})
	if len(res.errs) != 0 || len(res.rows) != 2 {
		t.Fatalf("rows %d errs %v", len(res.rows), res.errs)
	}
	tw := res.rows[0].Tweet
	if tw.ID != "1467810369" || tw.User != "_TheSpecialOne_" || tw.Text != `@switchfoot Awww, that's a "bummer".` || tw.Fields["target"] != "0" {
		t.Fatalf("tweet %+v", tw)
	}
	// PDT is UTC-7: 22:19:45 PDT is 05:19:45 UTC the next day.
	if want := time.Date(2009, 4, 7, 5, 19, 45, 0, time.UTC); !tw.CreatedAt.Equal(want) {
		t.Fatalf("time %v, want %v", tw.CreatedAt, want)
	}
	if want := time.Date(2009, 6, 16, 8, 40, 50, 0, time.UTC); !res.rows[1].Tweet.CreatedAt.Equal(want) {
		t.Fatalf("UTC time %v, want %v", res.rows[1].Tweet.CreatedAt, want)
	}
	if res.rows[0].Line != 1 || res.rows[1].Line != 2 {
		t.Fatalf("lines %d %d", res.rows[0].Line, res.rows[1].Line)
	}
}

func TestSample(t *testing.T) {
	r, err := Open("../../../data/sample.csv", Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	seen := map[string]bool{}
	for {
		row, err := r.Read(context.Background())
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("sample row: %v", err)
		}
		if seen[row.Tweet.ID] {
			t.Fatalf("duplicate id %s", row.Tweet.ID)
		}
		seen[row.Tweet.ID] = true
		n++
	}
	if n != 20000 {
		t.Fatalf("read %d rows, want 20000", n)
	}
}

// Each kind of bad row is rejected with file:line and its reason, and the
// good rows around it are all kept.
func TestBadRows(t *testing.T) {
	long := `"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","` + strings.Repeat("x", 1<<20) + `"`
	cases := []struct {
		name   string
		bad    string
		opts   Options
		reason Reason
	}{
		{"unterminated quote", `"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","no end`, Options{}, ReasonBrokenQuotes},
		{"quote inside quoted field", `"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","a "b" c"`, Options{}, ReasonBrokenQuotes},
		{"bare quote", `0,9,Mon Apr 06 22:19:45 PDT 2009,NO_QUERY,u,a "b"`, Options{}, ReasonBrokenQuotes},
		{"too few columns", `"0","9","Mon Apr 06 22:19:45 PDT 2009","u","text"`, Options{}, ReasonColumnCount},
		{"too many columns", `"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","text","extra"`, Options{}, ReasonColumnCount},
		{"bad date", `"0","9","Mon Apr 36 22:19:45 PDT 2009","NO_QUERY","u","text"`, Options{}, ReasonBadTimestamp},
		{"unknown zone", `"0","9","Mon Apr 06 22:19:45 XYZ 2009","NO_QUERY","u","text"`, Options{}, ReasonBadTimestamp},
		{"empty date", `"0","9","","NO_QUERY","u","text"`, Options{}, ReasonBadTimestamp},
		{"empty text", `"0","9","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","   "`, Options{}, ReasonEmptyText},
		{"empty id", `"0","","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","u","text"`, Options{}, ReasonEmptyID},
		{"invalid utf-8", "\"0\",\"9\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u\",\"caf\xe9\"", Options{}, ReasonInvalidUTF8},
		{"1 MB line", long, Options{}, ReasonLineTooLong},
	}
	for _, c := range cases {
		for _, eol := range []string{"\n", "\r\n"} {
			for _, final := range []bool{true, false} {
				name := c.name + map[string]string{"\n": " LF", "\r\n": " CRLF"}[eol] + map[bool]string{true: " final newline", false: " no final newline"}[final]
				t.Run(name, func(t *testing.T) {
					in := strings.Join([]string{good1, c.bad, good2}, eol)
					if final {
						in += eol
					}
					res := readAll(t, in, c.opts)
					if len(res.rows) != 2 || res.rows[0].Tweet.ID != "1467810369" || res.rows[1].Tweet.ID != "2193602129" {
						t.Fatalf("good rows not all kept: %+v", res.rows)
					}
					if res.rows[1].Line != 3 {
						t.Fatalf("row after the bad one has line %d, want 3", res.rows[1].Line)
					}
					if res.rows[1].Tweet.Text != "good morning" {
						t.Fatalf("CR leaked into the text: %q", res.rows[1].Tweet.Text)
					}
					if len(res.errs) != 1 {
						t.Fatalf("errors %v, want one", res.errs)
					}
					e := res.errs[0]
					if e.Reason != c.reason || e.Line != 2 || e.File != "in.csv" {
						t.Fatalf("got %s:%d %s, want in.csv:2 %s", e.File, e.Line, e.Reason, c.reason)
					}
					if !strings.HasPrefix(e.Error(), "in.csv:2: ") || len(e.Error()) > 300 {
						t.Fatalf("message %q", e.Error())
					}
				})
			}
		}
	}
}

func TestEncodings(t *testing.T) {
	in := "\"0\",\"9\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u\",\"caf\xe9\"\n" +
		"\"0\",\"10\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u\",\"caf\xc3\xa9\"\n"
	lat := readAll(t, in, Options{Encoding: Latin1})
	if len(lat.rows) != 2 || lat.rows[0].Tweet.Text != "café" || lat.rows[1].Tweet.Text != "cafÃ©" {
		t.Fatalf("latin-1: %+v %v", lat.rows, lat.errs)
	}
	auto := readAll(t, in, Options{Encoding: Auto})
	if len(auto.rows) != 2 || auto.rows[0].Tweet.Text != "café" || auto.rows[1].Tweet.Text != "café" {
		t.Fatalf("auto: %+v %v", auto.rows, auto.errs)
	}
	utf := readAll(t, in, Options{})
	if len(utf.rows) != 1 || utf.rows[0].Tweet.Text != "café" || len(utf.errs) != 1 || utf.errs[0].Reason != ReasonInvalidUTF8 {
		t.Fatalf("utf-8: %+v %v", utf.rows, utf.errs)
	}
	if _, err := NewReader(strings.NewReader(""), "x", Options{Encoding: "ebcdic"}); err == nil {
		t.Fatal("unknown encoding accepted")
	}
}

func TestHeaderMappingAndFormats(t *testing.T) {
	in := "\xef\xbb\xbfts,tweet_id,author,body,lang\n" +
		"2009-04-06T22:19:45-07:00,1,alice,hello,en\n" +
		"2009-04-07T05:19:46Z,2,bob,world,fr\n"
	res := readAll(t, in, Options{Header: true, ID: "tweet_id", Time: "ts", User: "author", Text: "body", TimeFormat: RFC3339, Keep: map[string]string{"lang": "lang"}})
	if len(res.errs) != 0 || len(res.rows) != 2 {
		t.Fatalf("%+v %v", res.rows, res.errs)
	}
	if want := time.Date(2009, 4, 7, 5, 19, 45, 0, time.UTC); !res.rows[0].Tweet.CreatedAt.Equal(want) || res.rows[1].Tweet.Fields["lang"] != "fr" || res.rows[0].Tweet.User != "alice" {
		t.Fatalf("%+v", res.rows)
	}
	if res.rows[0].Line != 2 {
		t.Fatalf("line %d, want 2 (header is line 1)", res.rows[0].Line)
	}
	unix := readAll(t, "1239081585,7,hi\n1239081585000,8,hi\n", Options{Columns: 3, Time: "0", ID: "1", Text: "2", User: "-", TimeFormat: Unix})
	if len(unix.rows) != 1 || !unix.rows[0].Tweet.CreatedAt.Equal(time.Unix(1239081585, 0)) || len(unix.errs) != 1 {
		t.Fatalf("unix: %+v %v", unix.rows, unix.errs)
	}
	ms := readAll(t, "1239081585123,7,hi\n", Options{Columns: 3, Time: "0", ID: "1", Text: "2", User: "-", TimeFormat: UnixMilli})
	if len(ms.rows) != 1 || !ms.rows[0].Tweet.CreatedAt.Equal(time.UnixMilli(1239081585123)) {
		t.Fatalf("unix_ms: %+v %v", ms.rows, ms.errs)
	}
	for _, bad := range []Options{
		{Header: true, ID: "nope"},
		{ID: "name"},
		{ID: "6"},
		{TimeFormat: "iso"},
	} {
		if _, err := NewReader(strings.NewReader("a,b,c,d,e,f\n"), "h.csv", bad); err == nil || !strings.Contains(err.Error(), "h.csv") {
			t.Errorf("options %+v: error %v, want one naming the file", bad, err)
		}
	}
}

func TestSkipRows(t *testing.T) {
	in := strings.Join([]string{good1, `"broken`, good2, good1}, "\n")
	res := readAll(t, in, Options{SkipRows: 2})
	if len(res.rows) != 2 || res.rows[0].Line != 3 || res.rows[0].Tweet.ID != "2193602129" {
		t.Fatalf("%+v %v", res.rows, res.errs)
	}
}

func TestCancel(t *testing.T) {
	r, err := NewReader(strings.NewReader(good1), "x", Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
}

// FuzzSplit checks the line parser against encoding/csv: on any one line,
// whatever encoding/csv accepts must give the same fields here, and whatever
// it rejects must be rejected here. (encoding/csv accepts an unterminated
// quote at the very end of its input; this reader rejects it, on purpose.)
func FuzzSplit(f *testing.F) {
	for _, s := range []string{good1, good2, `a,b,c`, `"a""b",c`, `"a"b`, `a"b`, `"`, `,,`, `"x",`, `""`, `"a,b"`, "caf\xe9,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if line == "" || strings.ContainsAny(line, "\r\n") {
			return
		}
		r := &Reader{name: "f"}
		err := r.split([]byte(line))
		std := stdcsv.NewReader(strings.NewReader(line))
		std.FieldsPerRecord = -1
		want, stdErr := std.Read()
		if stdErr != nil {
			if err == nil {
				t.Fatalf("%q: encoding/csv rejects (%v), split accepts", line, stdErr)
			}
			return
		}
		if err != nil {
			if strings.Count(line, `"`)%2 == 1 {
				return // unterminated quote at the end of input
			}
			t.Fatalf("%q: split rejects (%v), encoding/csv accepts %q", line, err, want)
		}
		got := make([]string, len(r.ends))
		for i := range got {
			got[i] = string(r.field(i))
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%q: split %q, encoding/csv %q", line, got, want)
		}
	})
}

// FuzzRead feeds arbitrary files to the whole row decoder: it must never
// panic, every error must be a *RowError with a line inside the file, and
// every accepted row must be a valid tweet.
func FuzzRead(f *testing.F) {
	f.Add([]byte(good1+"\n"+good2), uint8(0))
	f.Add([]byte(good1+"\r\n\r\n"+good2+"\r\n"), uint8(1))
	f.Add([]byte("\"0\",\"9\",\"Mon Apr 06 22:19:45 PDT 2009\",\"NO_QUERY\",\"u\",\"caf\xe9\""), uint8(2))
	f.Add([]byte("id,t,x\n1,2009-04-06T22:19:45Z,hi"), uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		opts := []Options{
			{},
			{Encoding: Auto, MaxLineBytes: 64},
			{Encoding: Latin1},
			{Header: true, ID: "id", Time: "t", Text: "x", User: "-", TimeFormat: RFC3339},
		}[mode%4]
		r, err := NewReader(strings.NewReader(string(data)), "f.csv", opts)
		if err != nil {
			return
		}
		lines := strings.Count(string(data), "\n") + 1
		for i := 0; i < lines+1; i++ {
			row, err := r.Read(context.Background())
			if err == io.EOF {
				return
			}
			var re *RowError
			if errors.As(err, &re) {
				if re.Line < 1 || re.Line > lines || re.File != "f.csv" {
					t.Fatalf("error at %s:%d outside a %d-line file", re.File, re.Line, lines)
				}
				continue
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if err := row.Tweet.Validate("x"); err != nil {
				t.Fatalf("accepted an invalid tweet: %v", err)
			}
		}
		t.Fatalf("more reads than lines in a %d-line file", lines)
	})
}

func BenchmarkReadSample(b *testing.B) {
	data, err := os.ReadFile("../../../data/sample.csv")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		r, err := NewReader(strings.NewReader(string(data)), "sample.csv", Options{})
		if err != nil {
			b.Fatal(err)
		}
		err = Drain(context.Background(), r, func(Row) { rows++ }, func(re *RowError) { b.Fatal(re) })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

// The fast sentiment140 path must agree with the general one.
func FuzzSentiment140Time(f *testing.F) {
	for _, s := range []string{"Mon Apr 06 22:19:45 PDT 2009", "Tue Jun 16 08:40:50 UTC 2009", "Mon Feb 29 00:00:00 PST 2009", "Mon Feb 29 00:00:00 PST 2008", "Sun Dec 31 23:59:59 EST 1999", "Mon Apr 06 24:19:45 PDT 2009"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := parseSentiment140Fast(s)
		if !ok {
			return
		}
		parts := strings.Fields(s)
		slow, err := time.Parse(sentiment140Layout, strings.Join(append(parts[:4:4], parts[5]), " "))
		if err != nil {
			t.Fatalf("%q: fast path accepts, time.Parse rejects: %v", s, err)
		}
		if want := slow.Add(-time.Duration(usZones[parts[4]]) * time.Hour); !fast.Equal(want) {
			t.Fatalf("%q: fast %v, time.Parse %v", s, fast, want)
		}
	})
}
