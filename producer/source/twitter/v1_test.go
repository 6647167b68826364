package twitter

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

func readV1File(t *testing.T, name string) ([]event.Tweet, map[csv.Reason]int, []*csv.RowError) {
	t.Helper()
	return readFileWith(t, NewV1Reader, filepath.Join("v1", name))
}

// rawV1 decodes line n (1-based) of a v1 fixture with encoding/json into a
// generic map, independently of the reader's types.
func rawV1(t *testing.T, name string, n int) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1", name))
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(b, []byte("\n"))
	var m map[string]any
	if err := json.Unmarshal(lines[n-1], &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func str(m map[string]any, path ...string) string {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		v = mm[p]
	}
	s, _ := v.(string)
	return s
}

// The fixtures were written from the v1.1 documentation
// (testdata/README.md); each tweet is checked field by field.
func TestV1Statuses(t *testing.T) {
	tweets, reasons, errs := readV1File(t, "statuses.jsonl")
	if len(tweets) != 4 || !equalReasons(reasons, map[csv.Reason]int{ReasonStreamNotice: 2}) {
		t.Fatalf("%d tweets, errors %v", len(tweets), errs)
	}
	if errs[0].Line != 4 || !strings.Contains(errs[0].Detail, "delete") || errs[1].Line != 6 || !strings.Contains(errs[1].Detail, "limit") {
		t.Errorf("notices: %v", errs)
	}

	// 1: a reply in extended mode; full_text, the expanded link.
	raw := rawV1(t, "statuses.jsonl", 1)
	jsonEqual(t, tweets[0], event.Tweet{
		ID: "1307025659294674945", UserID: "2244994945", User: "TwitterDev",
		Text:      str(raw, "full_text"),
		CreatedAt: time.Date(2020, 9, 18, 18, 36, 15, 0, time.UTC), Lang: "en",
		ReplyTo: "1304102743196356610",
		URLs:    []string{"https://dev.to/twitterdev/understanding-the-new-tweet-payload-in-the-twitter-api-v2-1fg5"},
	})

	// 2: compatibility mode: the whole text and its entities come from
	// extended_tweet, not the cut text.
	raw = rawV1(t, "statuses.jsonl", 2)
	long := str(raw, "extended_tweet", "full_text")
	if long == "" || !strings.HasSuffix(str(raw, "text"), "https://t.co/MkGjXf9aXm") {
		t.Fatal("fixture 2 is not a truncated tweet with extended_tweet")
	}
	orig := event.Tweet{
		ID: "1050118621198921728", UserID: "6253282", User: "TwitterAPI", Text: long,
		CreatedAt: time.Date(2018, 10, 10, 20, 19, 24, 0, time.UTC), Lang: "en",
		Hashtags: []string{"TwitterDev"},
		URLs:     []string{"https://twittercommunity.com/t/new-update-to-the-twitter-text-library-emoji-character-count/114607"},
	}
	jsonEqual(t, tweets[1], orig)

	// 3: a retweet of 2: the text scored is the original's whole text,
	// with the original's entities; the author is the retweeter.
	raw = rawV1(t, "statuses.jsonl", 3)
	if !strings.HasPrefix(str(raw, "text"), "RT @TwitterAPI: ") {
		t.Fatal("fixture 3 is not a retweet")
	}
	rt := orig
	rt.ID, rt.UserID, rt.User, rt.RetweetOf = "1050121550907568129", "1234567890", "api_fan_42", orig.ID
	rt.CreatedAt = time.Date(2018, 10, 10, 20, 31, 2, 0, time.UTC)
	jsonEqual(t, tweets[2], rt)

	// 5: a quote of 1 keeps its own text, hashtag and mention.
	raw = rawV1(t, "statuses.jsonl", 5)
	jsonEqual(t, tweets[3], event.Tweet{
		ID: "1307243722447872000", UserID: "1234567890", User: "api_fan_42", Text: str(raw, "full_text"),
		CreatedAt: time.Date(2020, 9, 19, 9, 2, 44, 0, time.UTC), Lang: "en",
		QuoteOf:  "1307025659294674945",
		Hashtags: []string{"v2"}, Mentions: []string{"TwitterDev"},
		URLs: []string{"https://twitter.com/TwitterDev/status/1307025659294674945"},
	})
}

// A search response holds the same statuses as lines 1 and 5.
func TestV1Search(t *testing.T) {
	lines, _, _ := readV1File(t, "statuses.jsonl")
	search, reasons, _ := readV1File(t, "search.jsonl")
	if len(search) != 2 || len(reasons) != 0 {
		t.Fatalf("%d tweets, errors %v", len(search), reasons)
	}
	jsonEqual(t, search[0], lines[0])
	jsonEqual(t, search[1], lines[3])
}

func TestV1BadInput(t *testing.T) {
	good := `{"id_str":"1","full_text":"hi","created_at":"Wed Oct 10 20:19:24 +0000 2018","user":{"id_str":"9","screen_name":"u"}}`
	checkBadLines(t, NewV1Reader, good, []badLine{
		{"not JSON", `hello`, ReasonBadJSON, "byte 1", 0},
		{"cut off", good[:50], ReasonBadJSON, "", 0},
		{"no id", `{"text":"hi","created_at":"Wed Oct 10 20:19:24 +0000 2018"}`, ReasonEmptyID, "id_str: missing", 0},
		{"no text", `{"id_str":"2","created_at":"Wed Oct 10 20:19:24 +0000 2018"}`, ReasonEmptyTxt, "full_text", 0},
		{"no time", `{"id_str":"2","text":"x"}`, ReasonBadTime, "created_at: tweet 2", 0},
		{"v2 time", `{"id_str":"2","text":"x","created_at":"2018-10-10T20:19:24.000Z"}`, ReasonBadTime, `not like "Wed Oct 10`, 0},
		{"wrong type", `{"id_str":2,"text":"x"}`, ReasonBadJSON, "id_str: expected string", 0},
		{"retweet without id", `{"id_str":"2","text":"RT @a: x","created_at":"Wed Oct 10 20:19:24 +0000 2018","retweeted_status":{"text":"x"}}`, ReasonMissingReference, "retweeted_status.id_str", 1},
		{"retweet without text", `{"id_str":"2","text":"RT @a: x","created_at":"Wed Oct 10 20:19:24 +0000 2018","retweeted_status":{"id_str":"3"}}`, ReasonMissingReference, "retweeted_status.full_text", 1},
		{"array entry", `[` + good + `,{"id_str":"3","text":"x","created_at":"yesterday"}]`, ReasonBadTime, "[1].created_at: tweet 3", 1},
		{"search entry", `{"statuses":[{"id_str":"3","created_at":"Wed Oct 10 20:19:24 +0000 2018"}]}`, ReasonEmptyTxt, "statuses[0].full_text", 0},
		{"invalid UTF-8", "{\"id_str\":\"1\",\"text\":\"\xff\"}", csv.ReasonInvalidUTF8, "byte 23", 0},
		{"10 KB handle", `{"id_str":"2","text":"x","created_at":"Wed Oct 10 20:19:24 +0000 2018","user":{"screen_name":"` + strings.Repeat("u", 10<<10) + `"}}`, ReasonInvalid, "user: 10240 bytes", 0},
		{"empty hashtag", `{"id_str":"2","text":"x","created_at":"Wed Oct 10 20:19:24 +0000 2018","entities":{"hashtags":[{"text":""}]}}`, ReasonClipped, "entities: tweet 2: 1 ", 1},
		{"not a tweet", `{"friends":[1,2]}`, ReasonNotTweet, "not a v1.1 status", 0},
		{"notice", `{"scrub_geo":{"user_id":1}}`, ReasonStreamNotice, "scrub_geo", 0},
	})
}

// A text cut inside an emoji's escaped surrogate pair keeps its tweet (the
// half becomes U+FFFD, as with encoding/json); a member named twice is
// bad_json.
func TestV1Escapes(t *testing.T) {
	in := `{"id_str":"1","text":"cut \ud83d","created_at":"Wed Oct 10 20:19:24 +0000 2018"}` + "\n" +
		`{"id_str":"2","id_str":"3","text":"x","created_at":"Wed Oct 10 20:19:24 +0000 2018"}` + "\n"
	tweets, reasons, errs := readAll(t, NewV1Reader(strings.NewReader(in), "f", Options{}))
	if len(tweets) != 1 || tweets[0].Text != "cut \ufffd" || reasons[ReasonBadJSON] != 1 || !strings.Contains(errs[0].Detail, "duplicate") {
		t.Fatalf("%+v %v", tweets, errs)
	}
}

// Ids past 2^53 keep their digits when only the number is there; times
// with an offset become UTC.
func TestV1NumericIDAndOffset(t *testing.T) {
	in := `{"id":1050118621198921729,"text":"x","created_at":"Wed Oct 10 22:19:24 +0200 2018","user":{"id":6253282},"in_reply_to_status_id":1050118621198921728,"quoted_status":{"id":1050118621198921727}}`
	tweets, _, errs := readAll(t, NewV1Reader(strings.NewReader(in), "f", Options{}))
	if len(tweets) != 1 {
		t.Fatal(errs)
	}
	jsonEqual(t, tweets[0], event.Tweet{
		ID: "1050118621198921729", UserID: "6253282", Text: "x",
		CreatedAt: time.Date(2018, 10, 10, 20, 19, 24, 0, time.UTC),
		ReplyTo:   "1050118621198921728", QuoteOf: "1050118621198921727",
	})
}

// FuzzV1Reader: no panic whatever the bytes; every tweet returned is valid,
// comes from a line encoding/json accepts, and carries an id that
// encoding/json finds in that line (id_str or id of the line, of an array
// entry, or of a statuses entry).
func FuzzV1Reader(f *testing.F) {
	fuzzReader(f, NewV1Reader, v1IDs, []string{"v1/statuses.jsonl", "v1/search.jsonl"},
		`[{"id":12,"text":"x","created_at":"Wed Oct 10 20:19:24 +0000 2018","retweeted_status":{"id_str":"3","full_text":"y"}}]`,
		`{"delete":{}}`+"\n"+`{"id_str":"1","extended_tweet":{"full_text":"z"},"created_at":"Wed Oct 10 20:19:24 -0130 2018"}`)
}

func v1IDs(v any) []string {
	var ids []string
	add := func(v any) {
		m, ok := v.(map[string]any)
		if !ok {
			return
		}
		if s, ok := m["id_str"].(string); ok && s != "" {
			ids = append(ids, s)
			return
		}
		if n, ok := m["id"].(json.Number); ok {
			ids = append(ids, n.String())
		}
	}
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			add(e)
		}
	case map[string]any:
		if list, ok := v["statuses"].([]any); ok {
			for _, e := range list {
				add(e)
			}
		}
		add(v)
	}
	return ids
}

// BenchmarkV1 parses v1.1 statuses (the fixture's lines repeated, notices
// included); tweets/s is per core with GOMAXPROCS=1.
func BenchmarkV1(b *testing.B) {
	benchRead(b, NewV1Reader, "v1/statuses.jsonl", 200)
}
