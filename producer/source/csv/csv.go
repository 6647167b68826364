// Package csv reads tweets from a CSV file, one record per physical line, and
// reports every bad row with file:line and a reason.
//
// The default layout is sentiment140's: no header, six quoted columns
// target,id,date,query,user,text, dates like "Mon Apr 06 22:19:45 PDT 2009".
// The column mapping, header, encoding and timestamp format are configurable.
//
// Why not encoding/csv: it lets an unterminated quote run on into the next
// lines (swallowing valid rows after a bad one), it cannot bound the length
// of a line before buffering it, and it reports the line a record ended on,
// not always the one it started on. A tweet is one line, so this reader parses
// each line on its own with the same quoting rules (RFC 4180 with "" escapes;
// a fuzz test checks it against encoding/csv) and recovers at the next line.
package csv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source/lines"
)

// Encoding is how the bytes of a file are turned into text.
type Encoding string

const (
	// UTF8 rejects a line that is not valid UTF-8.
	UTF8 Encoding = "utf-8"
	// Latin1 reads every byte as one ISO-8859-1 character; it never fails.
	Latin1 Encoding = "latin-1"
	// Auto keeps a valid UTF-8 line as is and reads any other line as
	// latin-1: the full sentiment140 file mixes both.
	Auto Encoding = "auto"
)

// TimeFormat is how the timestamp column is written.
type TimeFormat string

const (
	// Sentiment140 is "Mon Apr 06 22:19:45 PDT 2009" (a US zone abbreviation or UTC/GMT).
	Sentiment140 TimeFormat = "sentiment140"
	// RFC3339 is "2009-04-06T22:19:45-07:00" (fractional seconds allowed).
	RFC3339 TimeFormat = "rfc3339"
	// Unix is seconds since the epoch, with an optional decimal fraction
	// ("1606451170.518101", as the QUT toolkit's CSVs have it).
	Unix TimeFormat = "unix"
	// UnixMilli is milliseconds since the epoch, with an optional fraction.
	UnixMilli TimeFormat = "unix_ms"
)

// Reason classifies a rejected row; summaries count rows by reason.
type Reason string

const (
	ReasonBrokenQuotes Reason = "broken_quotes"
	ReasonColumnCount  Reason = "column_count"
	ReasonBadTimestamp Reason = "bad_timestamp"
	ReasonEmptyText    Reason = "empty_text"
	ReasonEmptyID      Reason = "empty_id"
	ReasonInvalidUTF8  Reason = "invalid_utf8"
	ReasonLineTooLong  Reason = "line_too_long"
	// ReasonInvalidField: a field past event.Tweet's bounds (a 10 KB id).
	ReasonInvalidField Reason = "invalid_field"
	// ReasonClipped: list entries (urls) dropped by event.Tweet.Clip; the
	// tweet is kept and this error follows it.
	ReasonClipped Reason = "clipped_field"
)

// RowError is a rejected row. Reading continues with the next line.
type RowError struct {
	File   string
	Line   int
	Reason Reason
	Detail string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("%s:%d: %s: %s", e.File, e.Line, strings.ReplaceAll(string(e.Reason), "_", " "), e.Detail)
}

// Options configure a Reader. The zero value of a field means its default,
// so Options{} reads sentiment140.
type Options struct {
	// Header says the first line names the columns.
	Header bool
	// Columns is the number of columns every row must have; 0 takes the
	// header's count, or 6 without a header.
	Columns int
	// ID, Time, User and Text name the columns holding those fields: a
	// 0-based index ("1") or, with a header, a column name. Empty means the
	// sentiment140 column (1, 2, 4, 5). User may be "-" for none.
	ID, Time, User, Text string
	// UserID, RetweetOf, ReplyTo and URLs name the columns of those
	// optional fields (empty: none). URLs holds space-separated URLs.
	UserID, RetweetOf, ReplyTo, URLs string
	// Keep maps extra fields to keep in Tweet.Fields to their columns.
	Keep map[string]string
	// Encoding defaults to UTF8.
	Encoding Encoding
	// TimeFormat defaults to Sentiment140.
	TimeFormat TimeFormat
	// MaxLineBytes bounds a line (default 64 KiB); a longer one is rejected
	// without being buffered whole.
	MaxLineBytes int
	// SkipRows skips this many data rows (after the header) without parsing
	// them, to resume a replay.
	SkipRows int
}

// Row is one accepted tweet and the line it came from.
type Row struct {
	Line  int
	Tweet event.Tweet
}

// Reader reads rows from one file. It is not safe for concurrent use.
type Reader struct {
	name   string
	lr     *lines.Reader
	opts   Options
	line   int // the line of the last record read
	cols   int
	id     int
	ts     int
	user   int
	text   int
	keep   []keptColumn
	userID int // optional columns, -1 when absent
	rtOf   int
	reply  int
	urls   int
	queued *RowError // reported by the next Read (a clipped row's note)
	buf    []byte    // unescaped fields of the current record
	ends   []int     // end offset of each field in buf
	closer io.Closer
}

type keptColumn struct {
	name string
	col  int
}

// Open opens path and returns a Reader over it; Close closes the file.
func Open(path string, opts Options) (*Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("csv source: %w", err)
	}
	r, err := NewReader(f, path, opts)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.closer = f
	return r, nil
}

// NewReader reads CSV from rd; name is used in errors (file:line).
func NewReader(rd io.Reader, name string, opts Options) (*Reader, error) {
	if opts.Encoding == "" {
		opts.Encoding = UTF8
	}
	switch opts.Encoding {
	case UTF8, Latin1, Auto:
	default:
		return nil, fmt.Errorf("csv source %s: encoding %q is not one of utf-8, latin-1, auto", name, opts.Encoding)
	}
	if opts.TimeFormat == "" {
		opts.TimeFormat = Sentiment140
	}
	switch opts.TimeFormat {
	case Sentiment140, RFC3339, Unix, UnixMilli:
	default:
		return nil, fmt.Errorf("csv source %s: time format %q is not one of sentiment140, rfc3339, unix, unix_ms", name, opts.TimeFormat)
	}
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 64 << 10
	}
	r := &Reader{name: name, lr: lines.New(rd, name, opts.MaxLineBytes), opts: opts}
	var header []string
	if opts.Header {
		h, err := r.readHeader()
		if err != nil {
			return nil, err
		}
		header = h
	}
	r.cols = opts.Columns
	if r.cols == 0 {
		r.cols = 6
		if header != nil {
			r.cols = len(header)
		}
	}
	var err error
	resolve := func(field, ref, def string) int {
		if err != nil {
			return -1
		}
		if ref == "" {
			ref = def
		}
		var c int
		c, err = resolveColumn(field, ref, header, r.cols)
		return c
	}
	r.id = resolve("id", opts.ID, "1")
	r.ts = resolve("timestamp", opts.Time, "2")
	r.text = resolve("text", opts.Text, "5")
	if opts.User == "-" {
		r.user = -1
	} else {
		r.user = resolve("user", opts.User, "4")
	}
	optional := func(field, ref string) int {
		if ref == "" {
			return -1
		}
		return resolve(field, ref, "")
	}
	r.userID = optional("user id", opts.UserID)
	r.rtOf = optional("retweet of", opts.RetweetOf)
	r.reply = optional("reply to", opts.ReplyTo)
	r.urls = optional("urls", opts.URLs)
	for name, ref := range opts.Keep {
		r.keep = append(r.keep, keptColumn{name, resolve("kept field "+name, ref, "")})
	}
	if err != nil {
		return nil, fmt.Errorf("csv source %s: %w", name, err)
	}
	for i := 0; i < opts.SkipRows; i++ {
		if _, err := r.nextLine(); err != nil {
			if err == io.EOF {
				break
			}
			var re *RowError
			if !errors.As(err, &re) {
				return nil, err
			}
		}
	}
	return r, nil
}

func resolveColumn(field, ref string, header []string, cols int) (int, error) {
	if n, err := strconv.Atoi(ref); err == nil {
		if n < 0 || n >= cols {
			return -1, fmt.Errorf("%s column %d is outside the %d columns (0-based)", field, n, cols)
		}
		return n, nil
	}
	for i, h := range header {
		if h == ref {
			return i, nil
		}
	}
	if header == nil {
		return -1, fmt.Errorf("%s column %q: names need a header; use a 0-based index", field, ref)
	}
	return -1, fmt.Errorf("%s column %q is not in the header %q", field, ref, header)
}

func (r *Reader) readHeader() ([]string, error) {
	line, err := r.nextLine()
	if err == io.EOF {
		return nil, fmt.Errorf("csv source %s: empty file, expected a header", r.name)
	}
	if err != nil {
		return nil, fmt.Errorf("csv source header: %w", err)
	}
	if err := r.split(line); err != nil {
		return nil, fmt.Errorf("csv source header: %w", err)
	}
	h := make([]string, len(r.ends))
	for i := range h {
		h[i] = strings.TrimSpace(string(r.field(i)))
	}
	return h, nil
}

// Close closes the file opened by Open.
func (r *Reader) Close() error {
	if r.closer == nil {
		return nil
	}
	return r.closer.Close()
}

// Name is the file name used in errors.
func (r *Reader) Name() string { return r.name }

// Read returns the next row, io.EOF at the end, or a *RowError for a bad
// row (the next Read continues with the following line). Other errors are
// I/O errors and end the read.
func (r *Reader) Read(ctx context.Context) (Row, error) {
	if q := r.queued; q != nil {
		r.queued = nil
		return Row{}, q
	}
	if r.line&1023 == 0 {
		if err := ctx.Err(); err != nil {
			return Row{}, err
		}
	}
	line, err := r.nextLine()
	if err != nil {
		return Row{}, err
	}
	return r.parse(line)
}

// nextLine returns the next non-blank line without its line ending. The
// returned slice is valid until the next call.
func (r *Reader) nextLine() ([]byte, error) {
	line, err := r.lr.Next()
	r.line = r.lr.Line()
	if err == nil {
		return line, nil // errors.As below would allocate on every line
	}
	var tl *lines.TooLongError
	if errors.As(err, &tl) {
		return nil, r.rowErr(ReasonLineTooLong, "line is %d bytes or more; the limit is %d", tl.Bytes, tl.Max)
	}
	return line, err
}

func (r *Reader) rowErr(reason Reason, format string, a ...any) *RowError {
	return &RowError{File: r.name, Line: r.line, Reason: reason, Detail: fmt.Sprintf(format, a...)}
}

// split parses one line into r.buf/r.ends with RFC 4180 quoting.
func (r *Reader) split(line []byte) error {
	r.buf = r.buf[:0]
	r.ends = r.ends[:0]
	pos := 0
	for {
		if pos < len(line) && line[pos] == '"' {
			pos++
			for {
				i := bytes.IndexByte(line[pos:], '"')
				if i < 0 {
					return r.rowErr(ReasonBrokenQuotes, "column %d: quoted field is not closed before the end of the line", len(r.ends)+1)
				}
				r.buf = append(r.buf, line[pos:pos+i]...)
				pos += i + 1
				if pos < len(line) && line[pos] == '"' { // "" is an escaped quote
					r.buf = append(r.buf, '"')
					pos++
					continue
				}
				break
			}
			r.ends = append(r.ends, len(r.buf))
			if pos == len(line) {
				return nil
			}
			if line[pos] != ',' {
				return r.rowErr(ReasonBrokenQuotes, "column %d: unexpected %q after the closing quote at byte %d", len(r.ends), line[pos], pos+1)
			}
			pos++
			continue
		}
		i := bytes.IndexByte(line[pos:], ',')
		end := pos + i
		if i < 0 {
			end = len(line)
		}
		if q := bytes.IndexByte(line[pos:end], '"'); q >= 0 {
			return r.rowErr(ReasonBrokenQuotes, "column %d: bare quote in an unquoted field at byte %d", len(r.ends)+1, pos+q+1)
		}
		r.buf = append(r.buf, line[pos:end]...)
		r.ends = append(r.ends, len(r.buf))
		if i < 0 {
			return nil
		}
		pos = end + 1
	}
}

func (r *Reader) field(i int) []byte {
	start := 0
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.buf[start:r.ends[i]]
}

func (r *Reader) parse(line []byte) (Row, error) {
	switch r.opts.Encoding {
	case UTF8:
		if !utf8.Valid(line) {
			return Row{}, r.rowErr(ReasonInvalidUTF8, "invalid UTF-8 at byte %d (use --encoding latin-1 or auto for such files)", invalidAt(line)+1)
		}
	case Auto:
		if !utf8.Valid(line) {
			line = latin1ToUTF8(line)
		}
	case Latin1:
		line = latin1ToUTF8(line)
	}
	if err := r.split(line); err != nil {
		return Row{}, err
	}
	if len(r.ends) != r.cols {
		return Row{}, r.rowErr(ReasonColumnCount, "%d columns, want %d", len(r.ends), r.cols)
	}
	// One string for the whole record; fields are slices of it.
	all := string(r.buf)
	str := func(i int) string {
		start := 0
		if i > 0 {
			start = r.ends[i-1]
		}
		return all[start:r.ends[i]]
	}
	t := event.Tweet{ID: strings.TrimSpace(str(r.id)), Text: str(r.text)}
	if t.ID == "" {
		return Row{}, r.rowErr(ReasonEmptyID, "column %d (id) is empty", r.id)
	}
	if strings.TrimSpace(t.Text) == "" {
		return Row{}, r.rowErr(ReasonEmptyText, "column %d (text) is empty", r.text)
	}
	ts, err := parseTime(r.opts.TimeFormat, str(r.ts))
	if err != nil {
		return Row{}, r.rowErr(ReasonBadTimestamp, "column %d: %v", r.ts, err)
	}
	t.CreatedAt = ts
	if r.user >= 0 {
		t.User = str(r.user)
	}
	if len(r.keep) > 0 {
		t.Fields = make(map[string]string, len(r.keep))
		for _, k := range r.keep {
			t.Fields[k.name] = str(k.col)
		}
	}
	opt := func(col int) string {
		if col < 0 {
			return ""
		}
		return strings.TrimSpace(str(col))
	}
	t.UserID, t.RetweetOf, t.ReplyTo = opt(r.userID), opt(r.rtOf), opt(r.reply)
	if r.urls >= 0 {
		// strings.Fields, not a split on " ": an empty column is no URL
		// (the QUT toolkit's split makes it one empty URL).
		t.URLs = strings.Fields(str(r.urls))
	}
	if n := t.Clip(); n > 0 {
		r.queued = r.rowErr(ReasonClipped, "tweet %s: %d url entries too long or past %d, dropped", t.ID, n, event.MaxListLen)
	}
	if err := t.Validate(t.ID); err != nil {
		r.queued = nil
		var fe *event.FieldError
		if errors.As(err, &fe) {
			return Row{}, r.rowErr(ReasonInvalidField, "%s: %s", strings.TrimPrefix(fe.Field, "data."), fe.Reason)
		}
		return Row{}, r.rowErr(ReasonInvalidField, "%v", err)
	}
	return Row{Line: r.line, Tweet: t}, nil
}

func invalidAt(b []byte) int {
	for i := 0; i < len(b); {
		c, n := utf8.DecodeRune(b[i:])
		if c == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return -1
}

func latin1ToUTF8(b []byte) []byte {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return b
	}
	out := make([]byte, 0, len(b)+len(b)/4)
	for _, c := range b {
		out = utf8.AppendRune(out, rune(c))
	}
	return out
}

// usZones are the abbreviations sentiment140-style dates carry. time.Parse
// would give an unknown abbreviation (PDT, when not in the local zone) a
// zero offset, silently shifting every tweet by hours, so offsets are explicit.
var usZones = map[string]int{
	"UTC": 0, "GMT": 0, "Z": 0,
	"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
	"AKST": -9, "AKDT": -8, "HST": -10,
}

const sentiment140Layout = "Mon Jan 02 15:04:05 2006"

func parseTime(f TimeFormat, s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty timestamp")
	}
	switch f {
	case Sentiment140:
		if t, ok := parseSentiment140Fast(s); ok {
			return t, nil
		}
		// "Mon Apr 06 22:19:45 PDT 2009": the zone is the 5th word.
		parts := strings.Fields(s)
		if len(parts) != 6 {
			return time.Time{}, fmt.Errorf("%q is not like \"Mon Apr 06 22:19:45 PDT 2009\"", s)
		}
		off, ok := usZones[parts[4]]
		if !ok {
			return time.Time{}, fmt.Errorf("%q: unknown time zone %q", s, parts[4])
		}
		t, err := time.Parse(sentiment140Layout, parts[0]+" "+parts[1]+" "+parts[2]+" "+parts[3]+" "+parts[5])
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not like \"Mon Apr 06 22:19:45 PDT 2009\"", s)
		}
		return t.Add(-time.Duration(off) * time.Hour).UTC(), nil
	case RFC3339:
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("%q is not RFC 3339", s)
		}
		return t.UTC(), nil
	case Unix:
		return parseEpoch(s, 1, "seconds")
	case UnixMilli:
		return parseEpoch(s, 1000, "milliseconds")
	}
	return time.Time{}, fmt.Errorf("unknown time format %q", f)
}

// parseEpoch parses a decimal count of units since the epoch ("1606451170",
// "1606451170.518101", "-1.5"), perUnit units a second. The whole and the
// fractional part are parsed apart: a float64 holds about 16 digits, so
// ParseFloat would blur the microseconds of a 2020 timestamp.
func parseEpoch(s string, perUnit int64, unit string) (time.Time, error) {
	body, neg := s, false
	if len(body) > 0 && (body[0] == '-' || body[0] == '+') {
		body, neg = body[1:], body[0] == '-'
	}
	whole, frac, _ := strings.Cut(body, ".")
	if whole == "" && frac == "" || !digits(whole) || !digits(frac) {
		return time.Time{}, fmt.Errorf("%q is not a number of %s (digits, an optional fraction after '.')", s, unit)
	}
	n := int64(0)
	if whole != "" {
		var err error
		if n, err = strconv.ParseInt(whole, 10, 64); err != nil || n > 1e11*perUnit {
			return time.Time{}, fmt.Errorf("%s %s is out of range", s, unit)
		}
	}
	// The fraction in nanoseconds; digits past a nanosecond are dropped.
	var nanos int64
	scale := int64(1e9) / perUnit
	for i := 0; i < len(frac) && scale >= 10; i++ {
		scale /= 10
		nanos += int64(frac[i]-'0') * scale
	}
	sec, nsec := n/perUnit, (n%perUnit)*(1e9/perUnit)+nanos
	if neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec).UTC(), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

var months = map[string]time.Month{
	"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}

var weekdays = map[string]bool{"Mon": true, "Tue": true, "Wed": true, "Thu": true, "Fri": true, "Sat": true, "Sun": true}

// parseSentiment140Fast parses the exact fixed-width form
// "Mon Apr 06 22:19:45 PDT 2009" (a third of the reader's time went to
// time.Parse). Anything else, valid or not, falls back to the general path.
func parseSentiment140Fast(s string) (time.Time, bool) {
	// 0123456789012345678901234567
	// Mon Apr 06 22:19:45 PDT 2009
	if len(s) != 28 || s[3] != ' ' || s[7] != ' ' || s[10] != ' ' || s[13] != ':' || s[16] != ':' || s[19] != ' ' || s[23] != ' ' {
		return time.Time{}, false
	}
	if !weekdays[s[0:3]] {
		return time.Time{}, false
	}
	month, ok := months[s[4:7]]
	if !ok {
		return time.Time{}, false
	}
	off, ok := usZones[s[20:23]]
	if !ok {
		return time.Time{}, false
	}
	num := func(a, b int) int {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	day, hh, mm, ss, year := num(8, 10), num(11, 13), num(14, 16), num(17, 19), num(24, 28)
	if day < 1 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 59 || year < 0 {
		return time.Time{}, false
	}
	// time.Date normalises Apr 31 to May 1; reject it like time.Parse does.
	if day > time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day() {
		return time.Time{}, false
	}
	return time.Date(year, month, day, hh, mm, ss, 0, time.FixedZone("", off*3600)).UTC(), true
}
