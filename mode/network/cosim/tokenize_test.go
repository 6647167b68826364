package cosim

import (
	"slices"
	"testing"

	"github.com/rivo/uniseg"
)

// unisegWords is the slow path on any text: uniseg's words, less white
// space and lone apostrophes.
func unisegWords(s string) []string {
	var out []string
	for state := -1; s != ""; {
		var w string
		w, s, state = uniseg.FirstWordInString(s, state)
		if w != "'" && !isAllSpace(w) {
			out = append(out, w)
		}
	}
	return out
}

// The toolkit's own tokenize (python3 -c 'from coordination_network_toolkit.similarity
// import tokenize'), on texts that exercise its rules: these sets are what it printed.
func TestTokensAsToolkit(t *testing.T) {
	cases := map[string][]string{
		"'orange'":                              {"orange"},
		"can't stop, won't stop!!":              {"!", ",", "can't", "stop", "won't"},
		"hello,world 3.14 1,000 a.b e.g. U.S.A": {",", ".", "1,000", "3.14", "a.b", "e.g", "hello", "u.s.a", "world"},
		"tab\there  two  spaces\nnew":           {"here", "new", "spaces", "tab", "two"},
		"http://t.co/abc?x=1 #tag @user hi":     {"#", "/", "1", ":", "=", "?", "abc", "hi", "http", "t.co", "tag", "x"},
		"emoji 😀😀 ok":                           {"emoji", "ok", "😀"},
		"&quot;quoted&quot; x_y ...":            {"&", ".", ";", "quot", "quoted", "x_y"},
		"don't 'n' it's":                        {"don't", "it's", "n"},
		"a--b a-b":                              {"-", "a", "b"},
		"x 'y' z''":                             {"x", "y", "z"},
	}
	for text, want := range cases {
		got := AppendTokens(nil, text)
		slices.Sort(got)
		got = slices.Compact(got)
		if !slices.Equal(got, want) {
			t.Errorf("%q: tokens %q, want the toolkit's %q", text, got, want)
		}
	}
}

// TestASCIIMatchesUniseg: the ASCII fast path cuts as uniseg does.
func TestASCIIMatchesUniseg(t *testing.T) {
	for _, s := range []string{"a:b a.b a'b a,b 1,2 1.2 1'2 1;2 a;b 1:2 a_b _a a__b a1b 1a", "x...y 3..4 e.g. ''a'' a: :b",
		"rt: \"quoted\" -- (paren) [b] {c} <d> |e| ~f` ^g$ %h* +i= \\j/ ?k! \x01\x7f\x1c", "a.b.c.d 1.2.3 a.1 1.a a_1.b"} {
		if got, want := appendASCIIWords(nil, s), unisegWords(s); !slices.Equal(got, want) {
			t.Errorf("%q: fast path %q, uniseg %q", s, got, want)
		}
	}
}

func FuzzASCIIMatchesUniseg(f *testing.F) {
	f.Add("can't stop, won't stop!! 3.14 a.b")
	f.Add("x_y 1,000 e.g. U.S.A")
	f.Fuzz(func(t *testing.T, s string) {
		if !isASCII(s) {
			return
		}
		if got, want := appendASCIIWords(nil, s), unisegWords(s); !slices.Equal(got, want) {
			t.Errorf("%q: fast path %q, uniseg %q", s, got, want)
		}
	})
}
