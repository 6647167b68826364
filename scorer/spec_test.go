package scorer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/scorer"
)

func validSpec() scorer.Spec {
	return scorer.Spec{
		Name: "sentiment", Version: "1",
		Inputs: scorer.Inputs{Indices: "indices", Values: "values"}, Output: "probabilities",
		Labels:     []string{"negative", "neutral", "positive"},
		Featurizer: scorer.FeaturizerSpec{Name: "tweet-hash"},
		Value:      scorer.ValueSpec{Derive: scorer.DeriveDifference, Positive: "positive", Negative: "negative", Type: scorer.TypeFloat, Min: -1, Max: 1},
		Threshold:  &scorer.ThresholdSpec{Value: -0.25, Direction: "below"},
	}
}

func TestSpecCheck(t *testing.T) {
	s := validSpec()
	if err := s.Check(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	cases := []struct {
		field  string
		mutate func(*scorer.Spec)
	}{
		{"name", func(s *scorer.Spec) { s.Name = "Bad-Name" }},
		{"version", func(s *scorer.Spec) { s.Version = "" }},
		{"inputs.indices", func(s *scorer.Spec) { s.Inputs.Indices = "" }},
		{"inputs.values", func(s *scorer.Spec) { s.Inputs.Values = "" }},
		{"output", func(s *scorer.Spec) { s.Output = "" }},
		{"labels", func(s *scorer.Spec) { s.Labels = []string{"only"} }},
		{"labels[2]", func(s *scorer.Spec) { s.Labels = []string{"a", "b", "a"} }},
		{"labels[1]", func(s *scorer.Spec) { s.Labels = []string{"a", "", "c"} }},
		{"featurizer.name", func(s *scorer.Spec) { s.Featurizer.Name = "" }},
		{"value.positive", func(s *scorer.Spec) { s.Value.Positive = "great" }},
		{"value.negative", func(s *scorer.Spec) { s.Value.Negative = "awful" }},
		{"value.derive", func(s *scorer.Spec) { s.Value.Derive = "median" }},
		{"value.type", func(s *scorer.Spec) { s.Value.Type = "double" }},
		{"threshold.direction", func(s *scorer.Spec) { s.Threshold.Direction = "sideways" }},
		{"value.positive", func(s *scorer.Spec) {
			s.Value = scorer.ValueSpec{Derive: scorer.DeriveProbability, Positive: "x", Type: scorer.TypeFloat}
		}},
	}
	for _, c := range cases {
		s := validSpec()
		c.mutate(&s)
		err := s.Check()
		if err == nil || !strings.Contains(err.Error(), "field "+c.field+":") {
			t.Errorf("%s: Check() = %v, want an error naming the field", c.field, err)
		}
	}
	argmax := validSpec()
	argmax.Value = scorer.ValueSpec{Derive: scorer.DeriveArgmax, Type: scorer.TypeInteger, Max: 2}
	if err := argmax.Check(); err != nil {
		t.Errorf("argmax spec: %v", err)
	}
}

func TestLoadSpecErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, scorer.SpecFile)
	for _, c := range []struct{ yaml, want string }{
		{"name: x\nversion: 1\nunknown_field: 3\n", "unknown_field"},
		{"name: [oops\n", "model.yaml"},
		{"name: ok\nversion: \"1\"\n", "inputs.indices"},
	} {
		if err := os.WriteFile(path, []byte(c.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := scorer.LoadSpec(dir)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadSpec(%q) = %v, want an error naming %s and %s", c.yaml, err, path, c.want)
		}
	}
}

func TestShippedSpecs(t *testing.T) {
	specs, err := scorer.ListSpecs("../models")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"sentiment": scorer.DeriveDifference, "offense": scorer.DeriveProbability}
	for _, s := range specs {
		if want[s.Name] != s.Value.Derive {
			t.Errorf("%s: derive %q, want %q", s.Name, s.Value.Derive, want[s.Name])
		}
		if s.Threshold == nil || s.Description == "" {
			t.Errorf("%s: missing threshold or description", s.Name)
		}
	}
}
