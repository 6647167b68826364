package signal

import (
	"slices"
	"testing"

	"github.com/tweetflow/tweetflow/event"
)

func TestNormalizeURL(t *testing.T) {
	same := [][]string{
		{"https://www.example.com/news/story/", "http://example.com/news/story", "example.com/news/story",
			"HTTPS://Example.COM/news/story?utm_source=twitter&utm_medium=social", "https://example.com:443/news/story#top",
			"https://example.com/news/story?fbclid=abc"},
		{"https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2&utm_campaign=x"},
	}
	for _, group := range same {
		want := NormalizeURL(group[0])
		for _, u := range group[1:] {
			if got := NormalizeURL(u); got != want {
				t.Errorf("NormalizeURL(%q) = %q, want %q (as %q)", u, got, want, group[0])
			}
		}
	}
	differ := [][2]string{
		{"https://bit.ly/abc", "https://example.com/news/story"}, // a shortener is its own URL
		{"https://example.com/News", "https://example.com/news"}, // paths are case-sensitive
		{"https://example.com/a?id=1", "https://example.com/a?id=2"},
		{"https://example.com:8080/a", "https://example.com/a"},
	}
	for _, d := range differ {
		if NormalizeURL(d[0]) == NormalizeURL(d[1]) {
			t.Errorf("%q and %q normalise to the same %q", d[0], d[1], NormalizeURL(d[0]))
		}
	}
	if got := NormalizeURL("  "); got != "" {
		t.Errorf("blank URL: %q", got)
	}
}

func TestAppendKeys(t *testing.T) {
	rt := &event.Tweet{ID: "2", RetweetOf: "1", URLs: []string{"https://x.com/a"}, Text: "RT @a: hi"}
	if k, _ := AppendKeys(nil, CoRetweet, rt); !slices.Equal(k, []string{"1"}) {
		t.Errorf("co-retweet keys %q", k)
	}
	for _, kind := range []Kind{CoLink, CoTweet, CoReply, CoHashtag} {
		if k, _ := AppendKeys(nil, kind, rt); len(k) != 0 {
			t.Errorf("a retweet has %s keys %q", kind, k)
		}
	}
	self := &event.Tweet{ID: "5", RetweetOf: "5"}
	if k, why := AppendKeys(nil, CoRetweet, self); len(k) != 0 || why != SkipSelfRetweet {
		t.Errorf("self retweet: %q %q", k, why)
	}
	tw := &event.Tweet{ID: "3", ReplyTo: "9", Text: "Hello  @bob World", URLs: []string{"http://www.a.com/x/", "https://a.com/x?utm_source=t"},
		Hashtags: []string{"Tag", "tag"}}
	if k, _ := AppendKeys(nil, CoLink, tw); !slices.Equal(k, []string{"a.com/x"}) {
		t.Errorf("co-link keys %q", k)
	}
	if k, _ := AppendKeys(nil, CoTweet, tw); !slices.Equal(k, []string{"hello world"}) {
		t.Errorf("co-tweet keys %q", k)
	}
	if k, _ := AppendKeys(nil, CoReply, tw); !slices.Equal(k, []string{"9"}) {
		t.Errorf("co-reply keys %q", k)
	}
	if k, _ := AppendKeys(nil, CoHashtag, tw); !slices.Equal(k, []string{"tag"}) {
		t.Errorf("co-hashtag keys %q", k)
	}
	if Account(&event.Tweet{User: "h"}) != "h" || Account(&event.Tweet{User: "h", UserID: "7"}) != "7" {
		t.Error("Account: id first, handle only without one")
	}
	if _, err := ParseKind("co-links"); err == nil {
		t.Error("ParseKind accepted co-links")
	}
}

func TestNormalizeText(t *testing.T) {
	for in, want := range map[string]string{
		"Hello @bob  World":      "hello world",
		"@a @b":                  "",
		"mail a@b.c now\tplease": "mail a now please",
		"ends with @x":           "ends with",
	} {
		if got := NormalizeText(in); got != want {
			t.Errorf("NormalizeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// NormalizeText's ASCII pass is its general definition's result.
func FuzzNormalizeText(f *testing.F) {
	for _, s := range []string{"Hello @bob  World", "@a @b", "mail a@b.c now\tplease", " \v\f lead and trail \r\n", "A@", "x\x00@y\x7fZ", "caf\u00e9 @x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormalizeText(s), normalizeText(s); got != want {
			t.Fatalf("NormalizeText(%q) = %q, want %q", s, got, want)
		}
	})
}

// No input panics either normaliser.
func FuzzNormalizeURL(f *testing.F) {
	for _, s := range []string{"https://www.example.com/a/?utm_source=x&b=1", "bit.ly/x", "%zz", "http://[::1", "://", "a b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		NormalizeURL(s)
		NormalizeText(s)
	})
}
