// Package export writes what a tweetflow store holds back out, for analysts
// (pandas, R) and for other tools: JSON lines, CSV or Parquet with the
// tweet's fields and each model's result, or the CSV layout of the QUT
// coordination-network toolkit, so the toolkit reads an export like its own
// input.
package export

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
)

// Format is an export layout.
type Format string

const (
	// JSONL: one JSON object per tweet. Keys, in this order: id, user_id,
	// user, created_at (RFC 3339, UTC), text, lang, retweet_of, quote_of,
	// reply_to, conversation_id (null when absent), hashtags, urls,
	// mentions (arrays, [] when none; hashtags without '#', mentions
	// without '@'), then <model>_value and <model>_label for every model
	// the store has (null when the tweet has no result of that model).
	JSONL Format = "jsonl"
	// QUT: the toolkit's CSV, header
	// message_id,user_id,username,repost_id,reply_id,message,timestamp,urls;
	// timestamp in Unix seconds with the store's millisecond fraction, urls
	// space-separated. Model results are not part of the layout.
	QUT Format = "qut"
	// CSV: a header row, then one row per tweet with the JSONL keys as
	// columns, in the same order. Quoting follows RFC 4180 (a field with a
	// comma, a double quote or a line break is quoted, quotes doubled);
	// records end with LF. An absent value is an empty field; created_at is
	// RFC 3339 (UTC); hashtags, urls and mentions are each one field with
	// the items joined by a single space (no item contains one: hashtags and
	// handles are word characters, and a URL has its spaces percent-encoded,
	// RFC 3986), so pandas' str.split() gives the list back.
	CSV Format = "csv"
	// Parquet: one row per tweet, the JSONL keys as columns in the same
	// order; created_at a TIMESTAMP(MILLIS, UTC); hashtags, urls and
	// mentions LIST<STRING> (empty, never null); the other strings and the
	// model columns optional (null when absent); <model>_value a DOUBLE.
	// Snappy-compressed, row groups of Options.RowGroupRows tweets, so memory is
	// bounded by a row group, not by the store.
	Parquet Format = "parquet"
)

// Formats lists the formats Write accepts.
func Formats() []Format { return []Format{JSONL, CSV, Parquet, QUT} }

// ParseFormat returns the Format named s, or an error listing the formats.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown export format %q (want %s)", s, formatList())
}

func formatList() string {
	var names []string
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names, ", ")
}

// Options select what Write exports.
type Options struct {
	Format Format
	// From and To bound the tweets' own time, half-open [From, To); zero
	// leaves that side open.
	From, To time.Time
	// Progress, when set, is called with the number of tweets written so
	// far, every progressEvery tweets and once at the end (a progress bar).
	Progress func(written int64)
	// RowGroupRows is the Parquet row group size in tweets (0: the
	// default RowGroupRows).
	RowGroupRows int
}

// progressEvery is how often Write reports progress: often enough for a
// bar to move smoothly, rarely enough to cost nothing per tweet.
const progressEvery = 1000

// Store is what Write reads: the store's models and its tweets in time
// order. The SQLite store is one; esstore reads an Elasticsearch index.
type Store interface {
	StoredModels(ctx context.Context) ([]string, error)
	Tweets(ctx context.Context, from, to time.Time) iter.Seq2[sqlite.Tweet, error]
}

// Write streams every tweet of st in o's range to w in o.Format and returns
// how many it wrote. Tweets are written as they are read, so memory does not
// grow with the store.
func Write(ctx context.Context, w io.Writer, st Store, o Options) (int64, error) {
	var enc encoder
	var models []string
	if o.Format != QUT {
		var err error
		if models, err = st.StoredModels(ctx); err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
	}
	switch o.Format {
	case JSONL:
		enc = &jsonlEncoder{w: w, models: models}
	case CSV:
		enc = newCSVEncoder(w, models)
	case Parquet:
		enc = newParquetEncoder(w, models, o.RowGroupRows)
	case QUT:
		enc = newQUTEncoder(w)
	default:
		return 0, fmt.Errorf("export: unknown format %q (want %s)", o.Format, formatList())
	}
	if err := enc.begin(); err != nil {
		return 0, fmt.Errorf("export: write: %w", err)
	}
	var n int64
	for t, err := range st.Tweets(ctx, o.From, o.To) {
		if err != nil {
			return n, fmt.Errorf("export: after %d tweets: %w", n, err)
		}
		if err := enc.tweet(t); err != nil {
			return n, fmt.Errorf("export: tweet %s: %w", t.ID, err)
		}
		n++
		if o.Progress != nil && n%progressEvery == 0 {
			o.Progress(n)
		}
	}
	if err := enc.end(); err != nil {
		return n, fmt.Errorf("export: write: %w", err)
	}
	if o.Progress != nil {
		o.Progress(n)
	}
	return n, nil
}

// fieldColumns are the tweet's columns, in the order every format but QUT
// writes them; the model columns follow.
var fieldColumns = [...]string{
	"id", "user_id", "user", "created_at", "text", "lang", "retweet_of", "quote_of",
	"reply_to", "conversation_id", "hashtags", "urls", "mentions",
}

// optionalFields are the optional string fields in column order (user_id,
// lang, retweet_of, quote_of, reply_to, conversation_id), "" when absent.
func optionalFields(t *sqlite.Tweet) [6]string {
	return [6]string{t.UserID, t.Lang, t.RetweetOf, t.QuoteOf, t.ReplyTo, t.ConversationID}
}

// lists are hashtags, urls and mentions in column order.
func lists(t *sqlite.Tweet) [3][]string { return [3][]string{t.Hashtags, t.URLs, t.Mentions} }

type encoder interface {
	begin() error
	tweet(t sqlite.Tweet) error
	end() error
}

type jsonlEncoder struct {
	w      io.Writer
	models []string
	buf    bytes.Buffer
}

func (e *jsonlEncoder) begin() error { return nil }
func (e *jsonlEncoder) end() error   { return nil }

func (e *jsonlEncoder) tweet(t sqlite.Tweet) error {
	b := &e.buf
	b.Reset()
	first := true
	put := func(key string, v any) error {
		if !first {
			b.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key) // a string always marshals
		b.Write(k)
		b.WriteByte(':')
		return encodeValue(b, v)
	}
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	list := func(l []string) []string {
		if l == nil {
			return []string{}
		}
		return l
	}
	b.WriteByte('{')
	opt, ls := optionalFields(&t), lists(&t)
	vals := [len(fieldColumns)]any{
		t.ID, orNull(opt[0]), t.User, t.CreatedAt.UTC().Format(time.RFC3339Nano), t.Text,
		orNull(opt[1]), orNull(opt[2]), orNull(opt[3]), orNull(opt[4]), orNull(opt[5]),
		list(ls[0]), list(ls[1]), list(ls[2]),
	}
	for i, k := range fieldColumns {
		if err := put(k, vals[i]); err != nil {
			return err
		}
	}
	for _, m := range e.models {
		var value, label any
		if r, ok := t.Results[m]; ok {
			value, label = r.Value, r.Label
		}
		if err := put(m+"_value", value); err != nil {
			return err
		}
		if err := put(m+"_label", label); err != nil {
			return err
		}
	}
	b.WriteString("}\n")
	_, err := e.w.Write(b.Bytes())
	return err
}

// encodeValue writes v as JSON without HTML escaping (a URL's & stays &,
// as pandas and jq expect to read it).
func encodeValue(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}

// qutHeader is the toolkit's header (producer/source/csv.QUTHeader reads it).
const qutHeader = "message_id,user_id,username,repost_id,reply_id,message,timestamp,urls"

type qutEncoder struct {
	w   *csv.Writer
	row []string
}

func newQUTEncoder(w io.Writer) *qutEncoder {
	return &qutEncoder{w: csv.NewWriter(w), row: make([]string, 8)}
}

func (e *qutEncoder) begin() error {
	return e.w.Write(strings.Split(qutHeader, ","))
}

func (e *qutEncoder) tweet(t sqlite.Tweet) error {
	userID := t.UserID
	if userID == "" {
		// The toolkit needs an account key; a tweet without a stable id
		// (sentiment140 rows) is keyed on its handle, as tweetflow's own
		// coordination work does.
		userID = t.User
	}
	e.row[0], e.row[1], e.row[2], e.row[3], e.row[4] = t.ID, userID, t.User, t.RetweetOf, t.ReplyTo
	e.row[5], e.row[6], e.row[7] = t.Text, unixSeconds(t.CreatedAt), strings.Join(t.URLs, " ")
	return e.w.Write(e.row)
}

func (e *qutEncoder) end() error {
	e.w.Flush()
	return e.w.Error()
}

// unixSeconds formats t as Unix seconds with the millisecond fraction the
// store keeps, trailing zeros dropped: 1606451170.518, 1606451171.25,
// 1606451172.
func unixSeconds(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 { // before 1970: -1.5, not -2 + .5
		sign, ms = "-", -ms
	}
	s := sign + strconv.FormatInt(ms/1000, 10)
	if ms%1000 == 0 {
		return s
	}
	return s + "." + strings.TrimRight(fmt.Sprintf("%03d", ms%1000), "0")
}
