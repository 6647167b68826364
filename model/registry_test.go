package model_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/model"
)

// openRegistry opens a registry folder or fails the test.
func openRegistry(t *testing.T, dir string) *model.Registry {
	t.Helper()
	r, err := model.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenShippedRegistry(t *testing.T) {
	r := openRegistry(t, "../models")
	if got := r.Names(); !slices.Equal(got, []string{"offense", "sentiment"}) {
		t.Fatalf("Names = %v", got)
	}
	s, ok := r.Get("sentiment")
	if !ok || s.Dir() != filepath.Join("../models", "sentiment") || s.ModelKind() != model.KindHashed {
		t.Fatalf("Get(sentiment) = %+v, %v", s, ok)
	}
	if _, ok := r.Get("nope"); ok {
		t.Error("Get(nope) found a model")
	}
	sel, err := r.Select([]string{"sentiment", "offense"})
	if err != nil || !slices.Equal(model.Names(sel), []string{"sentiment", "offense"}) {
		t.Fatalf("Select = %v, %v", model.Names(sel), err)
	}
	// Specs returns the caller's own slice.
	specs := r.Specs()
	specs[0] = nil
	if r.Specs()[0] == nil {
		t.Error("Specs shares its slice with the registry")
	}
}

func writeSpec(t *testing.T, dir, name string) {
	t.Helper()
	b := []byte("name: " + name + "\nversion: '1'\ninputs: {indices: indices, values: values}\noutput: probabilities\n" +
		"labels: [negative, neutral, positive]\nfeaturizer: {name: tweet-hash}\n" +
		"value: {derive: difference, positive: positive, negative: negative, type: float, min: -1, max: 1}\n")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, model.SpecFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestRegistryErrors(t *testing.T) {
	root := t.TempDir()
	writeSpec(t, filepath.Join(root, "a"), "alpha")
	writeSpec(t, filepath.Join(root, "b"), "beta")
	if err := os.Mkdir(filepath.Join(root, "notamodel"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := model.Open(root)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Names(); !slices.Equal(got, []string{"alpha", "beta"}) {
		t.Fatalf("Names = %v (a folder without model.yaml is skipped)", got)
	}
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"gamma"}, `"gamma" has no folder`},
		{[]string{"alpha", "alpha"}, "listed twice"},
	} {
		if _, err := r.Select(c.names); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Select(%v) = %v, want %q", c.names, err, c.want)
		}
	}

	writeSpec(t, filepath.Join(root, "c"), "alpha")
	if _, err := model.Open(root); err == nil || !strings.Contains(err.Error(), "both declare model \"alpha\"") {
		t.Errorf("two folders with one name: %v", err)
	}

	empty := t.TempDir()
	if _, err := model.Select(empty, nil); err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty registry: %v, want an error naming %s", err, empty)
	}
	if _, err := model.Open(filepath.Join(empty, "missing")); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("missing folder: %v", err)
	}

	bad := t.TempDir()
	writeSpec(t, filepath.Join(bad, "x"), "Bad-Name")
	if _, err := model.Open(bad); err == nil || !strings.Contains(err.Error(), filepath.Join(bad, "x", model.SpecFile)) {
		t.Errorf("bad spec: %v, want an error naming its file", err)
	}
}
