package model_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/model"
)

func TestHFFolders(t *testing.T) {
	r := openRegistry(t, "testdata/hf")
	if got, want := r.Names(), []string{"emotion_bert", "offense_tf", "twitter_roberta_sentiment"}; !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	cases := []struct {
		name      string
		labels    []string
		value     model.ValueSpec
		maxLength int
		onnx      string
		version   string
	}{
		{"emotion_bert", []string{"anger", "joy", "optimism", "sadness"},
			model.ValueSpec{Derive: model.DeriveArgmax, Type: model.TypeInteger, Max: 3}, 512, "emotion-bert/model.onnx", ""},
		{"offense_tf", []string{"not_offensive", "offensive"},
			model.ValueSpec{Derive: model.DeriveProbability, Positive: "offensive", Type: model.TypeFloat, Max: 1}, 128, "offense-distilbert/model.onnx", "2"},
		{"twitter_roberta_sentiment", []string{"negative", "neutral", "positive"},
			model.ValueSpec{Derive: model.DeriveDifference, Positive: "positive", Negative: "negative", Type: model.TypeFloat, Min: -1, Max: 1},
			512, "twitter-roberta-sentiment/onnx/model.onnx", ""},
	}
	for _, c := range cases {
		s, ok := r.Get(c.name)
		if !ok {
			t.Fatalf("%s missing", c.name)
		}
		if s.ModelKind() != model.KindTransformer {
			t.Errorf("%s: kind %q", c.name, s.ModelKind())
		}
		if !slices.Equal(s.Labels, c.labels) {
			t.Errorf("%s: labels %v, want %v", c.name, s.Labels, c.labels)
		}
		if s.Value != c.value {
			t.Errorf("%s: value %+v, want %+v", c.name, s.Value, c.value)
		}
		if s.MaxLength != c.maxLength {
			t.Errorf("%s: max_length %d, want %d", c.name, s.MaxLength, c.maxLength)
		}
		if want := filepath.Join("testdata/hf", c.onnx); s.ONNXPath() != want {
			t.Errorf("%s: onnx %q, want %q", c.name, s.ONNXPath(), want)
		}
		if s.TokenizerDir() != s.Dir() {
			t.Errorf("%s: tokenizer dir %q, want the model folder %q", c.name, s.TokenizerDir(), s.Dir())
		}
		if c.version != "" && s.Version != c.version || c.version == "" && !strings.HasPrefix(s.Version, "hf.") {
			t.Errorf("%s: version %q", c.name, s.Version)
		}
		if err := s.Check(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
	if s, _ := r.Get("offense_tf"); s.Threshold == nil || s.Threshold.Value != 0.4 {
		t.Errorf("offense_tf: model.yaml's threshold lost: %+v", s.Threshold)
	}
}

// writeHF writes a transformer folder with the given files (name -> body)
// over a valid base; a nil body removes the file.
func writeHF(t *testing.T, files map[string]*string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "m")
	base := map[string]string{
		"config.json":    `{"id2label": {"0": "negative", "1": "positive"}, "max_position_embeddings": 512}`,
		"tokenizer.json": `{}`,
		"model.onnx":     ``,
	}
	for name, body := range files {
		if body == nil {
			delete(base, name)
		} else {
			base[name] = *body
		}
	}
	for name, body := range base {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func ptr(s string) *string { return &s }

func TestHFFolderErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]*string
		want  []string // substrings of the error
	}{
		{"no id2label", map[string]*string{"config.json": ptr(`{"max_position_embeddings": 512}`)}, []string{"config.json", "id2label: missing"}},
		{"one label", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a"}, "max_position_embeddings": 512}`)}, []string{"config.json", "id2label", "two labels"}},
		{"id gap", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a", "2": "b"}, "max_position_embeddings": 512}`)}, []string{"config.json", `id2label["2"]`}},
		{"bad id", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a", "x": "b"}, "max_position_embeddings": 512}`)}, []string{`id2label["x"]`}},
		{"dup label", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a", "1": "a"}, "max_position_embeddings": 512}`)}, []string{"config.json", "id2label", `"a"`}},
		{"label not string", map[string]*string{"config.json": ptr(`{"id2label": {"0": 1, "1": 2}, "max_position_embeddings": 512}`)}, []string{"config.json", "id2label"}},
		{"no positions", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a", "1": "b"}}`)}, []string{"config.json", "max_position_embeddings: missing"}},
		{"positions string", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a", "1": "b"}, "max_position_embeddings": "512"}`)}, []string{"max_position_embeddings"}},
		{"positions fraction", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a", "1": "b"}, "max_position_embeddings": 51.5}`)}, []string{"max_position_embeddings"}},
		{"roberta no room", map[string]*string{"config.json": ptr(`{"id2label": {"0": "a", "1": "b"}, "max_position_embeddings": 2, "model_type": "roberta"}`)}, []string{"max_position_embeddings"}},
		{"not json", map[string]*string{"config.json": ptr(`{"id2label": `)}, []string{"config.json", "not a JSON object"}},
		{"no tokenizer", map[string]*string{"tokenizer.json": nil}, []string{"tokenizer.json"}},
		{"no onnx", map[string]*string{"model.onnx": nil}, []string{"model.onnx", "onnx/model.onnx"}},
		{"bad model_max_length", map[string]*string{"tokenizer_config.json": ptr(`{"model_max_length": "long"}`)}, []string{"tokenizer_config.json", "model_max_length"}},
		{"max_length too long", map[string]*string{"model.yaml": ptr("max_length: 1024\n")}, []string{"model.yaml", "max_length", "512"}},
		{"labels count", map[string]*string{"model.yaml": ptr("labels: [a, b, c]\n")}, []string{"model.yaml", "labels", "id2label"}},
		{"hashed kind", map[string]*string{"model.yaml": ptr("kind: hashed\n")}, []string{"model.yaml", "kind"}},
		{"unknown field", map[string]*string{"model.yaml": ptr("max_len: 3\n")}, []string{"model.yaml", "max_len"}},
		{"bad value rule", map[string]*string{"model.yaml": ptr("value: {derive: difference, positive: positive, negative: meh, type: float}\n")}, []string{"model.yaml", "value.negative"}},
	}
	for _, c := range cases {
		dir := writeHF(t, c.files)
		_, err := model.LoadSpec(dir)
		if err == nil {
			t.Errorf("%s: LoadSpec accepted the folder", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not name %q", c.name, err, w)
			}
		}
	}
	// The valid base itself loads, so each case above fails for its reason.
	s, err := model.LoadSpec(writeHF(t, nil))
	if err != nil {
		t.Fatalf("base folder: %v", err)
	}
	if s.Name != "m" || s.Value.Derive != model.DeriveDifference {
		t.Errorf("base folder: %+v", s)
	}
}

func TestNameFromFolder(t *testing.T) {
	for in, want := range map[string]string{
		"twitter-roberta-base-sentiment-latest": "twitter_roberta_base_sentiment_latest",
		"Xenova--distilbert":                    "xenova_distilbert",
		"2024_model":                            "model",
		"__x__":                                 "x",
		"!!!":                                   "",
		strings.Repeat("ab-", 20):               "ab_ab_ab_ab_ab_ab_ab_ab_ab_ab_ab_ab_ab_a",
	} {
		if got := model.NameFromFolder(in); got != want {
			t.Errorf("NameFromFolder(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaultValue(t *testing.T) {
	if v := model.DefaultValue([]string{"Negative", "Neutral", "Positive"}); v.Derive != model.DeriveDifference || v.Positive != "Positive" || v.Negative != "Negative" {
		t.Errorf("sentiment: %+v", v)
	}
	if v := model.DefaultValue([]string{"LABEL_0", "LABEL_1"}); v.Derive != model.DeriveProbability || v.Positive != "LABEL_1" {
		t.Errorf("two labels: %+v", v)
	}
	if v := model.DefaultValue([]string{"a", "b", "c"}); v.Derive != model.DeriveArgmax || v.Max != 2 || v.Type != model.TypeInteger {
		t.Errorf("three labels: %+v", v)
	}
}

// FuzzParseHFConfig: any bytes give a config or an error, never a panic; a
// config that parses has unique non-empty labels and room for one token.
func FuzzParseHFConfig(f *testing.F) {
	for _, d := range []string{"emotion-bert", "offense-distilbert", "twitter-roberta-sentiment"} {
		b, err := os.ReadFile(filepath.Join("testdata/hf", d, model.ConfigFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"id2label": {"0": "a", "01": "b"}, "max_position_embeddings": 1e30}`))
	f.Add([]byte(`{"id2label": null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := model.ParseHFConfig(b)
		if err != nil {
			return
		}
		if len(c.Labels) < 2 || c.MaxTokens() < 1 {
			t.Fatalf("accepted %+v", c)
		}
		seen := map[string]bool{}
		for _, l := range c.Labels {
			if l == "" || seen[l] {
				t.Fatalf("accepted labels %q", c.Labels)
			}
			seen[l] = true
		}
	})
}

func TestParseHFConfigProblemTypeAndVocab(t *testing.T) {
	base := `{"id2label":{"0":"a","1":"b"},"max_position_embeddings":8`
	c, err := model.ParseHFConfig([]byte(base + `,"vocab_size":100,"problem_type":"multi_label_classification"}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.VocabSize != 100 || c.ProblemType != model.ProblemMultiLabel {
		t.Errorf("vocab %d problem %q", c.VocabSize, c.ProblemType)
	}
	for _, bad := range []struct{ json, want string }{
		{`,"vocab_size":0}`, "vocab_size: 0 is below 1"},
		{`,"problem_type":"regression"}`, "problem_type: \"regression\" models give a score"},
		{`,"problem_type":"ranking"}`, "problem_type: \"ranking\" is not one of"},
		{`,"problem_type":3}`, "problem_type: want a string"},
		{`,"pad_token_id":-1}`, "pad_token_id: -1 is below 0"},
	} {
		if _, err := model.ParseHFConfig([]byte(base + bad.json)); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want %q", bad.json, err, bad.want)
		}
	}
	dir := filepath.Join(t.TempDir(), "multi")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		model.ConfigFile:    base + `,"problem_type":"multi_label_classification"}`,
		model.TokenizerFile: `{}`,
		model.ModelFile:     ``,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := model.LoadSpec(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Activation != model.ActivationSigmoid {
		t.Errorf("a multi-label folder's activation is %q, want sigmoid", s.Activation)
	}
}
