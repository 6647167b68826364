package jsonpointer

import (
	"strings"
	"testing"
)

func TestDotted(t *testing.T) {
	for in, want := range map[string]string{
		"":                           "",
		"/":                          "",
		"/spec":                      "spec",
		"/data/3/id":                 "data[3].id",
		"/0/1":                       "[0][1]",
		"/spec/containers/0/image":   "spec.containers[0].image",
		"/metadata/annotations/a~1b": "metadata.annotations.a/b",
		"/a~0b/c~01":                 "a~b.c~1",
		"/spec/nodeSets/10/count":    "spec.nodeSets[10].count",
		"/includes/users/-1":         "includes.users.-1",
	} {
		if got := Dotted(in); got != want {
			t.Errorf("Dotted(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzDotted builds a pointer from tokens (escaped as RFC 6901 says) and
// checks that Dotted gives back every token, in order, each where its
// kind puts it.
func FuzzDotted(f *testing.F) {
	f.Add("data", "3", "id")
	f.Add("a/b", "~1", "")
	f.Add("0", "x~y", "12")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		var ptr, want strings.Builder
		for _, tok := range []string{a, b, c} {
			ptr.WriteString("/" + strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1"))
			switch {
			case tok == "":
			case isIndex(tok):
				want.WriteString("[" + tok + "]")
			default:
				if want.Len() > 0 {
					want.WriteByte('.')
				}
				want.WriteString(tok)
			}
		}
		if got := Dotted(ptr.String()); got != want.String() {
			t.Fatalf("Dotted(%q) = %q, want %q", ptr.String(), got, want.String())
		}
	})
}
