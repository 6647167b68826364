// Package signal says what counts as "the same action" for each
// coordination signal: the account a tweet is keyed on, and the keys two
// tweets must share to co-act (the retweeted id, the normalised URL, the
// reply target, the normalised text, a hashtag, a mention). The streaming
// alert engine and the offline network builder both use it, so the alerts
// and the networks an analyst exports cannot disagree on what a co-link is.
//
// The rules follow the QUT coordination-network-toolkit (compute_networks.py,
// preprocess.py): retweets count only for co-retweet (their links, text and
// reply target are the original's), and text for co-tweet is lower-cased,
// stripped of @mentions and of repeated white space.
package signal

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tweetflow/tweetflow/event"
)

// Kind is one coordination signal.
type Kind string

const (
	CoRetweet Kind = "co-retweet"
	CoTweet   Kind = "co-tweet"
	CoSimilar Kind = "co-similar"
	CoLink    Kind = "co-link"
	CoReply   Kind = "co-reply"
	// CoHashtag and CoMention are off by default in the alert engine:
	// organic trends are many unrelated accounts using one hashtag or
	// mentioning one celebrity within minutes, so a shared hashtag or
	// mention says little about coordination on its own.
	CoHashtag Kind = "co-hashtag"
	CoMention Kind = "co-mention"
)

// Kinds lists every signal, in a fixed order.
func Kinds() []Kind {
	return []Kind{CoRetweet, CoTweet, CoSimilar, CoLink, CoReply, CoHashtag, CoMention}
}

// ParseKind returns the kind named s (e.g. "co-link"); errors list the kinds.
func ParseKind(s string) (Kind, error) {
	for _, k := range Kinds() {
		if string(k) == s {
			return k, nil
		}
	}
	names := make([]string, 0, 7)
	for _, k := range Kinds() {
		names = append(names, string(k))
	}
	return "", fmt.Errorf("signal %q: not one of %s", s, strings.Join(names, ", "))
}

// Account is the account a tweet is keyed on: its stable id, or its handle
// when the data has no id (sentiment140 rows).
func Account(t *event.Tweet) string {
	if t.UserID != "" {
		return t.UserID
	}
	return t.User
}

// Skip reasons counted by AppendKeys' callers.
const (
	SkipSelfRetweet = "self_retweet" // a tweet retweeting itself
	SkipSelfReply   = "self_reply"   // a tweet replying to itself
)

// AppendKeys appends to dst the keys of t for kind k (distinct, in order of
// first appearance) and returns it with the reason t was left out, if any.
// CoSimilar has no keys: texts are compared, not matched. A tweet that
// retweets or answers itself is bad data and yields no key.
func AppendKeys(dst []string, k Kind, t *event.Tweet) ([]string, string) {
	if k == CoRetweet {
		switch {
		case t.RetweetOf == "":
			return dst, ""
		case t.RetweetOf == t.ID:
			return dst, SkipSelfRetweet
		}
		return append(dst, t.RetweetOf), ""
	}
	if t.RetweetOf != "" {
		return dst, "" // as the toolkit: a retweet only co-retweets
	}
	start := len(dst)
	add := func(key string) {
		if key != "" && !slices.Contains(dst[start:], key) {
			dst = append(dst, key)
		}
	}
	switch k {
	case CoTweet:
		add(NormalizeText(t.Text))
	case CoReply:
		if t.ReplyTo == t.ID && t.ReplyTo != "" {
			return dst, SkipSelfReply
		}
		add(t.ReplyTo)
	case CoLink:
		for _, u := range t.URLs {
			add(NormalizeURL(u))
		}
	case CoHashtag:
		for _, h := range t.Hashtags {
			add(strings.ToLower(strings.TrimPrefix(h, "#")))
		}
	case CoMention:
		for _, m := range t.Mentions {
			add(strings.ToLower(strings.TrimPrefix(m, "@")))
		}
	}
	return dst, ""
}

// NormalizeText is the toolkit's co-tweet preprocessor
// (similarity.message_preprocessor): lower case, every "@..." up to the next
// white space removed, white space runs collapsed to one space.
//
// An ASCII text takes one pass and one allocation (normalizeASCII); the
// general path below defines the result, and FuzzNormalizeText holds the
// two equal. (The general path was three quarters of the co-tweet
// network's cost per tweet in the alert engine.)
func NormalizeText(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return normalizeText(s)
		}
	}
	return normalizeASCII(s)
}

// normalizeASCII is NormalizeText of an ASCII text. For ASCII,
// unicode.IsSpace is these six bytes and strings.ToLower changes A-Z only.
func normalizeASCII(s string) string {
	space := func(c byte) bool { return c == ' ' || '\t' <= c && c <= '\r' }
	b := make([]byte, 0, len(s))
	gap := false // white space seen since the last byte kept
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case space(c):
			gap = len(b) > 0
		case c == '@':
			for i+1 < len(s) && !space(s[i+1]) {
				i++
			}
		default:
			if gap {
				b, gap = append(b, ' '), false
			}
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	return string(b)
}

// normalizeText is NormalizeText of any text.
func normalizeText(s string) string {
	s = strings.ToLower(s)
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		i := strings.IndexByte(s, '@')
		if i < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:i])
		s = s[i:]
		j := strings.IndexFunc(s, unicode.IsSpace)
		if j < 0 {
			s = ""
		} else {
			s = s[j:]
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func isSpace(r rune) bool {
	return strings.ContainsRune(" \t\n\v\f\r\u0085\u00a0", r) || r > 0x7f && len(strings.Fields(string(r))) == 0
}

// trackingParams are query parameters that say who shared a link, not what
// it points to. Parameters starting with "utm_" are tracking too.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "dclid": true, "gbraid": true, "wbraid": true, "msclkid": true,
	"igshid": true, "mc_cid": true, "mc_eid": true, "_hsenc": true, "_hsmi": true, "yclid": true,
	"ref_src": true, "ref_url": true, "cmpid": true, "mkt_tok": true, "__twitter_impression": true,
}

// NormalizeURL returns the form under which two links count as one URL:
// scheme dropped (http and https are the same page), host lower-cased
// without "www." and a default port, the path's trailing slashes and the
// fragment removed, tracking parameters (utm_*, fbclid, gclid, ...) removed
// and the other parameters sorted. A shortener link (bit.ly/x) stays its own
// URL: nothing is fetched. Text that does not parse as a URL is returned
// trimmed and lower-cased, so it still matches itself.
func NormalizeURL(raw string) string {
	s := strings.TrimSpace(raw)
	if s == "" {
		return ""
	}
	lower := strings.ToLower(s)
	if !strings.HasPrefix(lower, "http://") && !strings.HasPrefix(lower, "https://") {
		if strings.Contains(s, "://") {
			return lower // another scheme: kept whole
		}
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return lower
	}
	host := strings.ToLower(u.Hostname())
	host = strings.TrimPrefix(host, "www.")
	if p := u.Port(); p != "" && p != "80" && p != "443" {
		host += ":" + p
	}
	path := strings.TrimRight(u.EscapedPath(), "/")
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(strings.ToLower(k), "utm_") || trackingParams[strings.ToLower(k)] {
			delete(q, k)
		}
	}
	out := host + path
	if enc := q.Encode(); enc != "" { // Encode sorts by key
		out += "?" + enc
	}
	return out
}
