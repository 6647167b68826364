package gen

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source"
)

// LoadTweets reads every tweet of the given inputs (source.Open's syntax)
// as templates for TwarcPages; bad rows are skipped.
func LoadTweets(ctx context.Context, paths []string) ([]event.Tweet, error) {
	return loadTweets(ctx, paths, source.Options{})
}

// TwarcOptions configure TwarcPages.
type TwarcOptions struct {
	// Tweets is the number written.
	Tweets int
	// Start is the first tweet's time (default 2021-06-01T00:00:00Z); each
	// next one is Gap later (default 1ms), so the file is in event time.
	Start time.Time
	Gap   time.Duration
}

// The page shape written: what twarc2 writes, minus what tweetflow does not
// read (media, places, metrics), so a million tweets stay a few hundred MB.
type twarcPage struct {
	Data     []twarcTweet `json:"data"`
	Includes struct {
		Users  []twarcUser  `json:"users"`
		Tweets []twarcTweet `json:"tweets,omitempty"`
	} `json:"includes"`
}

type twarcTweet struct {
	ID             string         `json:"id"`
	Text           string         `json:"text"`
	AuthorID       string         `json:"author_id"`
	CreatedAt      string         `json:"created_at"`
	Lang           string         `json:"lang,omitempty"`
	ConversationID string         `json:"conversation_id,omitempty"`
	Referenced     []twarcRef     `json:"referenced_tweets,omitempty"`
	Entities       *twarcEntities `json:"entities,omitempty"`
}

type twarcRef struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

type twarcUser struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

type twarcEntities struct {
	Hashtags []map[string]string `json:"hashtags,omitempty"`
	URLs     []map[string]string `json:"urls,omitempty"`
	Mentions []map[string]string `json:"mentions,omitempty"`
}

// TwarcPages writes opts.Tweets tweets as twarc2 response pages of 100,
// cycling through tmpl: copy k of a template gets a new id, the next time,
// and keeps its retweet_of, so every copy retweets the same originals and
// the replay is as retweet-heavy as the templates (the twarc2 fixtures: about
// half retweets); a tweet that is not a retweet gets " k" after its text from
// the second copy on, so only retweets repeat texts. A retweet's own text is "RT @user: " and its original's
// start; the original, with its full text, is in includes.tweets, as the API
// returns it. It returns the number of tweets written.
func TwarcPages(ctx context.Context, w io.Writer, tmpl []event.Tweet, opts TwarcOptions) (int, error) {
	if len(tmpl) == 0 {
		return 0, errors.New("gen: no template tweets")
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC)
	}
	if opts.Gap <= 0 {
		opts.Gap = time.Millisecond
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	enc := json.NewEncoder(bw)
	const firstID = 2_000_000_000_000_000_000
	written := 0
	for written < opts.Tweets {
		if err := ctx.Err(); err != nil {
			return written, err
		}
		var p twarcPage
		users := map[string]bool{}
		origs := map[string]bool{}
		for len(p.Data) < 100 && written < opts.Tweets {
			t := tmpl[written%len(tmpl)]
			id := strconv.FormatUint(firstID+uint64(written), 10)
			uid := t.UserID
			if uid == "" {
				uid = "u" + t.User
			}
			tw := twarcTweet{ID: id, Text: t.Text, AuthorID: uid, Lang: t.Lang, ConversationID: id,
				CreatedAt: opts.Start.Add(time.Duration(written) * opts.Gap).Format("2006-01-02T15:04:05.000Z")}
			ents := entities(t)
			switch {
			case t.RetweetOf != "":
				tw.Text = retweetText(t)
				tw.Referenced = []twarcRef{{"retweeted", t.RetweetOf}}
				if !origs[t.RetweetOf] {
					origs[t.RetweetOf] = true
					p.Includes.Tweets = append(p.Includes.Tweets, twarcTweet{ID: t.RetweetOf, Text: t.Text, AuthorID: "0",
						CreatedAt: opts.Start.Format("2006-01-02T15:04:05.000Z"), Entities: ents})
				}
			default:
				// Each copy of a tweet that is not a retweet says something new
				// (its text gets the copy's number), so only retweets repeat a
				// text: the score cache then saves what it would on real data.
				if k := written / len(tmpl); k > 0 {
					tw.Text += " " + strconv.Itoa(k)
				}
				tw.Entities = ents
				if t.ReplyTo != "" {
					tw.Referenced = append(tw.Referenced, twarcRef{"replied_to", t.ReplyTo})
				}
				if t.QuoteOf != "" {
					tw.Referenced = append(tw.Referenced, twarcRef{"quoted", t.QuoteOf})
				}
			}
			if !users[uid] {
				users[uid] = true
				p.Includes.Users = append(p.Includes.Users, twarcUser{uid, t.User})
			}
			p.Data = append(p.Data, tw)
			written++
		}
		if err := enc.Encode(&p); err != nil {
			return written - len(p.Data), fmt.Errorf("gen: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return written, fmt.Errorf("gen: %w", err)
	}
	return written, nil
}

func retweetText(t event.Tweet) string {
	r := []rune(t.Text)
	if len(r) > 100 {
		r = append(r[:100], '…')
	}
	return "RT @x: " + string(r)
}

func entities(t event.Tweet) *twarcEntities {
	if len(t.Hashtags)+len(t.URLs)+len(t.Mentions) == 0 {
		return nil
	}
	e := &twarcEntities{}
	for _, h := range t.Hashtags {
		e.Hashtags = append(e.Hashtags, map[string]string{"tag": h})
	}
	for _, u := range t.URLs {
		e.URLs = append(e.URLs, map[string]string{"url": "https://t.co/x", "expanded_url": u})
	}
	for _, m := range t.Mentions {
		e.Mentions = append(e.Mentions, map[string]string{"username": m})
	}
	return e
}
