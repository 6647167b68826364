package commalist

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for in, want := range map[string][]string{
		"":                nil,
		" , ,":            nil,
		"a":               {"a"},
		"a, b,,c ":        {"a", "b", "c"},
		" x.csv ,y*.json": {"x.csv", "y*.json"},
	} {
		if got := Split(in); !slices.Equal(got, want) || (want == nil) != (got == nil) {
			t.Errorf("Split(%q) = %q, want %q", in, got, want)
		}
	}
}
