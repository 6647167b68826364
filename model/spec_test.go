package model_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/model"
)

func validSpec() model.Spec {
	return model.Spec{
		Name: "sentiment", Version: "1",
		Inputs: model.Inputs{Indices: "indices", Values: "values"}, Output: "probabilities",
		Labels:     []string{"negative", "neutral", "positive"},
		Featurizer: model.FeaturizerSpec{Name: "tweet-hash"},
		Value:      model.ValueSpec{Derive: model.DeriveDifference, Positive: "positive", Negative: "negative", Type: model.TypeFloat, Min: -1, Max: 1},
		Threshold:  &model.ThresholdSpec{Value: -0.25, Direction: "below"},
	}
}

// textSpec turns a valid hashed spec into a valid text (string-input) one.
func textSpec(s *model.Spec) {
	s.Kind, s.Inputs, s.Featurizer = model.KindText, model.Inputs{Text: "text"}, model.FeaturizerSpec{}
}

func TestSpecCheck(t *testing.T) {
	s := validSpec()
	if err := s.Check(); err != nil {
		t.Fatalf("valid spec: %v", err)
	}
	textSpec(&s)
	s.Preprocess, s.Activation = model.PreprocessCardiffNLP, model.ActivationNone
	if err := s.Check(); err != nil {
		t.Fatalf("valid text spec: %v", err)
	}
	cases := []struct {
		field  string
		mutate func(*model.Spec)
	}{
		{"name", func(s *model.Spec) { s.Name = "Bad-Name" }},
		{"version", func(s *model.Spec) { s.Version = "" }},
		{"inputs.indices", func(s *model.Spec) { s.Inputs.Indices = "" }},
		{"inputs.values", func(s *model.Spec) { s.Inputs.Values = "" }},
		{"output", func(s *model.Spec) { s.Output = "" }},
		{"labels", func(s *model.Spec) { s.Labels = []string{"only"} }},
		{"labels[2]", func(s *model.Spec) { s.Labels = []string{"a", "b", "a"} }},
		{"labels[1]", func(s *model.Spec) { s.Labels = []string{"a", "", "c"} }},
		{"featurizer.name", func(s *model.Spec) { s.Featurizer.Name = "" }},
		{"value.positive", func(s *model.Spec) { s.Value.Positive = "great" }},
		{"value.negative", func(s *model.Spec) { s.Value.Negative = "awful" }},
		{"value.derive", func(s *model.Spec) { s.Value.Derive = "median" }},
		{"value.type", func(s *model.Spec) { s.Value.Type = "double" }},
		{"threshold.direction", func(s *model.Spec) { s.Threshold.Direction = "sideways" }},
		{"kind", func(s *model.Spec) { s.Kind = "bert" }},
		{"max_length", func(s *model.Spec) { s.MaxLength = 512 }},
		{"max_length", func(s *model.Spec) { s.Kind = model.KindTransformer }},
		{"value.min", func(s *model.Spec) { s.Value.Min, s.Value.Max = 1, -1 }},
		{"preprocess", func(s *model.Spec) { s.Preprocess = model.PreprocessCardiffNLP }},
		{"activation", func(s *model.Spec) { s.Activation = model.ActivationSigmoid }},
		{"inputs.text", func(s *model.Spec) { s.Inputs.Text = "text" }},
		{"inputs.text", func(s *model.Spec) { textSpec(s); s.Inputs.Text = "" }},
		{"featurizer.name", func(s *model.Spec) { textSpec(s); s.Featurizer.Name = "tweet-hash" }},
		{"inputs.indices", func(s *model.Spec) { textSpec(s); s.Inputs.Indices = "indices" }},
		{"preprocess", func(s *model.Spec) { textSpec(s); s.Preprocess = "lowercase" }},
		{"activation", func(s *model.Spec) { textSpec(s); s.Activation = "relu" }},
		{"max_length", func(s *model.Spec) { textSpec(s); s.MaxLength = 64 }},
		{"tokenizer", func(s *model.Spec) { textSpec(s); s.Tokenizer = "tok" }},
		{"value.positive", func(s *model.Spec) {
			s.Value = model.ValueSpec{Derive: model.DeriveProbability, Positive: "x", Type: model.TypeFloat}
		}},
		{"deploy.memory_request", func(s *model.Spec) { s.Deploy = &model.DeploySpec{MemoryRequest: "512M"} }},
		{"deploy.memory_request", func(s *model.Spec) { s.Deploy = &model.DeploySpec{MemoryRequest: "0Mi"} }},
		{"deploy.memory_limit", func(s *model.Spec) { s.Deploy = &model.DeploySpec{MemoryLimit: "1.5Gi"} }},
		{"deploy.memory_limit", func(s *model.Spec) { s.Deploy = &model.DeploySpec{MemoryRequest: "2Gi", MemoryLimit: "1024Mi"} }},
		{"deploy.scale_target", func(s *model.Spec) { s.Deploy = &model.DeploySpec{ScaleTarget: -1} }},
		{"deploy.container_concurrency", func(s *model.Spec) { s.Deploy = &model.DeploySpec{ContainerConcurrency: -4} }},
		{"deploy.scale_target", func(s *model.Spec) { s.Deploy = &model.DeploySpec{ScaleTarget: 32, ContainerConcurrency: 16} }},
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
	argmax.Value = model.ValueSpec{Derive: model.DeriveArgmax, Type: model.TypeInteger, Max: 2}
	if err := argmax.Check(); err != nil {
		t.Errorf("argmax spec: %v", err)
	}
}

func TestLoadSpecErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, model.SpecFile)
	for _, c := range []struct{ yaml, want string }{
		{"name: x\nversion: 1\nunknown_field: 3\n", "unknown_field"},
		{"name: [oops\n", "model.yaml"},
		{"name: ok\nversion: \"1\"\n", "inputs.indices"},
	} {
		if err := os.WriteFile(path, []byte(c.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := model.LoadSpec(dir)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("LoadSpec(%q) = %v, want an error naming %s and %s", c.yaml, err, path, c.want)
		}
	}
}

func TestShippedSpecs(t *testing.T) {
	specs, err := model.Select("../models", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"sentiment": model.DeriveDifference, "offense": model.DeriveProbability}
	for _, s := range specs {
		if want[s.Name] != s.Value.Derive {
			t.Errorf("%s: derive %q, want %q", s.Name, s.Value.Derive, want[s.Name])
		}
		if s.Threshold == nil || s.Description == "" {
			t.Errorf("%s: missing threshold or description", s.Name)
		}
	}
}

func TestParseSpecDeploy(t *testing.T) {
	b, err := os.ReadFile("../models/sentiment/model.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b = append(b, "deploy:\n  memory_request: 1Gi\n  memory_limit: 2048Mi\n  scale_target: 8\n  container_concurrency: 32\n"...)
	s, err := model.ParseSpec(b)
	if err != nil {
		t.Fatalf("ParseSpec with a deploy block: %v", err)
	}
	want := model.DeploySpec{MemoryRequest: "1Gi", MemoryLimit: "2048Mi", ScaleTarget: 8, ContainerConcurrency: 32}
	if s.Deploy == nil || *s.Deploy != want {
		t.Fatalf("Deploy = %+v, want %+v", s.Deploy, want)
	}
	// A limit equal to the request (1Gi = 1024Mi) is allowed; unknown keys are not.
	if _, err := model.ParseSpec(append(b[:len(b):len(b)], "  cpu: 2\n"...)); err == nil || !strings.Contains(err.Error(), "cpu") {
		t.Errorf("deploy.cpu: ParseSpec = %v, want an unknown-field error naming cpu", err)
	}
}
