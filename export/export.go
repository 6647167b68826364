// Package export writes what a tweetflow store holds back out, for analysts
// (pandas, R) and for other tools: JSON lines with the tweet's fields and
// each model's result, or the CSV layout of the QUT coordination-network
// toolkit, so the toolkit reads an export like its own input.
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
)

// Formats lists the formats Write accepts.
func Formats() []Format { return []Format{JSONL, QUT} }

// ParseFormat returns the Format named s, or an error listing the formats.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats() {
		if string(f) == s {
			return f, nil
		}
	}
	return "", fmt.Errorf("unknown export format %q (want jsonl or qut)", s)
}

// Options select what Write exports.
type Options struct {
	Format Format
	// From and To bound the tweets' own time, half-open [From, To); zero
	// leaves that side open.
	From, To time.Time
}

// Store is what Write reads: the SQLite store's models and its tweets in
// time order.
type Store interface {
	StoredModels(ctx context.Context) ([]string, error)
	Tweets(ctx context.Context, from, to time.Time) iter.Seq2[sqlite.Tweet, error]
}

// Write streams every tweet of st in o's range to w in o.Format and returns
// how many it wrote. Tweets are written as they are read, so memory does not
// grow with the store.
func Write(ctx context.Context, w io.Writer, st Store, o Options) (int64, error) {
	var enc encoder
	switch o.Format {
	case JSONL:
		models, err := st.StoredModels(ctx)
		if err != nil {
			return 0, fmt.Errorf("export: %w", err)
		}
		enc = &jsonlEncoder{w: w, models: models}
	case QUT:
		enc = newQUTEncoder(w)
	default:
		return 0, fmt.Errorf("export: unknown format %q (want jsonl or qut)", o.Format)
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
	}
	if err := enc.end(); err != nil {
		return n, fmt.Errorf("export: write: %w", err)
	}
	return n, nil
}

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
	for _, kv := range []struct {
		k string
		v any
	}{
		{"id", t.ID}, {"user_id", orNull(t.UserID)}, {"user", t.User},
		{"created_at", t.CreatedAt.UTC().Format(time.RFC3339Nano)}, {"text", t.Text},
		{"lang", orNull(t.Lang)}, {"retweet_of", orNull(t.RetweetOf)}, {"quote_of", orNull(t.QuoteOf)},
		{"reply_to", orNull(t.ReplyTo)}, {"conversation_id", orNull(t.ConversationID)},
		{"hashtags", list(t.Hashtags)}, {"urls", list(t.URLs)}, {"mentions", list(t.Mentions)},
	} {
		if err := put(kv.k, kv.v); err != nil {
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
