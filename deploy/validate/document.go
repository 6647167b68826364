package validate

import (
	"bufio"
	"bytes"
	"fmt"
	"iter"
	"strings"

	"sigs.k8s.io/yaml"
)

// Problem is one finding. Its string form is
// "file:line: Kind name: field: message", the parts that are unknown left out.
type Problem struct {
	File   string
	Line   int
	Object string // "Kind name"
	Field  string // dotted path, e.g. spec.filter.attributes
	Msg    string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
	}
	b.WriteString(": ")
	if p.Object != "" {
		b.WriteString(p.Object)
		b.WriteString(": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Document is one YAML document of a manifest file.
type Document struct {
	File string // as given to SplitDocuments (repository-relative in CheckRepo)
	Line int    // 1-based line of the document's first line that is not a comment
	Raw  []byte

	APIVersion string
	Kind       string
	Name       string
	Namespace  string
}

// decoded yields every document of apiVersion and kind ("" matches any
// apiVersion) decoded into a new T, for the checks that read one kind of
// object. A document that does not decode is passed over: CheckKnative and
// kubeconform report it, and each check on top would only say it again.
func decoded[T any](docs []Document, apiVersion, kind string) iter.Seq2[Document, *T] {
	return func(yield func(Document, *T) bool) {
		for _, d := range docs {
			if d.Kind != kind || (apiVersion != "" && d.APIVersion != apiVersion) {
				continue
			}
			v := new(T)
			if yaml.Unmarshal(d.Raw, v) != nil {
				continue
			}
			if !yield(d, v) {
				return
			}
		}
	}
}

// Object is "Kind name", as problems name it.
func (d Document) Object() string {
	if d.Name == "" {
		return d.Kind
	}
	return d.Kind + " " + d.Name
}

func (d Document) problem(field, format string, args ...any) Problem {
	return Problem{File: d.File, Line: d.Line, Object: d.Object(), Field: field, Msg: fmt.Sprintf(format, args...)}
}

// header is the part of every Kubernetes object that routing needs.
type header struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// SplitDocuments splits a multi-document YAML file on "---" lines and reads each document's
// apiVersion, kind and name. Documents holding only comments are dropped. A document that is
// not a YAML mapping is a problem naming its line, not a panic.
func SplitDocuments(file string, data []byte) ([]Document, []Problem) {
	var (
		docs  []Document
		probs []Problem
		cur   bytes.Buffer
		start = 1
		line  = 0
	)
	flush := func() {
		raw := bytes.Clone(cur.Bytes())
		cur.Reset()
		first := firstContentLine(raw)
		if first < 0 {
			return
		}
		start += first // point at the apiVersion line, not at the comments above it
		d := Document{File: file, Line: start, Raw: raw}
		var h header
		if err := yaml.Unmarshal(raw, &h); err != nil {
			probs = append(probs, Problem{File: file, Line: start, Msg: "not a YAML object: " + err.Error()})
			return
		}
		d.APIVersion, d.Kind, d.Name, d.Namespace = h.APIVersion, h.Kind, h.Metadata.Name, h.Metadata.Namespace
		docs = append(docs, d)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), len(data)+1)
	for sc.Scan() {
		line++
		text := sc.Text()
		if strings.TrimRight(text, " \t") == "---" {
			flush()
			start = line + 1
			continue
		}
		cur.WriteString(text)
		cur.WriteByte('\n')
	}
	flush()
	return docs, probs
}

// firstContentLine returns the 0-based index of a YAML document's first line that is not blank
// or a comment, or -1 when it has none.
func firstContentLine(raw []byte) int {
	for i, l := range bytes.Split(raw, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) > 0 && t[0] != '#' {
			return i
		}
	}
	return -1
}
