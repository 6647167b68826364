package source

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/tweetflow/tweetflow/producer/source/csv"
)

type result struct {
	rows []csv.Row
	errs []*csv.RowError
}

func (r result) ids() []string {
	var out []string
	for _, row := range r.rows {
		out = append(out, row.Tweet.ID)
	}
	return out
}

func readAll(t *testing.T, paths []string, opts Options) (result, *Source) {
	t.Helper()
	s, err := Open(paths, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var res result
	err = csv.Drain(context.Background(), s,
		func(row csv.Row) { res.rows = append(res.rows, row) },
		func(re *csv.RowError) { res.errs = append(res.errs, re) })
	if err != nil {
		t.Fatal(err)
	}
	return res, s
}

const (
	v2dir = "twitter/testdata"
	v1dir = "twitter/testdata/v1"
)

func write(t *testing.T, dir, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const qutRows = csv.QUTHeader + "\n" +
	"1,100,alice,,,hello,1606451170.518101,https://example.com/a\n" +
	"2,101,bob,1,,RT @alice: hello,1606451171.25,\n"

// auto decides from the content; the name says nothing (every copy is
// called data.txt).
func TestAutoDetect(t *testing.T) {
	dir := t.TempDir()
	sample, err := os.ReadFile("../../data/sample.csv")
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tc := range []struct {
		name string
		data []byte
		want Format
	}{
		{"v2 pages", read(filepath.Join(v2dir, "noflat.jsonl")), TwitterV2},
		{"v2 flattened", read(filepath.Join(v2dir, "flat.jsonl")), TwitterV2},
		{"v2 streaming", read(filepath.Join(v2dir, "streaming_output_with_error.jsonl")), TwitterV2},
		{"v1 statuses", read(filepath.Join(v1dir, "statuses.jsonl")), TwitterV1},
		{"v1 search", read(filepath.Join(v1dir, "search.jsonl")), TwitterV1},
		{"v1 array", []byte(`[{"id":1,"text":"x","created_at":"Wed Oct 10 20:19:24 +0000 2018"}]`), TwitterV1},
		{"v1 by id type", []byte(`{"id":1,"text":"x","created_at":"Wed Oct 10 20:19:24 +0000 2018"}`), TwitterV1},
		{"v2 by id type", []byte(`{"id":"1","text":"x","created_at":"2021-01-01T00:00:00Z"}`), TwitterV2},
		{"v2 after a BOM and blank lines", []byte("\xef\xbb\xbf\n\n  {\"data\":[]}\n"), TwitterV2},
		{"qut", []byte(qutRows), QUT},
		{"qut quoted header", []byte(`"message_id","user_id","username","repost_id","reply_id","message","timestamp","urls"` + "\r\n" + `"1","2","u","","","hi","1606451170",""` + "\r\n"), QUT},
		{"sentiment140", sample, CSV},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := write(t, dir, "data.txt", tc.data)
			res, s := readAll(t, []string{p}, Options{})
			if got := s.Detected(); len(got) != 1 || got[0] != tc.want {
				t.Fatalf("detected %v, want %s", got, tc.want)
			}
			if len(res.rows) == 0 && tc.name != "v2 after a BOM and blank lines" {
				t.Fatalf("no rows (errors %v)", res.errs)
			}
		})
	}
	p := write(t, dir, "odd.jsonl", []byte(`{"foo":1,"bar":[2]}`+"\n"))
	if _, err := Open([]string{p}, Options{}); err == nil || !strings.Contains(err.Error(), "odd.jsonl") || !strings.Contains(err.Error(), "--format") {
		t.Fatalf("undecidable JSON: %v", err)
	}
}

// The QUT rows carry the toolkit's fields, fraction of a second included.
func TestQUTThroughOpen(t *testing.T) {
	p := write(t, t.TempDir(), "q.csv", []byte(qutRows))
	res, _ := readAll(t, []string{p}, Options{Format: QUT})
	if len(res.rows) != 2 || len(res.errs) != 0 {
		t.Fatalf("%+v %v", res.rows, res.errs)
	}
	if tw := res.rows[1].Tweet; tw.UserID != "101" || tw.RetweetOf != "1" || tw.CreatedAt.Nanosecond() != 25e7 {
		t.Fatalf("%+v", tw)
	}
}

func gzBench(tb testing.TB, b []byte) []byte  { return gz(tb, b) }
func zstBench(tb testing.TB, b []byte) []byte { return zst(tb, b) }

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// Compression is told by magic bytes, whatever the name.
func TestCompressed(t *testing.T) {
	plain, err := os.ReadFile(filepath.Join(v2dir, "withheld.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	want, _ := readAll(t, []string{filepath.Join(v2dir, "withheld.jsonl")}, Options{})
	for name, b := range map[string][]byte{
		"a.jsonl.gz":  gz(t, plain),
		"b.jsonl.zst": zst(t, plain),
		"c.jsonl":     gz(t, plain),                                                        // compressed, but not named so
		"d.jsonl.gz":  plain,                                                               // named so, but plain
		"e.jsonl.gz":  append(gz(t, plain[:len(plain)/2]), gz(t, plain[len(plain)/2:])...), // two gzip members
	} {
		p := write(t, dir, name, b)
		got, s := readAll(t, []string{p}, Options{})
		if s.Detected()[0] != TwitterV2 || !slices.Equal(got.ids(), want.ids()) || len(got.errs) != len(want.errs) {
			t.Errorf("%s: %d tweets %d errors, want %d %d", name, len(got.rows), len(got.errs), len(want.rows), len(want.errs))
		}
	}
}

// A gzip file cut short: its rows before the cut are kept, the cut is a
// read_error naming the file, and the other files go on.
func TestCutGzip(t *testing.T) {
	var b strings.Builder
	for i := range 2000 {
		fmt.Fprintf(&b, `{"id":"%d","text":"tweet %d","created_at":"2021-01-01T00:%02d:%02dZ"}`+"\n", i, i, i/60%60, i%60)
	}
	full := gz(t, []byte(b.String()))
	dir := t.TempDir()
	cut := write(t, dir, "cut.jsonl.gz", full[:len(full)/2])
	other := write(t, dir, "other.jsonl", []byte(`{"id":"x","text":"late","created_at":"2022-01-01T00:00:00Z"}`+"\n"))
	res, _ := readAll(t, []string{cut, other}, Options{})
	if len(res.errs) != 1 || res.errs[0].Reason != ReasonRead || res.errs[0].File != cut || res.errs[0].Line < 2 {
		t.Fatalf("errors %v", res.errs)
	}
	n := len(res.rows)
	if n < 100 || n >= 2001 || res.rows[n-1].Tweet.ID != "x" {
		t.Fatalf("%d rows, last %q", n, res.rows[n-1].Tweet.ID)
	}
	for i, row := range res.rows[:n-1] {
		if row.Tweet.ID != fmt.Sprint(i) {
			t.Fatalf("row %d is %s", i, row.Tweet.ID)
		}
	}
	if !strings.Contains(res.errs[0].Error(), "cut.jsonl.gz:") {
		t.Errorf("%v", res.errs[0])
	}
}

// Several files replay in event-time order of their rows; each file's own
// order is kept (b is not sorted), ties go to the file listed first, and
// row errors name their file and line.
func TestMerge(t *testing.T) {
	dir := t.TempDir()
	row := func(id string, min int) string {
		return fmt.Sprintf(`{"id":"%s","text":"t","created_at":"2021-01-01T00:%02d:00Z"}`+"\n", id, min)
	}
	a := write(t, dir, "a.jsonl", []byte(row("a1", 1)+row("a3", 3)+"not json\n"+row("a5", 5)))
	b := write(t, dir, "b.jsonl", []byte(row("b2", 2)+row("b4", 4)+row("b0", 0)+row("b6", 6)))
	c := write(t, dir, "c.csv", []byte(csv.QUTHeader+"\n"+"c3,1,u,,,t,1609459380,\n")) // 00:03:00, ties a3
	res, s := readAll(t, []string{filepath.Join(dir, "*.jsonl"), c}, Options{})
	if !slices.Equal(s.Files(), []string{a, b, c}) || !slices.Equal(s.Detected(), []Format{TwitterV2, TwitterV2, QUT}) {
		t.Fatalf("files %v %v", s.Files(), s.Detected())
	}
	want := []string{"a1", "b2", "a3", "c3", "b4", "b0", "a5", "b6"}
	if got := res.ids(); !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
	if len(res.errs) != 1 || res.errs[0].File != a || res.errs[0].Line != 3 {
		t.Fatalf("errors %v", res.errs)
	}

	// Skipping the first rows of the merged stream resumes it exactly.
	for skip := range 10 {
		sk, _ := readAll(t, []string{filepath.Join(dir, "*.jsonl"), c}, Options{SkipRows: skip})
		all := len(res.rows) + len(res.errs)
		if got := len(sk.rows) + len(sk.errs); got != max(all-skip, 0) {
			t.Errorf("skip %d: %d results, want %d", skip, got, all-skip)
		}
	}
}

func TestStdin(t *testing.T) {
	in := gz(t, []byte(qutRows))
	res, s := readAll(t, []string{"-"}, Options{Stdin: bytes.NewReader(in)})
	if len(res.rows) != 2 || s.Detected()[0] != QUT {
		t.Fatalf("%+v %v", res, s.Detected())
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		paths []string
		opts  Options
		want  string
	}{
		{nil, Options{}, "no input"},
		{[]string{filepath.Join(dir, "*.jsonl")}, Options{}, "no file matches"},
		{[]string{filepath.Join(dir, "missing.csv")}, Options{}, "missing.csv"},
		{[]string{dir}, Options{}, "is a directory"},
		{[]string{"-", "-"}, Options{}, "given twice"},
		{[]string{"x"}, Options{Format: "xml"}, `format "xml"`},
		{[]string{write(t, dir, "h.csv", []byte("a,b\n"))}, Options{Format: CSV, CSV: csv.Options{Header: true, ID: "nope"}}, "h.csv"},
		{[]string{write(t, dir, "bad.gz", []byte{0x1f, 0x8b, 1, 2})}, Options{}, "bad.gz: gzip"},
	} {
		if _, err := Open(tc.paths, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v %+v: %v, want %q", tc.paths, tc.opts, err, tc.want)
		}
	}
}

func TestPaths(t *testing.T) {
	if got := Paths(" a.jsonl, b/*.gz ,,-"); !slices.Equal(got, []string{"a.jsonl", "b/*.gz", "-"}) {
		t.Fatal(got)
	}
}

// FuzzOpen: whatever the bytes (plain, or gzip of them), auto either refuses
// the file with an error naming it or reads it to the end without a panic,
// returning only valid tweets; row errors name the file.
func FuzzOpen(f *testing.F) {
	for _, p := range []string{filepath.Join(v2dir, "two_tweets.jsonl"), filepath.Join(v1dir, "statuses.jsonl")} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	f.Add([]byte(qutRows), true)
	f.Add([]byte(`{"id":"1","created_at":"Wed Oct 10 20:19:24 +0000 2018"}`), false)
	f.Add([]byte("\xef\xbb\xbf[{\"id\":1e3}]"), false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte, compress bool) {
		if compress {
			b = gz(t, b)
		}
		p := filepath.Join(dir, "in")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Open([]string{p}, Options{MaxLineBytes: 1 << 16, CSV: csv.Options{MaxLineBytes: 1 << 16}})
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		defer s.Close()
		err = csv.Drain(context.Background(), s, func(row csv.Row) {
			if err := row.Tweet.Validate(row.Tweet.ID); err != nil {
				t.Fatalf("invalid tweet: %v", err)
			}
		}, func(re *csv.RowError) {
			if re.File != p {
				t.Fatalf("row error names %q: %v", re.File, re)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
