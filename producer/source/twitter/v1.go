package twitter

import (
	"io"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// NewV1Reader reads Twitter API v1.1 statuses: one status object a line (as
// twarc 1, the streaming API and most v1.1 archives write them), a line
// holding a JSON array of statuses (a saved REST timeline response), or a
// search response {"statuses":[...]}. Errors name file:line and the JSON
// path inside the line (statuses[2].created_at), as NewReader's do.
func NewV1Reader(rd io.Reader, name string, opts Options) *Reader {
	r := NewReader(rd, name, opts)
	r.parse = (*Reader).parseV1Line
	return r
}

// ReasonStreamNotice: a line of the v1.1 streaming API that carries no tweet
// (delete, limit, scrub_geo, status_withheld, disconnect, warning notices).
const ReasonStreamNotice csv.Reason = "stream_notice"

// v1Status is a v1.1 Tweet object; only the fields tweetflow carries.
type v1Status struct {
	IDStr     string  `json:"id_str"`
	ID        number  `json:"id"` // exact digits: ids pass 2^53
	Text      string  `json:"text"`
	FullText  string  `json:"full_text"` // tweet_mode=extended
	CreatedAt string  `json:"created_at"`
	Lang      string  `json:"lang"`
	User      *v1User `json:"user"`
	// Compatibility mode (the streaming API): a tweet longer than 140
	// characters has "truncated":true and its whole text here.
	ExtendedTweet *struct {
		FullText string   `json:"full_text"`
		Entities entities `json:"entities"`
	} `json:"extended_tweet"`
	Entities             entities  `json:"entities"`
	InReplyToStatusIDStr string    `json:"in_reply_to_status_id_str"`
	InReplyToStatusID    number    `json:"in_reply_to_status_id"`
	QuotedStatusIDStr    string    `json:"quoted_status_id_str"`
	QuotedStatus         *v1Status `json:"quoted_status"`
	RetweetedStatus      *v1Status `json:"retweeted_status"`

	// A search response wraps its statuses.
	Statuses jsontext.Value `json:"statuses"`
	// Streaming notices (no tweet).
	Delete         jsontext.Value `json:"delete"`
	Limit          jsontext.Value `json:"limit"`
	ScrubGeo       jsontext.Value `json:"scrub_geo"`
	StatusWithheld jsontext.Value `json:"status_withheld"`
	UserWithheld   jsontext.Value `json:"user_withheld"`
	Disconnect     jsontext.Value `json:"disconnect"`
	Warning        jsontext.Value `json:"warning"`
}

type v1User struct {
	IDStr      string `json:"id_str"`
	ID         number `json:"id"`
	ScreenName string `json:"screen_name"`
}

// v1Layout is v1.1's created_at, "Wed Oct 10 20:19:24 +0000 2018".
const v1Layout = "Mon Jan 02 15:04:05 -0700 2006"

func (r *Reader) parseV1Line(line []byte) {
	if !r.validUTF8(line) {
		return
	}
	if line[0] == '[' {
		var list []v1Status
		if err := unmarshal(line, &list); err != nil {
			r.pending = append(r.pending, item{err: r.rowErr(ReasonBadJSON, "%s", jsonErr("", err))})
			return
		}
		for i := range list {
			r.v1Tweet(&list[i], place{index: i})
		}
		return
	}
	var s v1Status
	if err := unmarshal(line, &s); err != nil {
		r.pending = append(r.pending, item{err: r.rowErr(ReasonBadJSON, "%s", jsonErr("", err))})
		return
	}
	switch {
	case len(s.Statuses) > 0 && s.Statuses[0] == '[':
		var list []v1Status
		if err := unmarshal(s.Statuses, &list); err != nil {
			r.pending = append(r.pending, item{err: r.rowErr(ReasonBadJSON, "%s", jsonErr("statuses", err))})
			return
		}
		for i := range list {
			r.v1Tweet(&list[i], place{prefix: "statuses", index: i})
		}
	case s.IDStr != "" || s.ID != "" || s.Text != "" || s.FullText != "" || s.CreatedAt != "":
		r.v1Tweet(&s, place{index: -1})
	default:
		if n := s.notice(); n != "" {
			r.pending = append(r.pending, item{err: r.rowErr(ReasonStreamNotice, "a streaming %s notice, not a tweet", n)})
			return
		}
		r.pending = append(r.pending, item{err: r.rowErr(ReasonNotTweet, "no id_str, text or created_at: not a v1.1 status")})
	}
}

func (s *v1Status) notice() string {
	for _, n := range [...]struct {
		name string
		v    jsontext.Value
	}{{"delete", s.Delete}, {"limit", s.Limit}, {"scrub_geo", s.ScrubGeo}, {"status_withheld", s.StatusWithheld}, {"user_withheld", s.UserWithheld}, {"disconnect", s.Disconnect}, {"warning", s.Warning}} {
		if len(n.v) > 0 {
			return n.name
		}
	}
	return ""
}

// id is id_str, or the exact digits of id when id_str is absent.
func (s *v1Status) id() string {
	if s.IDStr != "" {
		return s.IDStr
	}
	return s.ID.String()
}

// fullText is the whole text and its entities: extended mode's full_text,
// else compatibility mode's extended_tweet, else the (maybe cut) text.
func (s *v1Status) fullText() (string, entities) {
	switch {
	case s.FullText != "":
		return s.FullText, s.Entities
	case s.ExtendedTweet != nil && s.ExtendedTweet.FullText != "":
		return s.ExtendedTweet.FullText, s.ExtendedTweet.Entities
	}
	return s.Text, s.Entities
}

// v1Tweet converts one status; a is its place in the line.
func (r *Reader) v1Tweet(s *v1Status, a place) {
	field := a.field
	id := s.id()
	text, ents := s.fullText()
	switch {
	case id == "":
		r.pending = append(r.pending, item{err: r.rowErr(ReasonEmptyID, "%s: missing", field("id_str"))})
		return
	case strings.TrimSpace(text) == "":
		r.pending = append(r.pending, item{err: r.rowErr(ReasonEmptyTxt, "%s: tweet %s has no full_text or text", field("full_text"), id)})
		return
	}
	created, err := time.Parse(v1Layout, s.CreatedAt)
	if err != nil {
		r.pending = append(r.pending, item{err: r.rowErr(ReasonBadTime, "%s: tweet %s: %q is not like \"Wed Oct 10 20:19:24 +0000 2018\"", field("created_at"), id, s.CreatedAt)})
		return
	}
	tw := event.Tweet{ID: id, CreatedAt: created.UTC(), Lang: s.Lang}
	if s.User != nil {
		tw.User = s.User.ScreenName
		tw.UserID = s.User.IDStr
		if tw.UserID == "" {
			tw.UserID = s.User.ID.String()
		}
	}
	tw.ReplyTo = s.InReplyToStatusIDStr
	if tw.ReplyTo == "" {
		tw.ReplyTo = s.InReplyToStatusID.String()
	}
	var after []item
	if rs := s.RetweetedStatus; rs != nil {
		// The retweet's own text is "RT @user: " and the start of the
		// original, cut at 140 characters: the original is what spread.
		// Its quote, if any, belongs to the original, as in API v2, where
		// a retweet references only the retweeted tweet.
		rtext, rents := rs.fullText()
		switch {
		case rs.id() == "":
			after = append(after, item{err: r.rowErr(ReasonMissingReference, "%s: tweet %s: the retweeted status has no id_str: kept with its own text", field("retweeted_status.id_str"), id)})
		case strings.TrimSpace(rtext) == "":
			tw.RetweetOf = rs.id()
			after = append(after, item{err: r.rowErr(ReasonMissingReference, "%s: tweet %s retweets %s, which has no text: kept with its own text", field("retweeted_status.full_text"), id, rs.id())})
		default:
			tw.RetweetOf = rs.id()
			text, ents = rtext, rents
		}
	} else {
		tw.QuoteOf = s.QuotedStatusIDStr
		if tw.QuoteOf == "" && s.QuotedStatus != nil {
			tw.QuoteOf = s.QuotedStatus.id()
		}
	}
	tw.Text = text
	lists(&tw, ents.Hashtags, ents.URLs, ents.UserMentions)
	r.emit(tw, a, after)
}
