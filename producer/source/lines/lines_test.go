package lines

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type got struct {
	line int
	text string
	long int // TooLongError's line, or 0
}

func readAll(t *testing.T, r *Reader) ([]got, error) {
	t.Helper()
	var out []got
	for {
		b, err := r.Next()
		var tl *TooLongError
		switch {
		case errors.Is(err, io.EOF):
			return out, nil
		case errors.As(err, &tl):
			if tl.Line != r.Line() || tl.Bytes <= tl.Max {
				t.Fatalf("%+v at line %d", tl, r.Line())
			}
			out = append(out, got{line: r.Line(), long: tl.Line})
		case err != nil:
			return out, err
		default:
			out = append(out, got{line: r.Line(), text: string(b)})
		}
	}
}

func TestLines(t *testing.T) {
	in := "\xef\xbb\xbfone\r\n\n  \r\ntwo \n" + strings.Repeat("x", 40) + "\n" + strings.Repeat("y", 20) + "\r\nlast"
	for _, bufLimit := range []int{20, 100} {
		r := New(strings.NewReader(in), "f", bufLimit)
		out, err := readAll(t, r)
		if err != nil {
			t.Fatal(err)
		}
		want := []got{{1, "one", 0}, {4, "two ", 0}, {5, "", 5}, {6, strings.Repeat("y", 20), 0}, {7, "last", 0}}
		if bufLimit == 100 {
			want[2] = got{5, strings.Repeat("x", 40), 0}
		}
		if len(out) != len(want) {
			t.Fatalf("limit %d: %+v", bufLimit, out)
		}
		for i := range want {
			if out[i] != want[i] {
				t.Errorf("limit %d: line %d: %+v, want %+v", bufLimit, i, out[i], want[i])
			}
		}
	}
}

// Lines longer than the read buffer but within the bound come back whole;
// past the bound they are skipped without being kept.
func TestLongLines(t *testing.T) {
	big := strings.Repeat("a", 3*maxBuffer)
	in := "s\n" + big + "\n" + big + "b\nend\n"
	r := New(strings.NewReader(in), "f", len(big))
	out, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 4 || out[1].text != big || out[2].long != 3 || out[3].text != "end" {
		t.Fatalf("%d lines, line 2 %d bytes, line 3 %+v", len(out), len(out[1].text), out[2].long)
	}
	if cap(r.long) > len(big)+2*maxBuffer+2 {
		t.Errorf("kept %d bytes for a %d-byte bound", cap(r.long), len(big))
	}
}

func TestIOError(t *testing.T) {
	r := New(io.MultiReader(strings.NewReader("a\nb"), iotest.ErrReader(io.ErrUnexpectedEOF)), "f.gz", 64)
	out, err := readAll(t, r)
	if len(out) != 1 || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "f.gz:2: read") {
		t.Fatalf("%+v %v", out, err)
	}
}

// FuzzLines: the lines returned, with the blank ones, rebuild the input.
func FuzzLines(f *testing.F) {
	f.Add([]byte("a\r\nb\n\n c"), 16)
	f.Fuzz(func(t *testing.T, b []byte, limit int) {
		limit = 16 + int(uint(limit)%64)
		r := New(bytes.NewReader(b), "f", limit)
		src := bytes.Split(b, []byte("\n"))
		for {
			line, err := r.Next()
			if errors.Is(err, io.EOF) {
				return
			}
			var tl *TooLongError
			if errors.As(err, &tl) {
				if n := len(bytes.TrimSuffix(src[tl.Line-1], []byte("\r"))); n <= limit && !(tl.Line == 1 && bytes.HasPrefix(src[0], []byte("\xef\xbb\xbf"))) {
					t.Fatalf("line %d of %d bytes called too long (limit %d)", tl.Line, n, limit)
				}
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			want := bytes.TrimSuffix(src[r.Line()-1], []byte("\r"))
			if r.Line() == 1 {
				want = bytes.TrimPrefix(want, []byte("\xef\xbb\xbf"))
			}
			if !bytes.Equal(line, want) || len(line) > limit {
				t.Fatalf("line %d: %q, want %q", r.Line(), line, want)
			}
		}
	})
}
