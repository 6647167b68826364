// Package tokenizetest reads the tokenizer goldens (tokenize/testdata, written by
// scripts/tokenizer-goldens from Hugging Face's own tokenizers) for the tests of
// tokenize and of the scorer, which scores the same texts against reference models.
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
