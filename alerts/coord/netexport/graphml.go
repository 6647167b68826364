package netexport

import (
	"encoding/xml"
	"io"
	"slices"
	"strconv"

	"github.com/tweetflow/tweetflow/alerts/coord"
)

// GraphMLNamespace is the GraphML 1.0 namespace.
const GraphMLNamespace = "http://graphml.graphdrawing.org/xmlns"

// GraphML is the document WriteGraphML writes (GraphML 1.0, the structure
// of graphml.xsd: the keys first, then one graph of nodes and edges, each
// carrying its data); exported so tests and readers can decode it.
type GraphML struct {
	XMLName        xml.Name `xml:"http://graphml.graphdrawing.org/xmlns graphml"`
	XSI            string   `xml:"xmlns:xsi,attr,omitempty"`
	SchemaLocation string   `xml:"xsi:schemaLocation,attr,omitempty"`
	Keys           []Key    `xml:"key"`
	Graph          struct {
		ID          string        `xml:"id,attr"`
		EdgeDefault string        `xml:"edgedefault,attr"`
		Desc        string        `xml:"desc,omitempty"`
		Nodes       []GraphMLNode `xml:"node"`
		Edges       []GraphMLEdge `xml:"edge"`
	} `xml:"graph"`
}

// Key declares one attribute (GraphML-Attributes: attr.name, attr.type).
type Key struct {
	ID   string `xml:"id,attr"`
	For  string `xml:"for,attr"`
	Name string `xml:"attr.name,attr"`
	Type string `xml:"attr.type,attr"`
}

type GraphMLNode struct {
	ID   string `xml:"id,attr"`
	Data []Data `xml:"data"`
}

type GraphMLEdge struct {
	ID     string `xml:"id,attr"`
	Source string `xml:"source,attr"`
	Target string `xml:"target,attr"`
	Data   []Data `xml:"data"`
}

type Data struct {
	Key   string `xml:"key,attr"`
	Value string `xml:",chardata"`
}

// Key ids in the GraphML: the node attributes of the GEXF (AttrHandle,
// AttrTweets, AttrGroup), a label (Gephi shows it; the handle, or the id
// when there is none) and the edge weight, named "weight" as Gephi and
// networkx read it.
const (
	AttrLabel  = "label"
	AttrWeight = "weight"
)

// WriteGraphML writes the edges as an undirected GraphML graph whose id is
// desc (e.g. "co-retweet/1m0s"), with the same nodes, attributes and groups
// as WriteGEXF. Gephi, networkx (read_graphml) and igraph read it. Node ids
// are the account ids as they are, as networkx writes them: graphml.xsd
// wants an NMTOKEN there, which numeric user ids and Twitter handles
// ([A-Za-z0-9_]) are; an id with spaces or punctuation (a handle of another
// source) is kept readable rather than renamed.
func WriteGraphML(w io.Writer, desc string, edges []coord.Edge) error {
	g := GraphML{XSI: "http://www.w3.org/2001/XMLSchema-instance",
		SchemaLocation: GraphMLNamespace + " " + GraphMLNamespace + "/1.0/graphml.xsd"}
	g.Keys = []Key{
		{AttrLabel, "node", AttrLabel, "string"},
		{AttrHandle, "node", AttrHandle, "string"},
		{AttrTweets, "node", AttrTweets, "int"},
		{AttrGroup, "node", AttrGroup, "int"},
		{AttrWeight, "edge", AttrWeight, "int"},
	}
	g.Graph.ID, g.Graph.EdgeDefault, g.Graph.Desc = desc, "undirected", "tweetflow network "+desc
	for _, n := range nodes(edges) {
		label := n.handle
		if label == "" {
			label = n.id
		}
		data := []Data{{AttrLabel, label}, {AttrHandle, n.handle}, {AttrTweets, strconv.Itoa(n.tweets)}, {AttrGroup, strconv.Itoa(n.group)}}
		if n.handle == "" {
			// An account known only by id has no handle: no data, as
			// GraphML says an absent value (networkx reads an empty one
			// as absent too).
			data = slices.Delete(data, 1, 2)
		}
		g.Graph.Nodes = append(g.Graph.Nodes, GraphMLNode{ID: n.id, Data: data})
	}
	for i, e := range edges {
		g.Graph.Edges = append(g.Graph.Edges, GraphMLEdge{ID: "e" + strconv.Itoa(i), Source: e.A, Target: e.B,
			Data: []Data{{AttrWeight, strconv.Itoa(e.Weight())}}})
	}
	return writeXML(w, "graphml", &g)
}
