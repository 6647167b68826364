// Package twitter reads tweets as the Twitter API returns them.
//
// NewReader reads API v2 data as twarc2 writes it: response pages, one JSON
// object a line ({"data":[...],"includes":{...},"errors":[...]}, or the
// streaming shape with one tweet in "data"), and twarc2's flattened form (one
// tweet a line with "author" and "referenced_tweets[]" expanded inline). The
// shape is decided per line from its keys, so a file may mix them.
// NewV1Reader reads API v1.1 statuses (v1.go).
//
// Every bad input is a *csv.RowError naming file:line and, inside the line,
// the JSON path (data[3].created_at); the next Read goes on with the next
// tweet or line. A line is parsed whole before any of its tweets is
// returned, so a line cut off in the middle yields no tweet, and the lines
// before it are kept.
package twitter

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source/csv"
	"github.com/tweetflow/tweetflow/producer/source/lines"
)

// Reasons a line, tweet or page entry is reported; summaries count by them.
const (
	// ReasonBadJSON: the line is not JSON, or is cut off.
	ReasonBadJSON csv.Reason = "bad_json"
	// ReasonNotTweet: valid JSON, but neither a response page nor a tweet.
	ReasonNotTweet csv.Reason = "not_a_tweet"
	// ReasonAPIError: an entry of a page's "errors" array (a tweet or user
	// the API could not return). The page's good tweets are kept.
	ReasonAPIError csv.Reason = "api_error"
	// ReasonMissingReference: a retweet whose retweeted tweet is not in the
	// page's includes. The retweet is kept with its own (truncated) text;
	// this error follows it.
	ReasonMissingReference csv.Reason = "missing_reference"
	// ReasonClipped: list entries (hashtags, urls, mentions) dropped by
	// event.Tweet.Clip; the tweet is kept and this error follows it.
	ReasonClipped  = csv.ReasonClipped
	ReasonInvalid  = csv.ReasonInvalidField
	ReasonEmptyID  = csv.ReasonEmptyID
	ReasonEmptyTxt = csv.ReasonEmptyText
	ReasonBadTime  = csv.ReasonBadTimestamp
)

// Options configure a Reader.
type Options struct {
	// MaxLineBytes bounds a line (default 8 MiB; twarc2 pages of 100 tweets
	// with their includes are under 1 MB). A longer line is rejected
	// without being buffered whole.
	MaxLineBytes int
}

// Reader reads tweets from one file. It is not safe for concurrent use.
type Reader struct {
	name    string
	lr      *lines.Reader
	line    int    // the line being parsed
	pending []item // what the current line yielded, in order
	next    int    // the next of pending to return
	parse   func(*Reader, []byte)
	// fast decodes API v2 lines; libraryOnly turns it off (tests compare
	// the two), and fastLines counts the lines it decoded.
	fast        fastDecoder
	libraryOnly bool
	fastLines   int
	lineFast    bool // the line being converted was decoded the fast way
	// A page's includes by id, reused from page to page.
	users    map[string]string
	included map[string]*tweet
}

// item is one thing a line yielded: a tweet or an error.
type item struct {
	row csv.Row
	err error
}

// NewReader reads from rd; name is used in errors.
func NewReader(rd io.Reader, name string, opts Options) *Reader {
	if opts.MaxLineBytes <= 0 {
		opts.MaxLineBytes = 8 << 20
	}
	return &Reader{name: name, lr: lines.New(rd, name, opts.MaxLineBytes), parse: (*Reader).parseLine}
}

// Name is the file name used in errors.
func (r *Reader) Name() string { return r.name }

// Read returns the next tweet, io.EOF at the end, or a *csv.RowError for a
// bad line or tweet (the next Read goes on). Other errors are I/O errors
// (a gzip file cut short, say) and end the read.
func (r *Reader) Read(ctx context.Context) (csv.Row, error) {
	for r.next == len(r.pending) {
		if err := ctx.Err(); err != nil {
			return csv.Row{}, err
		}
		line, err := r.nextLine()
		if err != nil {
			return csv.Row{}, err
		}
		// The queue's array is reused line after line.
		clear(r.pending)
		r.pending, r.next = r.pending[:0], 0
		r.parse(r, line)
	}
	r.next++
	it := &r.pending[r.next-1]
	return it.row, it.err
}

func (r *Reader) rowErr(reason csv.Reason, format string, a ...any) *csv.RowError {
	return &csv.RowError{File: r.name, Line: r.line, Reason: reason, Detail: fmt.Sprintf(format, a...)}
}

// nextLine returns the next non-blank line, trimmed; valid until the next call.
func (r *Reader) nextLine() ([]byte, error) {
	line, err := r.lr.Next()
	r.line = r.lr.Line()
	if err == nil {
		return bytes.TrimSpace(line), nil
	}
	var tl *lines.TooLongError
	if errors.As(err, &tl) {
		return nil, r.rowErr(csv.ReasonLineTooLong, "line is %d bytes or more; the limit is %d", tl.Bytes, tl.Max)
	}
	return nil, err
}

// The JSON shapes. Only the fields tweetflow carries are decoded.
type page struct {
	Data     data `json:"data"`
	Includes struct {
		Users  []user  `json:"users"`
		Tweets []tweet `json:"tweets"`
	} `json:"includes"`
	Errors []apiError `json:"errors"`
	// Flattened tweets have these at the top level.
	tweet
}

type tweet struct {
	ID               string     `json:"id"`
	Text             string     `json:"text"`
	AuthorID         string     `json:"author_id"`
	CreatedAt        string     `json:"created_at"`
	Lang             string     `json:"lang"`
	ConversationID   string     `json:"conversation_id"`
	ReferencedTweets []ref      `json:"referenced_tweets"`
	Entities         entities   `json:"entities"`
	Author           *user      `json:"author"`     // flattened
	NoteTweet        *noteTweet `json:"note_tweet"` // a long post's full text
}

type noteTweet struct {
	Text     string   `json:"text"`
	Entities entities `json:"entities"`
}

type ref struct {
	Type string `json:"type"`
	// In the flattened form the referenced tweet's fields are inline.
	tweet
}

type user struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

// entities are a tweet's entities in either API version: v2 calls the
// mentions "mentions", v1.1 "user_mentions" (a version never sends the
// other's, and each reads only its own).
type entities struct {
	Hashtags     []hashtag   `json:"hashtags"`
	URLs         []urlEntity `json:"urls"`
	Mentions     []mention   `json:"mentions"`      // v2
	UserMentions []mention   `json:"user_mentions"` // v1.1
}

// The entities, as both API versions give them (each version has its own
// member name for a hashtag's text and a mention's handle; a version never
// sends the other's): a hashtag, a mention, a link with the t.co URL and,
// where the API resolved it, the URL it expands to.
type (
	hashtag struct {
		Tag  string `json:"tag"`  // v2
		Text string `json:"text"` // v1.1
	}
	mention struct {
		Username   string `json:"username"`    // v2
		ScreenName string `json:"screen_name"` // v1.1
	}
	urlEntity struct {
		URL         string `json:"url"`
		ExpandedURL string `json:"expanded_url"`
	}
)

func (h hashtag) value() string { return cmp.Or(h.Tag, h.Text) }
func (m mention) value() string { return cmp.Or(m.Username, m.ScreenName) }

// value is the expanded URL, the t.co one where none was given.
func (u urlEntity) value() string { return cmp.Or(u.ExpandedURL, u.URL) }

// lists sets a tweet's hashtags, links and mentions from either API
// version's entities: cuts of one array (nil for none).
func lists(tw *event.Tweet, hashtags []hashtag, urls []urlEntity, mentions []mention) {
	n := len(hashtags) + len(urls) + len(mentions)
	if n == 0 {
		return
	}
	all := make([]string, 0, n)
	all, tw.Hashtags = values(all, hashtags)
	all, tw.URLs = values(all, urls)
	_, tw.Mentions = values(all, mentions)
}

// values appends each entity's value to all; the appended part is the
// second result (nil for none).
func values[E interface{ value() string }](all []string, es []E) ([]string, []string) {
	if len(es) == 0 {
		return all, nil
	}
	start := len(all)
	for _, e := range es {
		all = append(all, e.value())
	}
	return all, all[start:len(all):len(all)]
}

type apiError struct {
	ResourceType string `json:"resource_type"`
	ResourceID   string `json:"resource_id"`
	Title        string `json:"title"`
	Detail       string `json:"detail"`
}

// validUTF8 reports whether line is valid UTF-8, and queues the error when
// it is not: encoding/json would silently replace the bad bytes.
func (r *Reader) validUTF8(line []byte) bool {
	if utf8.Valid(line) {
		return true
	}
	i := 0
	for i < len(line) {
		c, size := utf8.DecodeRune(line[i:])
		if c == utf8.RuneError && size == 1 {
			break
		}
		i += size
	}
	r.pending = append(r.pending, item{err: r.rowErr(csv.ReasonInvalidUTF8, "invalid UTF-8 at byte %d", i+1)})
	return false
}

func (r *Reader) parseLine(line []byte) {
	ascii := printableASCII(line)
	if !ascii && !r.validUTF8(line) {
		return
	}
	var p page
	if err := r.decodePage(line, &p, ascii); err != nil {
		r.pending = append(r.pending, item{err: r.rowErr(ReasonBadJSON, "%s", jsonErr("", err))})
		return
	}
	switch k := p.Data.kind; {
	case k == '[' || k == '{':
		r.page(&p, p.Data.tweets, k == '[')
	case k != 0:
		r.pending = append(r.pending, item{err: r.rowErr(ReasonNotTweet, "data: not an array or object")})
	case p.ID != "" || p.Text != "" || p.CreatedAt != "":
		// Flattened: the includes are inline, in author and referenced_tweets.
		r.tweet(&p.tweet, nil, nil, place{index: -1})
	case len(p.Errors) > 0:
		r.errors(p.Errors)
	default:
		r.pending = append(r.pending, item{err: r.rowErr(ReasonNotTweet, "no data, no tweet id or text: not an API v2 page or a flattened tweet")})
	}
}

// decodePage decodes a line into p: by the fast path when it understands
// the line, else (and for every error) by the library. ascii says the line
// is printableASCII, so controlFree: not checked again.
func (r *Reader) decodePage(line []byte, p *page, ascii bool) error {
	switch {
	case r.libraryOnly:
		r.lineFast = false
	case ascii:
		r.lineFast = r.fast.decodeControlFree(line, p)
	default:
		r.lineFast = r.fast.decode(line, p)
	}
	if r.lineFast {
		r.fastLines++
		return nil
	}
	*p = page{}
	return unmarshal(line, p)
}

// data is a page's "data": an array of tweets, or the streaming shape's one
// tweet. Decoding it in place (not as a raw value decoded again) saves a
// copy and a second scan of most of the line.
type data struct {
	kind   jsontext.Kind // '[' or '{' when present, 0 for absent or null
	tweets []tweet
}

func (d *data) UnmarshalJSONFrom(dec *jsontext.Decoder) error {
	switch k := dec.PeekKind(); k {
	case '[':
		d.kind = k
		return jsonv2.UnmarshalDecode(dec, &d.tweets)
	case '{':
		d.kind = k
		d.tweets = make([]tweet, 1)
		return jsonv2.UnmarshalDecode(dec, &d.tweets[0])
	case 'n':
		return dec.SkipValue()
	default:
		d.kind = k
		return dec.SkipValue()
	}
}

// page converts a page's tweets; indexed says data is an array (paths
// data[i]) rather than the streaming shape's one object (path data).
func (r *Reader) page(p *page, data []tweet, indexed bool) {
	if r.users == nil {
		r.users, r.included = map[string]string{}, map[string]*tweet{}
	}
	for _, u := range p.Includes.Users {
		r.users[u.ID] = u.Username
	}
	for i := range p.Includes.Tweets {
		r.included[p.Includes.Tweets[i].ID] = &p.Includes.Tweets[i]
	}
	for i := range data {
		a := place{prefix: "data", index: -1}
		if indexed {
			a.index = i
		}
		r.tweet(&data[i], r.users, r.included, a)
	}
	r.errors(p.Errors)
	// Emptied now rather than at the next page: the fast decoder's strings
	// are the line's bytes, which the next line overwrites.
	clear(r.users)
	clear(r.included)
}

func (r *Reader) errors(errs []apiError) {
	for i, e := range errs {
		r.pending = append(r.pending, item{err: r.rowErr(ReasonAPIError, "errors[%d]: %s %s: %s: %s", i, e.ResourceType, e.ResourceID, e.Title, e.Detail)})
	}
}

// tweet converts one v2 tweet; users and tweets are the page's includes
// (nil for a flattened tweet, whose references are inline); a is its place.
func (r *Reader) tweet(t *tweet, users map[string]string, tweets map[string]*tweet, a place) {
	field := a.field
	switch {
	case t.ID == "":
		r.pending = append(r.pending, item{err: r.rowErr(ReasonEmptyID, "%s: missing", field("id"))})
		return
	case t.Text == "" && t.NoteTweet == nil:
		r.pending = append(r.pending, item{err: r.rowErr(ReasonEmptyTxt, "%s: tweet %s has no text", field("text"), t.ID)})
		return
	}
	created, err := time.Parse(time.RFC3339Nano, t.CreatedAt)
	if err != nil {
		r.pending = append(r.pending, item{err: r.rowErr(ReasonBadTime, "%s: tweet %s: %q is not an RFC 3339 time", field("created_at"), t.ID, t.CreatedAt)})
		return
	}
	tw := event.Tweet{
		ID:             t.ID,
		UserID:         t.AuthorID,
		CreatedAt:      created.UTC(),
		Lang:           t.Lang,
		ConversationID: t.ConversationID,
	}
	switch {
	case t.Author != nil:
		tw.User = t.Author.Username
		if tw.UserID == "" {
			tw.UserID = t.Author.ID
		}
	case users != nil:
		tw.User = users[t.AuthorID]
	}
	text, ents := t.fullText()
	var after []item
	for i := range t.ReferencedTweets {
		rf := &t.ReferencedTweets[i]
		switch rf.Type {
		case "retweeted":
			tw.RetweetOf = rf.ID
			orig := &rf.tweet
			if orig.Text == "" && orig.NoteTweet == nil {
				orig = tweets[rf.ID]
			}
			if orig == nil {
				after = append(after, item{err: r.rowErr(ReasonMissingReference, "%s: tweet %s retweets %s, which the page's includes.tweets lack: kept with its own text", field(fmt.Sprintf("referenced_tweets[%d]", i)), t.ID, rf.ID)})
				continue
			}
			text, ents = orig.fullText()
		case "quoted":
			tw.QuoteOf = rf.ID
		case "replied_to":
			tw.ReplyTo = rf.ID
		}
	}
	tw.Text = text
	lists(&tw, ents.Hashtags, ents.URLs, ents.Mentions)
	if r.lineFast {
		detach(&tw)
	}
	r.emit(tw, a, after)
}

// place is a tweet's place in its line, for error messages (built only for
// one): prefix and index make data[3], statuses[2], [1] or data; index -1
// is none; the zero prefix with no index is the line itself.
type place struct {
	prefix string
	index  int
}

// field is the JSON path of member name of the tweet at a.
func (a place) field(name string) string {
	p := a.prefix
	if a.index >= 0 {
		p += "[" + strconv.Itoa(a.index) + "]"
	}
	if p == "" {
		return name
	}
	return p + "." + name
}

// emit clips and validates a converted tweet and queues it, followed by the
// errors its conversion noted (after); a is its place in the line.
func (r *Reader) emit(tw event.Tweet, a place, after []item) {
	// Checked in its queue slot: the tweet is copied once, not moved to the
	// heap for Clip and Validate.
	r.pending = append(r.pending, item{row: csv.Row{Line: r.line, Tweet: tw}})
	it := &r.pending[len(r.pending)-1]
	t := &it.row.Tweet
	if n := t.Clip(); n > 0 {
		after = append(after, item{err: r.rowErr(ReasonClipped, "%s: tweet %s: %d hashtag/url/mention entries empty or too long, dropped", a.field("entities"), t.ID, n)})
	}
	if err := t.Validate(t.ID); err != nil {
		var fe *event.FieldError
		if errors.As(err, &fe) {
			err = r.rowErr(ReasonInvalid, "%s: %s", a.field(strings.TrimPrefix(fe.Field, "data.")), fe.Reason)
		}
		*it = item{err: err}
		return
	}
	r.pending = append(r.pending, after...)
}

// fullText is a tweet's text and entities, a long post's note_tweet when
// there is one (its text is the whole post; "text" is cut).
func (t *tweet) fullText() (string, entities) {
	if t.NoteTweet != nil && t.NoteTweet.Text != "" {
		return t.NoteTweet.Text, t.NoteTweet.Entities
	}
	return t.Text, t.Entities
}

// detach copies a tweet's strings into one allocation of its own. The fast
// decoder's strings are the line's bytes, which the next line overwrites,
// or cuts of its arena's chunks (one allocation for many strings); a tweet
// that lives on (the score cache keeps texts) must neither change nor keep
// a chunk, and the other tweets' strings in it, alive.
func detach(tw *event.Tweet) {
	fields := [...]*string{&tw.ID, &tw.UserID, &tw.User, &tw.Text, &tw.Lang, &tw.RetweetOf, &tw.QuoteOf, &tw.ReplyTo, &tw.ConversationID}
	lists := [...][]string{tw.Hashtags, tw.URLs, tw.Mentions}
	n := 0
	for _, f := range fields {
		n += len(*f)
	}
	for _, l := range lists {
		for _, v := range l {
			n += len(v)
		}
	}
	var b strings.Builder
	b.Grow(n)
	for _, f := range fields {
		b.WriteString(*f)
	}
	for _, l := range lists {
		for _, v := range l {
			b.WriteString(v)
		}
	}
	all, off := b.String(), 0
	cut := func(v *string) {
		n := len(*v)
		*v = all[off : off+n]
		off += n
	}
	for _, f := range fields {
		cut(f)
	}
	for _, l := range lists {
		for i := range l {
			cut(&l[i])
		}
	}
}
