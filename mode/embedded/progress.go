package embedded

import (
	"bytes"
	"io"
	"os"
	"strings"

	"github.com/tweetflow/tweetflow/producer/source"
)

// ExpectedRows is how many rows a run of cfg will read, for a progress
// bar: known only for one plain CSV file, whose lines are its rows (a
// twarc2 line holds a whole page; a glob, several files or stdin are not
// counted ahead), after the start row and the header, capped by the limit.
// -1 when unknown.
func ExpectedRows(cfg Config) int64 {
	plainCSV := cfg.Format == source.Sentiment140 || cfg.Format == source.CSV || cfg.Format == source.QUT ||
		((cfg.Format == "" || cfg.Format == source.Auto) && strings.HasSuffix(cfg.Data, ".csv"))
	if !plainCSV || len(source.Paths(cfg.Data)) != 1 || strings.ContainsAny(cfg.Data, "*?[") || cfg.Data == source.Stdin {
		return -1
	}
	n, err := countLines(cfg.Data)
	if err != nil {
		return -1
	}
	total := n - int64(max(cfg.StartRow, 1)-1)
	if cfg.CSV.Header {
		total--
	}
	if cfg.Producer.Limit > 0 {
		total = min(total, cfg.Producer.Limit)
	}
	return max(total, 0)
}

// countLines counts the lines of a file (a last line without a newline
// counts too) with one fast scan.
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	var n int64
	var last byte = '\n'
	for {
		k, err := f.Read(buf)
		if k > 0 {
			n += int64(bytes.Count(buf[:k], []byte{'\n'}))
			last = buf[k-1]
		}
		if err == io.EOF {
			if last != '\n' {
				n++
			}
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}
