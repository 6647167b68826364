package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
)

// fieldRecord is record(i) with the #10 fields: an account id per handle,
// three languages, hashtags in mixed case (one on every 4th tweet, "common"
// on every 6th), links, and retweets, quotes and replies of earlier tweets.
func fieldRecord(i int) sink.Record {
	r := record(i, t0.Add(time.Duration(i)*time.Second), "offense", "sentiment")
	tw := &r.Tweet
	tw.UserID = fmt.Sprint(500 + i%50)
	tw.Lang = "en"
	if i%10 == 0 {
		tw.Lang = "es"
	} else if i%7 == 0 {
		tw.Lang = "ja"
	}
	if i%4 == 0 {
		tw.Hashtags = append(tw.Hashtags, fmt.Sprintf("Tag%d", (i/4)%5))
	}
	if i%6 == 0 {
		tw.Hashtags = append(tw.Hashtags, "common")
	}
	if i%5 == 0 {
		tw.URLs = []string{fmt.Sprintf("https://example.com/%d?a=b&c=%%20", i%3)}
	}
	if i%3 == 0 && i > 0 {
		tw.RetweetOf = fmt.Sprint("t", i/2)
	}
	if i%11 == 0 {
		tw.QuoteOf = fmt.Sprint("t", i/3)
	}
	if i%13 == 0 {
		tw.ReplyTo = fmt.Sprint("t", i-1)
	}
	return r
}

const fieldTweets = 1200

func fieldFixture(t *testing.T) (*Store, []sink.Record) {
	t.Helper()
	ctx := context.Background()
	sk := openSink(t)
	var recs []sink.Record
	for i := range fieldTweets {
		recs = append(recs, fieldRecord(i))
	}
	if err := sk.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	st, err := NewStore(ctx, sk.DB())
	if err != nil {
		t.Fatal(err)
	}
	return st, recs
}

// want is the reference: the records q keeps, the slow way, newest first
// (then by id), at most q.Limit.
func want(recs []sink.Record, q SearchQuery) []string {
	var out []sink.Record
	for _, r := range recs {
		tw := r.Tweet
		switch {
		case tw.CreatedAt.Before(q.From) || !tw.CreatedAt.Before(q.To),
			q.Text != "" && !strings.Contains(strings.ToLower(tw.Text), strings.ToLower(q.Text)),
			q.User != "" && tw.User != q.User,
			q.Hashtag != "" && !slices.ContainsFunc(tw.Hashtags, func(h string) bool { return strings.EqualFold(h, q.Hashtag) }),
			q.URL != "" && !slices.Contains(tw.URLs, q.URL),
			q.Lang != "" && tw.Lang != q.Lang,
			q.Account != "" && tw.User != q.Account && tw.UserID != q.Account:
			continue
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b sink.Record) int {
		return cmp.Or(b.Tweet.CreatedAt.Compare(a.Tweet.CreatedAt), strings.Compare(a.Tweet.ID, b.Tweet.ID))
	})
	var ids []string
	for _, r := range out[:min(len(out), q.Limit)] {
		ids = append(ids, r.Tweet.ID)
	}
	return ids
}

// TestFilters: every filter alone and combined, with and without a text,
// over the whole range and a part of it, gives the tweets the reference
// keeps, in its order: through the candidate sets (an index lists a rare
// filter's tweets) and through the time scan (candidates off), which must
// agree.
func TestFilters(t *testing.T) {
	st, recs := fieldFixture(t)
	ctx := context.Background()
	end := t0.Add(fieldTweets * time.Second)
	queries := []SearchQuery{
		{Hashtag: "tag3"}, {Hashtag: "TAG3"}, {Hashtag: "common"}, {Hashtag: "nope"},
		{URL: "https://example.com/1?a=b&c=%20"}, {URL: "https://example.com/1"},
		{Lang: "ja"}, {Lang: "es"}, {Lang: "xx"},
		{Account: "user7"}, {Account: "507"}, {Account: "7"},
		{Hashtag: "common", Lang: "en"}, {Hashtag: "tag0", URL: "https://example.com/0?a=b&c=%20"},
		{Account: "user12", Lang: "es"}, {Hashtag: "common", Account: "user6"},
		{Text: "snow", Hashtag: "common"}, {Text: "rain", Lang: "ja", Account: "501"},
		{User: "user30", Hashtag: "common"},
	}
	for _, candidates := range []int{maxCandidates, 0} {
		st.maxCandidates = candidates
		for _, q := range queries {
			for _, r := range [][2]time.Time{{t0, end}, {t0.Add(300 * time.Second), t0.Add(700 * time.Second)}} {
				q.From, q.To, q.Limit = r[0], r[1], 40
				res, err := st.Search(ctx, q, time.Minute)
				if err != nil {
					t.Fatalf("%+v: %v", q, err)
				}
				var got []string
				for _, tw := range res.Tweets {
					got = append(got, tw.ID)
				}
				if w := want(recs, q); !slices.Equal(got, w) || !res.Complete {
					t.Errorf("candidates %d, %+v:\n got %v (complete %v)\nwant %v", candidates, q, got, res.Complete, w)
				}
			}
		}
	}
}

// TestResultMarks: a hit says what it retweets, quotes or replies to (the
// ids), its account id, language, hashtags and links, as stored.
func TestResultMarks(t *testing.T) {
	st, recs := fieldFixture(t)
	res, err := st.Search(context.Background(), SearchQuery{Hashtag: "common", From: t0, To: t0.Add(time.Hour), Limit: 200}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]sink.Record{}
	for _, r := range recs {
		byID[r.Tweet.ID] = r
	}
	marks := map[string]int{}
	for _, h := range res.Tweets {
		w := byID[h.ID].Tweet
		if h.RetweetOf != w.RetweetOf || h.QuoteOf != w.QuoteOf || h.ReplyTo != w.ReplyTo || h.UserID != w.UserID ||
			h.Lang != w.Lang || !slices.Equal(h.Hashtags, w.Hashtags) || !slices.Equal(h.URLs, w.URLs) {
			t.Errorf("hit %+v\nwant the fields of %+v", h, w)
		}
		for k, v := range map[string]string{"retweet": h.RetweetOf, "quote": h.QuoteOf, "reply": h.ReplyTo} {
			if v != "" {
				marks[k]++
			}
		}
	}
	if len(res.Tweets) != 200 || marks["retweet"] == 0 || marks["quote"] == 0 || marks["reply"] == 0 {
		t.Errorf("%d hits, marks %v: the fixture should give every kind", len(res.Tweets), marks)
	}
}

// TestFilterAPI: the filters reach the store from the query string (a
// leading '#' or '@' dropped), and a bad filter is a 400 naming it.
func TestFilterAPI(t *testing.T) {
	hs, _ := newTestServer(t)
	var sr SearchResult
	getJSON(t, hs.URL+"/api/search?account=%40user7&limit=200", 200, &sr)
	if len(sr.Tweets) != 20 {
		t.Errorf("account=@user7: %d hits, want 20", len(sr.Tweets))
	}
	getJSON(t, hs.URL+"/api/search?hashtag=%23nothing", 200, &sr)
	if len(sr.Tweets) != 0 || !sr.Complete {
		t.Errorf("hashtag=#nothing: %+v", sr)
	}
	for path, param := range map[string]string{
		"/api/search?lang=" + strings.Repeat("x", 36):       "lang",
		"/api/search?hashtag=%ff":                           "hashtag",
		"/api/search?account=" + strings.Repeat("a", 101):   "account",
		"/api/search?url=" + url.QueryEscape("http://\x00"): "url",
	} {
		var body struct{ Error string }
		getJSON(t, hs.URL+path, 400, &body)
		if !strings.HasPrefix(body.Error, param+":") {
			t.Errorf("%s: error %q does not name %s", path, body.Error, param)
		}
	}
}
