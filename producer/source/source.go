// Package source opens the tweet data a replay reads, whatever its shape:
// it expands globs, reads "-" as standard input, decompresses gzip and zstd
// (told by their magic bytes, never by the name), decides the format from
// the content when asked to (auto), and merges several files into one
// stream in event-time order. Every mode (tweetflow run, produce) opens its
// data here, so they read the same rows from the same files.
//
// The readers themselves (one file, bytes to rows, file:line errors) are
// producer/source/csv and producer/source/twitter.
package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/internal/commalist"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/producer/source/lines"
	"github.com/tweetflow/tweetflow/producer/source/twitter"
)

// Format names a layout of tweet data.
type Format string

const (
	// Auto decides per file from its first bytes: JSON (the first
	// non-blank byte is '{' or '[') is Twitter API v2 or v1.1 by the first
	// object's keys; a CSV whose header is the QUT toolkit's is QUT; any
	// other CSV is read with Options.CSV (sentiment140 by default).
	Auto         Format = "auto"
	Sentiment140 Format = "sentiment140" // csv's default layout; Options.CSV's encoding, time format and kept columns apply
	CSV          Format = "csv"          // Options.CSV as given
	TwitterV2    Format = "twitter-v2"   // twarc2 response pages or flattened tweets
	TwitterV1    Format = "twitter-v1"   // v1.1 statuses, one a line
	QUT          Format = "qut"          // the QUT coordination-network-toolkit's CSV
)

// Formats lists the formats, for flag help and errors.
func Formats() []Format { return []Format{Auto, Sentiment140, CSV, TwitterV2, TwitterV1, QUT} }

// Stdin is the path that reads standard input.
const Stdin = "-"

// Options configure Open. The zero value reads auto.
type Options struct {
	// Format defaults to Auto.
	Format Format
	// CSV configures the CSV and sentiment140 formats (and, in QUT, the
	// encoding). Its SkipRows is ignored: use SkipRows.
	CSV csv.Options
	// MaxLineBytes bounds a JSON line (0: the twitter reader's 8 MiB).
	MaxLineBytes int
	// SkipRows skips this many rows of the merged stream, counting every
	// Read result (a tweet or a row error) as one, so that
	// producer.NextStartRow resumes any format and any number of files.
	SkipRows int
	// Stdin is read for the path "-" (default os.Stdin).
	Stdin io.Reader
}

// Reader is one file's rows: io.EOF at the end, a *csv.RowError for a bad
// row (the next Read goes on), any other error ends that file.
type Reader interface {
	Read(ctx context.Context) (csv.Row, error)
}

// ReasonRead: a file's stream failed (a gzip file cut short, a read error):
// its rows before the failure were returned, the rest of it is lost, and
// the other files go on.
const ReasonRead csv.Reason = "read_error"

// Source is the merged rows of every file Open opened. It is not safe for
// concurrent use.
type Source struct {
	Reader
	files   []string
	formats []Format
	closers []io.Closer
}

// Detected is each file's format (as given, or as auto decided).
func (s *Source) Detected() []Format { return s.formats }

// Files are the files being read, after glob expansion, in the order their
// ties are broken ("-" for standard input).
func (s *Source) Files() []string { return s.files }

// Close closes every file.
func (s *Source) Close() error {
	var errs []error
	for _, c := range s.closers {
		errs = append(errs, c.Close())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Paths splits a --data value: comma-separated paths or globs.
func Paths(data string) []string {
	return commalist.Split(data)
}

// Open opens paths (files, globs, "-") and returns their rows as one
// Source: one file as it is, several merged in event-time order.
func Open(paths []string, opts Options) (*Source, error) {
	if opts.Format == "" {
		opts.Format = Auto
	}
	if !validFormat(opts.Format) {
		return nil, fmt.Errorf("source: format %q is not one of %v", opts.Format, Formats())
	}
	files, err := expand(paths)
	if err != nil {
		return nil, err
	}
	s := &Source{files: files}
	readers := make([]Reader, 0, len(files))
	for _, name := range files {
		r, f, closer, err := openOne(name, opts)
		if closer != nil {
			s.closers = append(s.closers, closer)
		}
		if err != nil {
			s.Close()
			return nil, err
		}
		s.formats = append(s.formats, f)
		readers = append(readers, &readErrors{r: r, name: name})
	}
	if len(readers) == 1 {
		s.Reader = readers[0]
	} else {
		s.Reader = newMerge(readers)
	}
	if opts.SkipRows > 0 {
		s.Reader = &skipper{r: s.Reader, n: opts.SkipRows}
	}
	return s, nil
}

// ReadTweets opens paths as Open does and returns the good rows' tweets, in
// order (csv.Tweets: row errors skipped), closing the files before it returns.
func ReadTweets(ctx context.Context, paths []string, opts Options) ([]event.Tweet, error) {
	src, err := Open(paths, opts)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return csv.Tweets(ctx, src)
}

func validFormat(f Format) bool {
	for _, g := range Formats() {
		if f == g {
			return true
		}
	}
	return false
}

// expand resolves globs; a pattern must match something, "-" at most once.
func expand(paths []string) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("source: no input (give a file, a glob or - for standard input)")
	}
	var files []string
	stdin := false
	for _, p := range paths {
		if p == Stdin {
			if stdin {
				return nil, errors.New("source: - (standard input) given twice")
			}
			stdin = true
			files = append(files, p)
			continue
		}
		if !strings.ContainsAny(p, "*?[") {
			files = append(files, p)
			continue
		}
		m, err := filepath.Glob(p)
		if err != nil {
			return nil, fmt.Errorf("source: glob %q: %w", p, err)
		}
		if len(m) == 0 {
			return nil, fmt.Errorf("source: no file matches %q", p)
		}
		files = append(files, m...) // sorted by filepath.Glob
	}
	return files, nil
}

// openOne opens one file: decompressed, its format decided, its reader
// made. The closer, when not nil, must be closed even on error.
func openOne(name string, opts Options) (Reader, Format, io.Closer, error) {
	var raw io.Reader
	var closer io.Closer
	if name == Stdin {
		raw = opts.Stdin
		if raw == nil {
			raw = os.Stdin
		}
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, "", nil, fmt.Errorf("source: %w", err)
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, "", nil, fmt.Errorf("source: %s is a directory (use a glob such as %s)", name, filepath.Join(name, "*.jsonl"))
		}
		raw, closer = f, f
	}
	rd, dcloser, err := decompress(raw, name)
	if dcloser != nil {
		closer = closers{dcloser, closer}
	}
	if err != nil {
		return nil, "", closer, err
	}
	format := opts.Format
	if format == Auto {
		// The readers' own bufio.NewReaderSize reuses this buffer.
		br := bufio.NewReaderSize(rd, sniffBytes)
		if format, err = detect(br, name); err != nil {
			return nil, format, closer, err
		}
		rd = br
	}
	c := opts.CSV
	c.SkipRows = 0
	switch format {
	case TwitterV2:
		return twitter.NewReader(rd, name, twitter.Options{MaxLineBytes: opts.MaxLineBytes}), format, closer, nil
	case TwitterV1:
		return twitter.NewV1Reader(rd, name, twitter.Options{MaxLineBytes: opts.MaxLineBytes}), format, closer, nil
	case QUT:
		q := csv.QUT()
		q.Encoding, q.MaxLineBytes = c.Encoding, c.MaxLineBytes
		c = q
	case Sentiment140:
		c = csv.Options{Encoding: c.Encoding, TimeFormat: c.TimeFormat, Keep: c.Keep, MaxLineBytes: c.MaxLineBytes}
	}
	r, err := csv.NewReader(rd, name, c)
	if err != nil {
		return nil, format, closer, fmt.Errorf("source %s (%s): %w", name, format, err)
	}
	return r, format, closer, nil
}

type closers []io.Closer

func (cs closers) Close() error {
	var errs []error
	for _, c := range cs {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

// readErrors turns a file's stream error into a row error of that file, so
// a cut-off gzip file ends that file only (counted as read_error, or the
// replay stops under --on-error stop); the file then reads as ended.
// Context errors still end the read.
type readErrors struct {
	r    Reader
	name string
	done bool
}

func (e *readErrors) Read(ctx context.Context) (csv.Row, error) {
	if e.done {
		return csv.Row{}, io.EOF
	}
	row, err := e.r.Read(ctx)
	if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil {
		return row, err
	}
	var re *csv.RowError
	if errors.As(err, &re) {
		return row, err
	}
	e.done = true
	out := &csv.RowError{File: e.name, Reason: ReasonRead, Detail: err.Error()}
	var le *lines.ReadError
	if errors.As(err, &le) {
		out.Line, out.Detail = le.Line, le.Err.Error()+"; the rest of the file is not read"
	}
	return csv.Row{}, out
}

// skipper drops the first n results (rows and row errors alike).
type skipper struct {
	r Reader
	n int
}

func (s *skipper) Read(ctx context.Context) (csv.Row, error) {
	for s.n > 0 {
		_, err := s.r.Read(ctx)
		var re *csv.RowError
		if err != nil && !errors.As(err, &re) {
			return csv.Row{}, err
		}
		s.n--
	}
	return s.r.Read(ctx)
}
