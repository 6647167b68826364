// Package lines splits a file into lines for the line-oriented readers (one
// CSV record or one JSON document a line), with a bound on a line's length
// that holds before the line is buffered whole, and line numbers for
// file:line errors.
package lines

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
)

// TooLongError is a line past the bound. Its bytes were skipped, not kept;
// the next Next goes on with the following line.
type TooLongError struct {
	Line  int
	Bytes int // the line's length as far as it was read: at least this
	Max   int
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("line %d is %d bytes or more; the limit is %d", e.Line, e.Bytes, e.Max)
}

// ReadError is a failure of the stream under the lines (a gzip file cut
// short, a disk error), at the line being read; reading ends there.
type ReadError struct {
	File string
	Line int
	Err  error
}

func (e *ReadError) Error() string { return fmt.Sprintf("%s:%d: read: %v", e.File, e.Line, e.Err) }
func (e *ReadError) Unwrap() error { return e.Err }

// maxBuffer is the largest read buffer: a longer line (within the bound) is
// gathered into a slice of its own, so a bound of many MB costs memory only
// when such a line comes. 1 MiB holds a twarc2 response page of 100 tweets
// with its includes (0.4-1 MB), which a smaller buffer copied a second time.
const maxBuffer = 1 << 20

// Reader returns the lines of a stream. It is not safe for concurrent use.
type Reader struct {
	name string
	br   *bufio.Reader
	max  int
	line int
	eof  bool
	long []byte // a line longer than br's buffer
}

// New reads lines of at most limit bytes (without the line ending; a limit
// under 16 is 16) from rd; name is used in I/O errors.
func New(rd io.Reader, name string, limit int) *Reader {
	limit = max(limit, 16)
	return &Reader{name: name, br: bufio.NewReaderSize(rd, min(limit+2, maxBuffer)), max: limit}
}

// Line is the number of the line Next last returned (1-based, counting
// blank lines).
func (r *Reader) Line() int { return r.line }

// Next returns the next line that is not blank, without its line ending
// ("\n" or "\r\n") and, on line 1, without a UTF-8 byte order mark. The
// slice is valid until the next call. At the end it returns io.EOF; a line
// past the bound is a *TooLongError; other errors are I/O errors naming
// as *ReadError (a gzip stream cut short, say), after which reading ends.
func (r *Reader) Next() ([]byte, error) {
	for {
		if r.eof {
			return nil, io.EOF
		}
		line, err := r.br.ReadSlice('\n')
		r.line++
		n := len(line)
		if err == bufio.ErrBufferFull {
			// Gather up to the bound (plus a line ending); past it the rest
			// is counted and skipped, never buffered.
			r.long = append(r.long[:0], line...)
			for err == bufio.ErrBufferFull {
				line, err = r.br.ReadSlice('\n')
				n += len(line)
				if len(r.long) <= r.max+2 {
					r.long = append(r.long, line...)
				}
			}
			line = r.long
		}
		switch {
		case err == io.EOF:
			r.eof = true
			if n == 0 {
				return nil, io.EOF
			}
		case err != nil:
			return nil, &ReadError{File: r.name, Line: r.line, Err: err}
		}
		if n > len(line) {
			return nil, &TooLongError{Line: r.line, Bytes: n, Max: r.max}
		}
		line = bytes.TrimSuffix(line, []byte{'\n'})
		line = bytes.TrimSuffix(line, []byte{'\r'})
		if r.line == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(line) > r.max {
			return nil, &TooLongError{Line: r.line, Bytes: n, Max: r.max}
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return line, nil
	}
}
