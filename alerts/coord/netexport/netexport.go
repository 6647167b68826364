// Package netexport writes a coordination network (alerts/coord edges) for
// analysts: an edge list CSV in the layout the issue and pandas/R users
// expect (user_1,user_2,weight, one row per unordered pair, user_1 < user_2)
// and GEXF 1.3 for Gephi, with the handle, the tweet count and the group
// (connected component of the exported edges) as node attributes.
package netexport

import (
	"encoding/csv"
	"encoding/xml"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/tweetflow/tweetflow/alerts/coord"
)

// Filter keeps the edges whose undirected weight is at least min.
func Filter(edges []coord.Edge, min int) []coord.Edge {
	var out []coord.Edge
	for _, e := range edges {
		if e.Weight() >= min {
			out = append(out, e)
		}
	}
	return out
}

// WriteCSV writes user_1,user_2,weight rows, one per edge (edges from
// coord.Engine.Edges already have A < B).
func WriteCSV(w io.Writer, edges []coord.Edge) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"user_1", "user_2", "weight"}); err != nil {
		return fmt.Errorf("edge list: %w", err)
	}
	for _, e := range edges {
		a, b := e.A, e.B
		if a > b {
			a, b = b, a
		}
		if err := cw.Write([]string{a, b, strconv.Itoa(e.Weight())}); err != nil {
			return fmt.Errorf("edge list: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("edge list: %w", err)
	}
	return nil
}

// GEXF is the document WriteGEXF writes; exported so tests and readers can
// decode it with encoding/xml.
type GEXF struct {
	XMLName xml.Name `xml:"http://gexf.net/1.3 gexf"`
	Version string   `xml:"version,attr"`
	Meta    struct {
		Creator     string `xml:"creator"`
		Description string `xml:"description"`
	} `xml:"meta"`
	Graph struct {
		Mode            string `xml:"mode,attr"`
		DefaultEdgeType string `xml:"defaultedgetype,attr"`
		Attributes      struct {
			Class string      `xml:"class,attr"`
			Attrs []Attribute `xml:"attribute"`
		} `xml:"attributes"`
		Nodes []Node `xml:"nodes>node"`
		Edges []Edge `xml:"edges>edge"`
	} `xml:"graph"`
}

type Attribute struct {
	ID    string `xml:"id,attr"`
	Title string `xml:"title,attr"`
	Type  string `xml:"type,attr"`
}

type Node struct {
	ID     string     `xml:"id,attr"`
	Label  string     `xml:"label,attr"`
	Values []AttValue `xml:"attvalues>attvalue"`
}

type AttValue struct {
	For   string `xml:"for,attr"`
	Value string `xml:"value,attr"`
}

type Edge struct {
	ID     string `xml:"id,attr"`
	Source string `xml:"source,attr"`
	Target string `xml:"target,attr"`
	Weight int    `xml:"weight,attr"`
}

// Node attribute ids in the GEXF.
const (
	AttrHandle = "handle"
	AttrTweets = "tweets"
	AttrGroup  = "group"
)

// node is one account of an exported network.
type node struct {
	id, handle    string
	tweets, group int
}

// nodes returns the accounts of edges sorted by id, with their handle
// (the latest an edge carries), tweet count and group: the connected
// component of the exported edges, numbered from 0 by decreasing size,
// ties by the smallest account id.
func nodes(edges []coord.Edge) []node {
	type info struct {
		handle string
		tweets int
	}
	infos := map[string]info{}
	parent := map[string]string{}
	find := func(x string) string {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, e := range edges {
		for _, n := range [2]struct {
			id, handle string
			tweets     int
		}{{e.A, e.HandleA, e.TweetsA}, {e.B, e.HandleB, e.TweetsB}} {
			if _, ok := infos[n.id]; !ok {
				parent[n.id] = n.id
			}
			infos[n.id] = info{n.handle, n.tweets}
		}
		ra, rb := find(e.A), find(e.B)
		if ra != rb {
			parent[max(ra, rb)] = min(ra, rb)
		}
	}
	ids := make([]string, 0, len(infos))
	for id := range infos {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	size := map[string]int{}
	for _, id := range ids {
		size[find(id)]++
	}
	roots := make([]string, 0, len(size))
	for r := range size {
		roots = append(roots, r)
	}
	sort.Slice(roots, func(i, j int) bool {
		if size[roots[i]] != size[roots[j]] {
			return size[roots[i]] > size[roots[j]]
		}
		return roots[i] < roots[j] // the root is its group's smallest id
	})
	group := map[string]int{}
	for i, r := range roots {
		group[r] = i
	}
	out := make([]node, len(ids))
	for i, id := range ids {
		out[i] = node{id: id, handle: infos[id].handle, tweets: infos[id].tweets, group: group[find(id)]}
	}
	return out
}

// WriteGEXF writes the edges as an undirected GEXF graph described by desc
// (e.g. the window, "co-retweet/1m0s"), with the nodes' handle, tweet count
// and group (see nodes). Text that XML cannot carry (control characters) is
// replaced by U+FFFD by encoding/xml.
func WriteGEXF(w io.Writer, desc string, edges []coord.Edge) error {
	var g GEXF
	g.Version = "1.3"
	g.Meta.Creator = "tweetflow"
	g.Meta.Description = desc
	g.Graph.Mode, g.Graph.DefaultEdgeType = "static", "undirected"
	g.Graph.Attributes.Class = "node"
	g.Graph.Attributes.Attrs = []Attribute{{AttrHandle, "handle", "string"}, {AttrTweets, "tweets", "integer"}, {AttrGroup, "group", "integer"}}
	for _, n := range nodes(edges) {
		label := n.handle
		if label == "" {
			label = n.id
		}
		g.Graph.Nodes = append(g.Graph.Nodes, Node{ID: n.id, Label: label, Values: []AttValue{
			{AttrHandle, n.handle}, {AttrTweets, strconv.Itoa(n.tweets)}, {AttrGroup, strconv.Itoa(n.group)}}})
	}
	for i, e := range edges {
		g.Graph.Edges = append(g.Graph.Edges, Edge{ID: strconv.Itoa(i), Source: e.A, Target: e.B, Weight: e.Weight()})
	}
	return writeXML(w, "gexf", &g)
}

func writeXML(w io.Writer, format string, doc any) error {
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("%s: %w", format, err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", " ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("%s: %w", format, err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("%s: %w", format, err)
	}
	return nil
}
