package netexport

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/tweetflow/tweetflow/alerts/coord"
)

// validateGraphML checks b against the structure of GraphML 1.0
// (graphml.xsd and the GraphML-Attributes extension), element by element:
// the root is graphml in the GraphML namespace with key* then graph; each
// key has an id, a for of node|edge|graph|all and an attr.type of the
// schema's; the graph has an edgedefault, then desc?, then nodes and edges;
// node ids are unique, edges join declared nodes, and every data names a
// key declared for its element whose type its value parses as. (The XSD
// itself cannot be fetched here; this is what it says, for the elements
// written.)
func validateGraphML(b []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(b))
	type keyDecl struct{ domain, typ string }
	keys := map[string]keyDecl{}
	nodes := map[string]bool{}
	var edges [][2]string
	var stack []string
	seenGraph, seenContent := false, false
	var dataKey, dataFor string
	var dataVal bytes.Buffer
	attr := func(se xml.StartElement, name string) (string, bool) {
		for _, a := range se.Attr {
			if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == GraphMLNamespace) {
				return a.Value, true
			}
		}
		return "", false
	}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("not well-formed XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Space != GraphMLNamespace {
				return fmt.Errorf("element %s: not in the GraphML namespace (%q)", t.Name.Local, t.Name.Space)
			}
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			name := t.Name.Local
			switch {
			case parent == "" && name == "graphml":
			case parent == "graphml" && name == "key":
				if seenGraph {
					return errors.New("key after graph: keys come first")
				}
				id, ok := attr(t, "id")
				if !ok || id == "" {
					return errors.New("key without id")
				}
				domain, _ := attr(t, "for")
				if !slices.Contains([]string{"node", "edge", "graph", "all"}, domain) {
					return fmt.Errorf("key %s: for=%q", id, domain)
				}
				typ, _ := attr(t, "attr.type")
				if !slices.Contains([]string{"boolean", "int", "long", "float", "double", "string"}, typ) {
					return fmt.Errorf("key %s: attr.type=%q", id, typ)
				}
				if _, dup := keys[id]; dup {
					return fmt.Errorf("key %s declared twice", id)
				}
				keys[id] = keyDecl{domain, typ}
			case parent == "graphml" && name == "graph":
				if seenGraph {
					return errors.New("a second graph")
				}
				seenGraph = true
				if d, _ := attr(t, "edgedefault"); d != "directed" && d != "undirected" {
					return fmt.Errorf("graph edgedefault=%q", d)
				}
			case parent == "graph" && name == "desc":
				if seenContent {
					return errors.New("graph desc after its nodes or edges")
				}
			case parent == "graph" && name == "node":
				seenContent = true
				id, _ := attr(t, "id")
				if !nmtoken(id) || nodes[id] {
					return fmt.Errorf("node id %q: not an NMTOKEN (graphml.xsd) or repeated", id)
				}
				nodes[id] = true
			case parent == "graph" && name == "edge":
				seenContent = true
				s, _ := attr(t, "source")
				d, _ := attr(t, "target")
				edges = append(edges, [2]string{s, d})
			case (parent == "node" || parent == "edge" || parent == "graph") && name == "data":
				dataKey, _ = attr(t, "key")
				dataFor = parent
				dataVal.Reset()
			default:
				return fmt.Errorf("element %s inside %q: not allowed by GraphML", name, parent)
			}
			stack = append(stack, name)
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] == "data" {
				dataVal.Write(t)
			}
		case xml.EndElement:
			if stack[len(stack)-1] == "data" {
				k, ok := keys[dataKey]
				if !ok || (k.domain != dataFor && k.domain != "all") {
					return fmt.Errorf("data key %q on a %s: not declared for it", dataKey, dataFor)
				}
				v := dataVal.String()
				var err error
				switch k.typ {
				case "int", "long":
					_, err = strconv.ParseInt(v, 10, 64)
				case "float", "double":
					_, err = strconv.ParseFloat(v, 64)
				case "boolean":
					_, err = strconv.ParseBool(v)
				}
				if err != nil {
					return fmt.Errorf("data %s=%q: not a %s", dataKey, v, k.typ)
				}
			}
			stack = stack[:len(stack)-1]
		}
	}
	if !seenGraph {
		return errors.New("no graph")
	}
	for _, e := range edges {
		if !nodes[e[0]] || !nodes[e[1]] {
			return fmt.Errorf("edge %s-%s: an end is not a node", e[0], e[1])
		}
	}
	return nil
}

// nmtoken reports whether s is an XML NMTOKEN, the type graphml.xsd
// gives node ids: one or more name characters (letters, digits, marks,
// '.', '-', '_', ':', U+00B7).
func nmtoken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.In(r, unicode.Mn, unicode.Mc) && !strings.ContainsRune(".-_:\u00b7", r) {
			return false
		}
	}
	return true
}

func writeGraphML(t *testing.T, edges []coord.Edge) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteGraphML(&b, "co-retweet/1m0s", edges); err != nil {
		t.Fatal(err)
	}
	if err := validateGraphML(b.Bytes()); err != nil {
		t.Fatalf("GraphML structure: %v\n%s", err, b.Bytes())
	}
	return b.Bytes()
}

func TestWriteGraphML(t *testing.T) {
	var g GraphML
	if err := xml.Unmarshal(writeGraphML(t, network(t)), &g); err != nil {
		t.Fatal(err)
	}
	if g.Graph.ID != "co-retweet/1m0s" || g.Graph.EdgeDefault != "undirected" || len(g.Keys) != 5 {
		t.Errorf("header %+v", g)
	}
	got := map[string][]Data{}
	for _, n := range g.Graph.Nodes {
		got[n.ID] = n.Data
	}
	if len(got) != 5 || !slices.Equal(got["a"], []Data{{AttrLabel, "@a"}, {AttrHandle, "@a"}, {AttrTweets, "2"}, {AttrGroup, "0"}}) ||
		!slices.Equal(got["d"], []Data{{AttrLabel, "@d"}, {AttrHandle, "@d"}, {AttrTweets, "1"}, {AttrGroup, "1"}}) {
		t.Errorf("nodes %v", got)
	}
	if len(g.Graph.Edges) != 4 || g.Graph.Edges[0].Source != "a" || g.Graph.Edges[0].Target != "b" ||
		!slices.Equal(g.Graph.Edges[0].Data, []Data{{AttrWeight, "2"}}) {
		t.Errorf("edges %+v", g.Graph.Edges)
	}
	// The validator is not a rubber stamp.
	for name, bad := range map[string]string{
		"key after graph": `<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected"/><key id="k" for="node" attr.type="int"/></graphml>`,
		"undeclared key":  `<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected"><node id="a"><data key="k">1</data></node></graph></graphml>`,
		"bad int":         `<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><key id="k" for="node" attr.type="int"/><graph edgedefault="undirected"><node id="a"><data key="k">x</data></node></graph></graphml>`,
		"dangling edge":   `<graphml xmlns="http://graphml.graphdrawing.org/xmlns"><graph edgedefault="undirected"><node id="a"/><edge source="a" target="b"/></graph></graphml>`,
		"no namespace":    `<graphml><graph edgedefault="undirected"/></graphml>`,
	} {
		if validateGraphML([]byte(bad)) == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestGraphMLNetworkx: networkx (Debian's python3-networkx, which `make
// test` installs) reads the GraphML back with the same nodes, attributes
// (typed: tweets and group are ints) and edge weights.
func TestGraphMLNetworkx(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import networkx").Run(); err != nil {
		t.Fatalf("%s cannot import networkx (apt-get install python3-networkx, or make test): %v", py, err)
	}
	edges := append(network(t), coord.Edge{A: "x.y-1", B: "é_z", HandleA: "@ü<&\"'>", AB: 7, BA: 3, TweetsA: 9, TweetsB: 1})
	path := filepath.Join(t.TempDir(), "net.graphml")
	if err := os.WriteFile(path, writeGraphML(t, edges), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `import json, sys, networkx as nx
g = nx.read_graphml(sys.argv[1])
print(json.dumps({"directed": g.is_directed(),
  "nodes": {n: d for n, d in g.nodes(data=True)},
  "edges": sorted([min(a, b), max(a, b), d["weight"]] for a, b, d in g.edges(data=True))}))`
	out, err := exec.Command(py, "-c", script, path).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("networkx read_graphml: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	var got struct {
		Directed bool
		Nodes    map[string]map[string]any
		Edges    [][3]any
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if got.Directed || len(got.Nodes) != 7 || len(got.Edges) != 5 {
		t.Fatalf("networkx read %s", out)
	}
	wantNodes := map[string]map[string]any{
		"a":     {"label": "@a", "handle": "@a", "tweets": 2.0, "group": 0.0},
		"x.y-1": {"label": "@ü<&\"'>", "handle": "@ü<&\"'>", "tweets": 9.0, "group": 2.0},
		"é_z":   {"label": "é_z", "tweets": 1.0, "group": 2.0},
	}
	for id, want := range wantNodes {
		if fmt.Sprint(got.Nodes[id]) != fmt.Sprint(want) {
			t.Errorf("node %q: networkx has %v, want %v", id, got.Nodes[id], want)
		}
	}
	for i, e := range edges {
		a, b := min(e.A, e.B), max(e.A, e.B)
		found := false
		for _, g := range got.Edges {
			if g[0] == a && g[1] == b && g[2] == float64(e.Weight()) {
				found = true
			}
		}
		if !found {
			t.Errorf("edge %d %s-%s weight %d: not in networkx's %v", i, a, b, e.Weight(), got.Edges)
		}
	}
}
