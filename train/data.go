package train

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"unicode/utf8"
)

// Example is one labelled text.
type Example struct {
	Label int // index into the label list
	Text  string
}

// ReadTSV reads label<TAB>text lines (shared/data's format). An unknown label,
// a missing TAB or invalid UTF-8 is an error naming file:line; empty lines are
// skipped.
func ReadTSV(path string, labels []string) ([]Example, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseTSV(f, path, labels)
}

// ParseTSV is ReadTSV on a reader; name is used in errors.
func ParseTSV(r io.Reader, name string, labels []string) ([]Example, error) {
	var out []Example
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			continue
		}
		label, body, ok := strings.Cut(text, "\t")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want label<TAB>text, found no TAB", name, line)
		}
		li := slices.Index(labels, label)
		if li < 0 {
			return nil, fmt.Errorf("%s:%d: unknown label %q (want one of %s)", name, line, label, strings.Join(labels, ", "))
		}
		if !utf8.ValidString(body) {
			return nil, fmt.Errorf("%s:%d: text is not valid UTF-8", name, line)
		}
		out = append(out, Example{Label: li, Text: body})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	return out, nil
}
