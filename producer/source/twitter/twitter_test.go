package twitter

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// readAll reads a whole source: the tweets, and the row errors by reason.
func readAll(t *testing.T, r *Reader) ([]event.Tweet, map[csv.Reason]int, []*csv.RowError) {
	t.Helper()
	var tweets []event.Tweet
	reasons := map[csv.Reason]int{}
	var errs []*csv.RowError
	err := csv.Drain(context.Background(), r, func(row csv.Row) {
		if row.Line < 1 {
			t.Fatalf("tweet %s without a line", row.Tweet.ID)
		}
		tweets = append(tweets, row.Tweet)
	}, func(re *csv.RowError) {
		reasons[re.Reason]++
		errs = append(errs, re)
	})
	if err != nil {
		t.Fatalf("%s: %v", r.Name(), err)
	}
	return tweets, reasons, errs
}

// newReader is NewReader or NewV1Reader.
type newReader func(rd io.Reader, name string, opts Options) *Reader

// readFile reads testdata/name (an API v2 file) whole.
func readFile(t *testing.T, name string) ([]event.Tweet, map[csv.Reason]int, []*csv.RowError) {
	t.Helper()
	return readFileWith(t, NewReader, name)
}

func readFileWith(t *testing.T, newR newReader, name string) ([]event.Tweet, map[csv.Reason]int, []*csv.RowError) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return readAll(t, newR(f, name, Options{}))
}

// jsonEqual compares two tweets as their JSON (every field, in one line).
func jsonEqual(t *testing.T, got, want event.Tweet) {
	t.Helper()
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if !bytes.Equal(gj, wj) {
		t.Errorf("got  %s\nwant %s", gj, wj)
	}
}

// The fixtures are twarc-csv's real twarc2 output (testdata/README.md);
// the counts are those of shared/data/twitter/README.md.
func TestFixtures(t *testing.T) {
	for _, tc := range []struct {
		file             string
		tweets, retweets int
		reasons          map[csv.Reason]int
	}{
		{"noflat.jsonl", 100, 47, map[csv.Reason]int{ReasonAPIError: 1}},
		{"flat.jsonl", 100, 47, map[csv.Reason]int{}},
		// Page 5 holds 112 tweets but only 3 in includes.tweets: 38 retweets
		// keep their own text.
		{"withheld.jsonl", 215, 83, map[csv.Reason]int{ReasonAPIError: 5, ReasonMissingReference: 38}},
		{"streaming_output_with_error.jsonl", 7, 0, map[csv.Reason]int{ReasonBadJSON: 1}},
		{"two_tweets.jsonl", 1, 1, map[csv.Reason]int{}},
		{"mentions_tweet.jsonl", 1, 1, map[csv.Reason]int{}},
		{"many_urls.jsonl", 1, 0, map[csv.Reason]int{}},
		{"cashtags.jsonl", 1, 0, map[csv.Reason]int{}},
		{"edited.jsonl", 1, 0, map[csv.Reason]int{}},
		{"quoted_edit.jsonl", 1, 0, map[csv.Reason]int{}},
		{"media_tweet.jsonl", 1, 0, map[csv.Reason]int{}},
		{"verified_type.jsonl", 1, 0, map[csv.Reason]int{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			tweets, reasons, errs := readFile(t, tc.file)
			if len(tweets) != tc.tweets {
				t.Fatalf("%d tweets, want %d (errors %v)", len(tweets), tc.tweets, errs)
			}
			rts, truncated := 0, 0
			for _, tw := range tweets {
				if tw.RetweetOf != "" {
					rts++
					if strings.HasPrefix(tw.Text, "RT @") {
						truncated++
					}
				}
				// The handle comes from includes.users, which lacks 6 authors
				// in withheld.jsonl's page 5: user may be empty, user_id not.
				if tw.UserID == "" || tw.Lang == "" {
					t.Errorf("tweet %s: user_id %q user %q lang %q", tw.ID, tw.UserID, tw.User, tw.Lang)
				}
				if err := tw.Validate(tw.ID); err != nil {
					t.Error(err)
				}
			}
			if truncated != reasons[ReasonMissingReference] {
				t.Errorf("%d retweets kept their truncated text, but %d references were missing", truncated, reasons[ReasonMissingReference])
			}
			if rts != tc.retweets {
				t.Errorf("%d retweets, want %d", rts, tc.retweets)
			}
			if !equalReasons(reasons, tc.reasons) {
				t.Errorf("errors %v, want %v: %v", reasons, tc.reasons, errs)
			}
		})
	}
}

func equalReasons(a, b map[csv.Reason]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// The page and the flattened file hold the same 100 tweets: both shapes
// must give the same events.
func TestFlatEqualsPage(t *testing.T) {
	page, _, _ := readFile(t, "noflat.jsonl")
	flat, _, _ := readFile(t, "flat.jsonl")
	byID := map[string]event.Tweet{}
	for _, tw := range page {
		byID[tw.ID] = tw
	}
	for _, f := range flat {
		p, ok := byID[f.ID]
		if !ok {
			t.Fatalf("flattened tweet %s not in the page", f.ID)
		}
		jsonEqual(t, f, p)
	}
}

// Named tweets, checked field by field against the raw JSON.
func TestNamedTweets(t *testing.T) {
	tweets, _, _ := readFile(t, "two_tweets.jsonl")
	want := event.Tweet{
		ID: "1394735776701816833", UserID: "1379899464345923590", User: "LachiVeronica",
		Text:      "#POIUYTREWQ", // the retweeted tweet's text, not "RT @bibaigna96: #POIUYTREWQ"
		CreatedAt: time.Date(2021, 5, 18, 19, 24, 56, 0, time.UTC), Lang: "und",
		RetweetOf: "1391677057810288641", ConversationID: "1394735776701816833",
		Hashtags: []string{"POIUYTREWQ"},
	}
	if len(tweets) != 1 {
		t.Fatalf("%d tweets", len(tweets))
	}
	if jsonEqual(t, tweets[0], want); t.Failed() {
		t.FailNow()
	}

	// Links come expanded, in text order.
	tweets, _, _ = readFile(t, "many_urls.jsonl")
	raw := rawTweet(t, "many_urls.jsonl")
	var wantURLs []string
	for _, u := range raw.Entities.URLs {
		wantURLs = append(wantURLs, u.ExpandedURL)
	}
	if len(wantURLs) == 0 || !slices.Equal(tweets[0].URLs, wantURLs) {
		t.Fatalf("urls %q, want %q", tweets[0].URLs, wantURLs)
	}
	for _, u := range tweets[0].URLs {
		if strings.HasPrefix(u, "https://t.co/") {
			t.Errorf("url %s not expanded", u)
		}
	}

	// A mention keeps its handle without '@'.
	tweets, _, _ = readFile(t, "mentions_tweet.jsonl")
	raw = rawTweet(t, "mentions_tweet.jsonl")
	if len(tweets[0].Mentions) == 0 || strings.HasPrefix(tweets[0].Mentions[0], "@") {
		t.Fatalf("mentions %q (raw retweet mentions %v)", tweets[0].Mentions, raw.Entities.Mentions)
	}
}

// rawTweet decodes data[0] of a one-page file with encoding/json into a
// map-free struct, independently of the reader's types.
func rawTweet(t *testing.T, name string) (out struct {
	Entities struct {
		URLs []struct {
			ExpandedURL string `json:"expanded_url"`
		} `json:"urls"`
		Mentions []map[string]any `json:"mentions"`
	} `json:"entities"`
}) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Data []json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &p); err != nil || len(p.Data) == 0 {
		t.Fatalf("%s: %v", name, err)
	}
	if err := json.Unmarshal(p.Data[0], &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// badLine is a bad line between two good ones: the error it must give
// (reason, a part of the detail) and how many tweets it still yields.
type badLine struct {
	name   string
	line   string
	reason csv.Reason
	detail string // a part of the message
	tweets int
}

// checkBadLines reads good, each case's line, good: the case's tweets plus
// the two good ones, and exactly one error, of the case's reason, naming
// f.jsonl:2 and the case's detail.
func checkBadLines(t *testing.T, newR newReader, good string, cases []badLine) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := good + "\n" + tc.line + "\n" + good + "\n"
			tweets, reasons, errs := readAll(t, newR(strings.NewReader(in), "f.jsonl", Options{}))
			if len(tweets) != 2+tc.tweets || reasons[tc.reason] != 1 || len(errs) != 1 {
				t.Fatalf("tweets %d, errors %v", len(tweets), errs)
			}
			if e := errs[0]; e.Line != 2 || !strings.Contains(e.Error(), "f.jsonl:2: ") || !strings.Contains(e.Detail, tc.detail) {
				t.Fatalf("error %q: want f.jsonl:2 and %q", e.Error(), tc.detail)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	good := `{"data":[{"id":"1","text":"hi","created_at":"2021-01-01T00:00:00.000Z","author_id":"9"}],"includes":{"users":[{"id":"9","username":"u"}]}}`
	checkBadLines(t, NewReader, good, []badLine{
		{"not JSON", `hello`, ReasonBadJSON, "byte 1", 0},
		{"cut off", good[:60], ReasonBadJSON, "", 0},
		{"no id", `{"data":[{"text":"hi","created_at":"2021-01-01T00:00:00Z"}]}`, ReasonEmptyID, "data[0].id", 0},
		{"no text", `{"data":[{"id":"1","created_at":"2021-01-01T00:00:00Z"}]}`, ReasonEmptyTxt, "data[0].text", 0},
		{"no time", `{"data":[{"id":"1","text":"x"}]}`, ReasonBadTime, "data[0].created_at", 0},
		{"unknown time", `{"data":[{"id":"1","text":"x","created_at":"Wed Oct 10 20:19:24 +0000 2018"}]}`, ReasonBadTime, "data[0].created_at", 0},
		{"wrong type", `{"data":[{"id":1,"text":"x"}]}`, ReasonBadJSON, "id: expected string", 0},
		{"missing reference", `{"data":[{"id":"2","text":"RT @a: x","created_at":"2021-01-01T00:00:00Z","referenced_tweets":[{"type":"retweeted","id":"7"}]}]}`, ReasonMissingReference, "data[0].referenced_tweets[0]", 1},
		{"api error", `{"errors":[{"resource_type":"tweet","resource_id":"5","title":"Not Found Error","detail":"Could not find tweet with ids: [5]."}]}`, ReasonAPIError, "errors[0]: tweet 5", 0},
		{"invalid UTF-8", "{\"data\":[{\"id\":\"1\",\"text\":\"\xff\"}]}", csv.ReasonInvalidUTF8, "byte 28", 0},
		{"10 KB account id", `{"data":[{"id":"1","text":"x","created_at":"2021-01-01T00:00:00Z","author_id":"` + strings.Repeat("9", 10<<10) + `"}]}`, ReasonInvalid, "data[0].user_id", 0},
		{"10 KB URL", `{"data":[{"id":"1","text":"x","created_at":"2021-01-01T00:00:00Z","entities":{"urls":[{"expanded_url":"https://` + strings.Repeat("a", 10<<10) + `"}]}}]}`, ReasonClipped, "data[0].entities", 1},
		{"not a tweet", `{"meta":{"result_count":0}}`, ReasonNotTweet, "", 0},
		{"array line", `[1,2]`, ReasonBadJSON, "", 0},
	})
}

func TestLongLine(t *testing.T) {
	good := `{"id":"1","text":"hi","created_at":"2021-01-01T00:00:00Z"}`
	in := good + "\n" + `{"text":"` + strings.Repeat("x", 10<<20) + `"}` + "\n" + good
	tweets, reasons, errs := readAll(t, NewReader(strings.NewReader(in), "f", Options{}))
	if len(tweets) != 2 || reasons[csv.ReasonLineTooLong] != 1 || errs[0].Line != 2 {
		t.Fatalf("tweets %d, errors %v", len(tweets), errs)
	}
}

// FuzzReader: whatever the bytes, the reader ends without a panic, and every
// tweet it returns is valid and carries an id encoding/json finds in its line
// (data[i].id, data.id or id).
func FuzzReader(f *testing.F) {
	fuzzReader(f, NewReader, v2IDs, []string{"two_tweets.jsonl", "streaming_output_with_error.jsonl"},
		`{"id":"1","text":"x","created_at":"2021-01-01T00:00:00Z","referenced_tweets":[{"type":"retweeted","id":"2","text":"y"}]}`,
		`{"data":{"id":"1"},"errors":[{}]}`)
}

// fuzzReader seeds with testdata files and lines, then checks that newR never
// panics and that every tweet it returns is valid, comes from a line
// encoding/json accepts (numbers as json.Number), and carries one of the ids
// that ids finds in that line's encoding/json value.
func fuzzReader(f *testing.F, newR newReader, ids func(any) []string, files []string, seeds ...string) {
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		lines := bytes.Split(b, []byte("\n"))
		r := newR(bytes.NewReader(b), "fuzz", Options{MaxLineBytes: 1 << 16})
		err := csv.Drain(context.Background(), r, func(row csv.Row) {
			if err := row.Tweet.Validate(row.Tweet.ID); err != nil {
				t.Fatalf("returned an invalid tweet: %v", err)
			}
			if row.Line < 1 || row.Line > len(lines) {
				t.Fatalf("line %d of %d", row.Line, len(lines))
			}
			line := bytes.TrimSpace(lines[row.Line-1])
			var v any
			d := json.NewDecoder(bytes.NewReader(line))
			d.UseNumber()
			if err := d.Decode(&v); err != nil || d.More() {
				t.Fatalf("line %d: a tweet from a line encoding/json rejects (%v): %q", row.Line, err, line)
			}
			if !slices.Contains(ids(v), row.Tweet.ID) {
				t.Fatalf("line %d: id %q is not among encoding/json's %q", row.Line, row.Tweet.ID, ids(v))
			}
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
	})
}

func v2IDs(v any) []string {
	var ids []string
	add := func(v any) {
		if m, ok := v.(map[string]any); ok {
			if s, ok := m["id"].(string); ok {
				ids = append(ids, s)
			}
		}
	}
	m, _ := v.(map[string]any)
	switch d := m["data"].(type) {
	case []any:
		for _, e := range d {
			add(e)
		}
	case map[string]any:
		add(d)
	}
	add(v)
	return ids
}

// BenchmarkPages parses twarc2 response pages (noflat.jsonl x10, 100 tweets a
// page, with includes); tweets/s is per core with GOMAXPROCS=1.
func BenchmarkPages(b *testing.B) {
	benchRead(b, NewReader, "noflat.jsonl", 10)
}

// BenchmarkPagesLibrary is BenchmarkPages without the fast decoder (every
// line by go-json-experiment): the speed-up of fast.go, measured side by
// side under the same load.
func BenchmarkPagesLibrary(b *testing.B) {
	benchRead(b, func(rd io.Reader, name string, opts Options) *Reader {
		r := NewReader(rd, name, opts)
		r.libraryOnly = true
		return r
	}, "noflat.jsonl", 10)
}

// benchRead reads testdata/name, repeated times over, with newR: bytes/s,
// allocations and tweets/s.
func benchRead(b *testing.B, newR newReader, name string, repeated int) {
	one, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat(one, repeated)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		r := newR(bytes.NewReader(data), name, Options{})
		if err := csv.Drain(context.Background(), r, func(csv.Row) { n++ }, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "tweets/s")
	b.ReportMetric(float64(n)/(cpuSeconds()-cpu0), "tweets/cpu-s")
}

// cpuSeconds is the process's user+system CPU time: on the shared machine
// the wall clock depends on the neighbours' load, CPU time much less.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}
