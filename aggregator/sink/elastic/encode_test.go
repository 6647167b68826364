package elastic

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// viaStdlib is what encoding/json makes of s (invalid UTF-8 → U+FFFD).
func viaStdlib(s string) string {
	b, _ := json.Marshal(s)
	var out string
	_ = json.Unmarshal(b, &out)
	return out
}

// FuzzEncode: whatever the tweet's strings, the update body is valid JSON
// and decodes to the same strings encoding/json would give.
func FuzzEncode(f *testing.F) {
	f.Add("t1", "user", "hello \"world\"\n", "k", "v", "positive", 0.5)
	f.Add("id\x00", "\xff\xfe", "\u2028\u2029 \x7f \x1f", "", "", "", math.Inf(1))
	f.Add("😀", "<>&", `\u0000 \\`, "a.b", "c\"d", "l\tl", -1.0)
	d := &Driver{index: "t", models: map[string]Model{"m": {Name: "m", ValueType: "float"}}}
	f.Fuzz(func(t *testing.T, id, user, text, fk, fv, label string, value float64) {
		rec := sink.Record{
			Tweet:   event.Tweet{ID: id, User: user, Text: text, CreatedAt: time.Unix(1, 0), Fields: map[string]string{fk: fv}},
			Results: []sink.Result{{Model: "m", Version: "1", Value: value, Label: label}},
		}
		body, err := d.encode(rec)
		if err != nil {
			return // refused with a reason (empty id, non-finite value)
		}
		var got struct {
			Doc struct {
				TweetID string            `json:"tweet_id"`
				User    string            `json:"user"`
				Text    string            `json:"text"`
				Fields  map[string]string `json:"fields"`
				M       struct {
					Value float64 `json:"value"`
					Label string  `json:"label"`
				} `json:"m"`
			} `json:"doc"`
			Upsert bool `json:"doc_as_upsert"`
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("invalid JSON %q: %v", body, err)
		}
		if got.Doc.TweetID != viaStdlib(id) || got.Doc.User != viaStdlib(user) || got.Doc.Text != viaStdlib(text) ||
			got.Doc.Fields[viaStdlib(fk)] != viaStdlib(fv) || got.Doc.M.Label != viaStdlib(label) || got.Doc.M.Value != value || !got.Upsert {
			t.Fatalf("round trip: %+v from %q", got, body)
		}
	})
}
