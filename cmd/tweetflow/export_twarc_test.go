package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestExportTwarcFields: real twarc2 response pages (twarc-csv's test data)
// through 'tweetflow run' and 'tweetflow export': every tweet of the file is
// exported once, and its fields equal the raw JSON's (ids, author, language,
// thread, what it retweets, quotes or replies to; for a tweet that is not a
// retweet, its own hashtags and mentions).
func TestExportTwarcFields(t *testing.T) {
	in := "../../producer/source/twitter/testdata/noflat.jsonl"
	raw, err := os.ReadFile(in)
	if err != nil {
		t.Fatal(err)
	}
	type rawTweet struct {
		ID             string                      `json:"id"`
		AuthorID       string                      `json:"author_id"`
		Lang           string                      `json:"lang"`
		ConversationID string                      `json:"conversation_id"`
		CreatedAt      string                      `json:"created_at"`
		Referenced     []struct{ Type, ID string } `json:"referenced_tweets"`
		Entities       struct {
			Hashtags []struct{ Tag string }
			Mentions []struct{ Username string }
		} `json:"entities"`
	}
	want := map[string]rawTweet{}
	for i, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var page struct{ Data []rawTweet }
		if err := json.Unmarshal([]byte(line), &page); err != nil {
			t.Fatalf("%s:%d: %v", in, i+1, err)
		}
		for _, tw := range page.Data {
			want[tw.ID] = tw
		}
	}
	if len(want) < 50 {
		t.Fatalf("%s: only %d tweets", in, len(want))
	}

	db := filepath.Join(t.TempDir(), "t.db")
	execute(t, "run", "--data", in, "--models-dir", "../../models", "--db", db, "--no-progress", "--no-alerts")
	got := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(execute(t, "export", "--db", db)), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		id, _ := rec["id"].(string)
		if got[id] != nil {
			t.Errorf("tweet %s exported twice", id)
		}
		got[id] = rec
	}
	if len(got) != len(want) {
		t.Errorf("exported %d tweets, the file has %d", len(got), len(want))
	}
	str := func(v any) string { s, _ := v.(string); return s }
	list := func(v any) []string {
		var out []string
		for _, e := range v.([]any) {
			out = append(out, e.(string))
		}
		return out
	}
	retweets := 0
	for id, w := range want {
		rec := got[id]
		if rec == nil {
			t.Errorf("tweet %s not exported", id)
			continue
		}
		ref := map[string]string{}
		for _, r := range w.Referenced {
			ref[r.Type] = r.ID
		}
		for _, f := range []struct{ key, want string }{
			{"user_id", w.AuthorID}, {"lang", w.Lang}, {"conversation_id", w.ConversationID},
			{"retweet_of", ref["retweeted"]}, {"quote_of", ref["quoted"]}, {"reply_to", ref["replied_to"]},
			{"created_at", strings.Replace(w.CreatedAt, ".000Z", "Z", 1)},
		} {
			if g := str(rec[f.key]); g != f.want {
				t.Errorf("tweet %s: %s %q, raw JSON has %q", id, f.key, g, f.want)
			}
		}
		if ref["retweeted"] != "" {
			retweets++
			continue // its lists are the retweeted tweet's (docs/EVENTS.md)
		}
		var tags, mentions []string
		for _, h := range w.Entities.Hashtags {
			tags = append(tags, h.Tag)
		}
		for _, m := range w.Entities.Mentions {
			mentions = append(mentions, m.Username)
		}
		if g := list(rec["hashtags"]); !slices.Equal(g, tags) {
			t.Errorf("tweet %s: hashtags %q, raw JSON has %q", id, g, tags)
		}
		if g := list(rec["mentions"]); !slices.Equal(g, mentions) {
			t.Errorf("tweet %s: mentions %q, raw JSON has %q", id, g, mentions)
		}
	}
	if retweets == 0 || retweets == len(want) {
		t.Errorf("%d retweets of %d: the fixture no longer covers both kinds", retweets, len(want))
	}
}
