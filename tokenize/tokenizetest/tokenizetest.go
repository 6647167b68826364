// Package tokenizetest reads the texts that the tests and benchmarks of tokenize,
// featurize and the scorer share: the tokenizer goldens (tokenize/testdata, written
// by scripts/tokenizer-goldens from Hugging Face's own tokenizers), which the scorer
// scores against reference models, and plain samples of one text a line such as
// scorer/testdata/tweets.txt.
package tokenizetest

import (
	"bufio"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"os"
	"testing"
)

// ReadJSONLinesGz decodes each line of a gzipped JSON-lines file into a new
// T, failing tb with the file and line of a line that does not decode.
func ReadJSONLinesGz[T any](tb testing.TB, path string) []T {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	var out []T
	sc := bufio.NewScanner(zr)
	// The goldens hold a 100 KB text and its ids on one line.
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	for line := 1; sc.Scan(); line++ {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			tb.Fatalf("%s:%d: %v", path, line, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return out
}

// Texts returns the texts of a goldens texts file (texts.jsonl.gz): each line
// is {"text": s}, or {"b64": ...} for a text that is not valid UTF-8 and so
// cannot be a JSON string.
func Texts(tb testing.TB, path string) []string {
	tb.Helper()
	rows := ReadJSONLinesGz[struct {
		Text *string `json:"text"`
		B64  string  `json:"b64"`
	}](tb, path)
	out := make([]string, len(rows))
	for i, r := range rows {
		if r.Text != nil {
			out[i] = *r.Text
			continue
		}
		b, err := base64.StdEncoding.DecodeString(r.B64)
		if err != nil {
			tb.Fatalf("%s:%d: %v", path, i+1, err)
		}
		out[i] = string(b)
	}
	return out
}

// Lines returns the lines of a plain text file of one text a line (such as
// scorer/testdata/tweets.txt, the benchmarks' 500 real tweets), failing tb
// when the file cannot be read or holds no line.
func Lines(tb testing.TB, path string) []string {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	if len(out) == 0 {
		tb.Fatalf("%s is empty", path)
	}
	return out
}
