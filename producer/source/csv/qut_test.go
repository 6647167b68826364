package csv

import (
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/event"
)

// Rows in the toolkit's own layout, timestamps as its sample data writes
// them (Unix seconds with a fraction).
func TestQUT(t *testing.T) {
	in := QUTHeader + "\n" +
		`1,100,alice,,,"hello, world",1606451170.518101,https://example.com/a http://t.co/x` + "\n" +
		`2,101,bob,1,,"RT @alice: hello, world",1606451171,` + "\n" +
		`3,102,carol,,1,@alice hi,1606451172.5,` + "\n" +
		`4,103,dan,,,late,yesterday,` + "\n" +
		`5,104,erin,,,long link,1606451173,https://` + strings.Repeat("a", 5000) + ` https://ok.example` + "\n" +
		strings.Repeat("9", 300) + `,105,fay,,,big id,1606451174,` + "\n"
	res := readAll(t, in, QUT())
	if len(res.rows) != 4 || len(res.errs) != 3 {
		t.Fatalf("rows %+v errs %v", res.rows, res.errs)
	}
	want := []event.Tweet{
		{ID: "1", UserID: "100", User: "alice", Text: "hello, world", CreatedAt: time.Unix(1606451170, 518101000).UTC(), URLs: []string{"https://example.com/a", "http://t.co/x"}},
		{ID: "2", UserID: "101", User: "bob", Text: "RT @alice: hello, world", CreatedAt: time.Unix(1606451171, 0).UTC(), RetweetOf: "1"},
		{ID: "3", UserID: "102", User: "carol", Text: "@alice hi", CreatedAt: time.Unix(1606451172, 5e8).UTC(), ReplyTo: "1"},
		{ID: "5", UserID: "104", User: "erin", Text: "long link", CreatedAt: time.Unix(1606451173, 0).UTC(), URLs: []string{"https://ok.example"}},
	}
	for i, w := range want {
		g := res.rows[i].Tweet
		if g.ID != w.ID || g.UserID != w.UserID || g.User != w.User || g.Text != w.Text || !g.CreatedAt.Equal(w.CreatedAt) ||
			g.RetweetOf != w.RetweetOf || g.ReplyTo != w.ReplyTo || !slices.Equal(g.URLs, w.URLs) {
			t.Errorf("row %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
	for i, w := range []struct {
		line   int
		reason Reason
		detail string
	}{{5, ReasonBadTimestamp, `"yesterday" is not a number of seconds`}, {6, ReasonClipped, "tweet 5: 1 url"}, {7, ReasonInvalidField, "id: 300 bytes"}} {
		if e := res.errs[i]; e.Line != w.line || e.Reason != w.reason || !strings.Contains(e.Detail, w.detail) {
			t.Errorf("error %d: %v, want line %d %s %q", i, e, w.line, w.reason, w.detail)
		}
	}
}

func TestParseEpoch(t *testing.T) {
	for _, tc := range []struct {
		in   string
		f    TimeFormat
		want time.Time
	}{
		{"1606451170.518101", Unix, time.Unix(1606451170, 518101000)},
		{"1606451170.123456789123", Unix, time.Unix(1606451170, 123456789)},
		{"1606451170.", Unix, time.Unix(1606451170, 0)},
		{".25", Unix, time.Unix(0, 25e7)},
		{"-1.5", Unix, time.Unix(-2, 5e8)},
		{"+7", Unix, time.Unix(7, 0)},
		{"1606451170518.25", UnixMilli, time.Unix(1606451170, 518250000)},
	} {
		got, err := parseTime(tc.f, tc.in)
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s %q: %v %v, want %v", tc.f, tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", ".", "-", "1e9", "1,5", "0x10", "1.2.3", "1 2", "99999999999999999999", "200000000000"} {
		if _, err := parseTime(Unix, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// FuzzParseEpoch checks parseEpoch against math/big: whenever it accepts
// a string, the time is the exact decimal value truncated to nanoseconds.
func FuzzParseEpoch(f *testing.F) {
	for _, s := range []string{"1606451170.518101", "-1.5", ".5", "+0.000000001", "1606451170518.25"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, ms bool) {
		format, per := Unix, int64(1)
		if ms {
			format, per = UnixMilli, 1000
		}
		got, err := parseTime(format, s)
		if err != nil {
			return
		}
		r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
		if !ok {
			t.Fatalf("%q accepted, but big.Rat rejects it", s)
		}
		// nanoseconds = value * 1e9 / per, truncated toward zero
		ns := new(big.Rat).Mul(r, big.NewRat(1e9, per))
		want := new(big.Int).Quo(ns.Num(), ns.Denom())
		have := new(big.Int).Mul(big.NewInt(got.Unix()), big.NewInt(1e9))
		have.Add(have, big.NewInt(int64(got.Nanosecond())))
		if have.Cmp(want) != 0 {
			t.Fatalf("%q: %v ns, want %v", s, have, want)
		}
	})
}
