package esstore

import (
	"encoding/json"
	"testing"
)

// FuzzDecode: any _source (a document another writer or a bad mapping put
// in the index) decodes to a tweet with an id or to an error, never a
// panic; a tweet's results are of the models asked for, with a label.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"tweet_id":"1","timestamp":"2020-11-27T04:26:10.518Z","user":"a","text":"t","hashtags":["x"],"sentiment":{"value":0.5,"label":"positive","version":"1"}}`,
		`{"tweet_id":"2","timestamp":"2020-11-27T04:26:10Z","topic":{"value":"sport","label":"sport","version":"1"},"timed_out":true}`,
		`{"tweet_id":""}`, `{"timestamp":"yesterday"}`, `{"sentiment":{"value":"x"}}`, `{"sentiment":7}`, `[]`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	models := []string{"sentiment", "topic"}
	f.Fuzz(func(t *testing.T, src []byte) {
		tw, err := decode(hit{ID: "doc", Source: json.RawMessage(src)}, models)
		if err != nil {
			return
		}
		if tw.ID == "" {
			t.Fatalf("decoded a tweet without an id from %q", src)
		}
		for m, r := range tw.Results {
			if (m != "sentiment" && m != "topic") || r.Label == "" || r.Model != m {
				t.Fatalf("result %s %+v from %q", m, r, src)
			}
		}
		if tw.Complete != (len(tw.Missing) == 0) || len(tw.Results)+len(tw.Missing) != len(models) {
			t.Fatalf("complete %v, missing %v, results %v from %q", tw.Complete, tw.Missing, tw.Results, src)
		}
	})
}
