package netexport

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/tweetflow/tweetflow/alerts/coord"
	"github.com/tweetflow/tweetflow/alerts/signal"
	"github.com/tweetflow/tweetflow/event"
)

// network runs a small replay: a, b, c co-retweet twice; d, e once; f alone.
func network(t *testing.T) []coord.Edge {
	t.Helper()
	w := coord.Window{Signal: signal.CoRetweet, Span: time.Minute}
	e, err := coord.New(coord.Config{Windows: []coord.Window{w}})
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	n := 0
	rt := func(user, of string, at time.Duration) {
		n++
		e.Observe(&event.Tweet{ID: string(rune('A' + n)), UserID: user, User: "@" + user, RetweetOf: of, CreatedAt: t0.Add(at)})
	}
	for i, of := range []string{"x", "y"} {
		for j, u := range []string{"c", "a", "b"} {
			rt(u, of, time.Duration(i)*10*time.Minute+time.Duration(j)*time.Second)
		}
	}
	rt("e", "z", time.Hour)
	rt("d", "z", time.Hour+time.Second)
	rt("f", "q", time.Hour+time.Second)
	return e.Edges(w)
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, network(t)); err != nil {
		t.Fatal(err)
	}
	want := "user_1,user_2,weight\na,b,2\na,c,2\nb,c,2\nd,e,1\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
	b.Reset()
	if err := WriteCSV(&b, Filter(network(t), 2)); err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(b.String(), "\n"); got != 4 {
		t.Errorf("min weight 2: %d lines\n%s", got, b.String())
	}
}

func decode(t *testing.T, b []byte) GEXF {
	t.Helper()
	var g GEXF
	if err := xml.Unmarshal(b, &g); err != nil {
		t.Fatalf("decoding the GEXF: %v\n%s", err, b)
	}
	return g
}

func TestWriteGEXF(t *testing.T) {
	var b bytes.Buffer
	if err := WriteGEXF(&b, "co-retweet/1m0s", network(t)); err != nil {
		t.Fatal(err)
	}
	g := decode(t, b.Bytes())
	if g.Version != "1.3" || g.Graph.DefaultEdgeType != "undirected" || g.Meta.Description != "co-retweet/1m0s" {
		t.Errorf("header %+v", g)
	}
	type nv struct{ label, handle, tweets, group string }
	got := map[string]nv{}
	for _, n := range g.Graph.Nodes {
		v := nv{label: n.Label}
		for _, a := range n.Values {
			switch a.For {
			case AttrHandle:
				v.handle = a.Value
			case AttrTweets:
				v.tweets = a.Value
			case AttrGroup:
				v.group = a.Value
			}
		}
		got[n.ID] = v
	}
	want := map[string]nv{
		"a": {"@a", "@a", "2", "0"}, "b": {"@b", "@b", "2", "0"}, "c": {"@c", "@c", "2", "0"},
		"d": {"@d", "@d", "1", "1"}, "e": {"@e", "@e", "1", "1"},
	}
	if len(got) != len(want) {
		t.Errorf("nodes %v, want %v", got, want)
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("node %s: %+v, want %+v", id, got[id], v)
		}
	}
	if len(g.Graph.Edges) != 4 || g.Graph.Edges[0].Source != "a" || g.Graph.Edges[0].Target != "b" || g.Graph.Edges[0].Weight != 2 {
		t.Errorf("edges %+v", g.Graph.Edges)
	}
}

// FuzzExport: any account id or handle gives a CSV that encoding/csv reads
// back, a GEXF that encoding/xml reads back and a GraphML of GraphML's structure, with the ids intact when
// XML can carry them.
func FuzzExport(f *testing.F) {
	f.Add("u1", "u2", "@h", 3)
	f.Add("a,\"b\"\n", "<&>", "\x00\x1f", 1)
	f.Add("\xff\xfe", "é", "]]>", 0)
	f.Fuzz(func(t *testing.T, a, b, h string, w int) {
		if a == b || a > b {
			return
		}
		edges := []coord.Edge{{A: a, B: b, HandleA: h, HandleB: h, AB: w, BA: 1}}
		var out bytes.Buffer
		if err := WriteCSV(&out, edges); err != nil {
			t.Fatal(err)
		}
		recs, err := csv.NewReader(&out).ReadAll()
		if err != nil {
			t.Fatalf("reading back %q: %v", out.String(), err)
		}
		if len(recs) != 2 || len(recs[1]) != 3 {
			t.Fatalf("records %q", recs)
		}
		out.Reset()
		if err := WriteGEXF(&out, h, edges); err != nil {
			t.Fatal(err)
		}
		g := decode(t, out.Bytes())
		if len(g.Graph.Nodes) != 2 || len(g.Graph.Edges) != 1 {
			t.Fatalf("graph %+v", g.Graph)
		}
		if xmlSafe(a) && xmlSafe(b) && (g.Graph.Edges[0].Source != a || g.Graph.Edges[0].Target != b) {
			t.Errorf("edge %+v, want %q-%q", g.Graph.Edges[0], a, b)
		}
		out.Reset()
		if err := WriteGraphML(&out, h, edges); err != nil {
			t.Fatal(err)
		}
		// Account ids are node ids as they are (as networkx writes them);
		// graphml.xsd wants NMTOKENs there, which numeric user ids and
		// Twitter handles are.
		if err := validateGraphML(out.Bytes()); err != nil && nmtoken(a) && nmtoken(b) && xmlSafe(h) {
			t.Fatalf("GraphML structure: %v\n%s", err, out.Bytes())
		}
		var gm GraphML
		if err := xml.Unmarshal(out.Bytes(), &gm); err != nil {
			t.Fatal(err)
		}
		if len(gm.Graph.Nodes) != 2 || len(gm.Graph.Edges) != 1 {
			t.Fatalf("graph %+v", gm.Graph)
		}
		if xmlSafe(a) && xmlSafe(b) && (gm.Graph.Edges[0].Source != a || gm.Graph.Edges[0].Target != b) {
			t.Errorf("edge %+v, want %q-%q", gm.Graph.Edges[0], a, b)
		}
	})
}

// xmlSafe: valid UTF-8 of characters XML 1.0 carries, without the \r and
// \t that attribute value normalisation turns into spaces.
func xmlSafe(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0xFFFE || r == 0xFFFF || (r >= 0xD800 && r <= 0xDFFF) || r == utf8.RuneError {
			return false
		}
	}
	return true
}
