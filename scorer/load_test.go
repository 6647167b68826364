package scorer_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/featurize"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
	"github.com/tweetflow/tweetflow/train"
)

// tinyModel writes a small valid model folder (1024 buckets, no lexicons)
// after letting mutate change the spec, the graph or the ONNX bytes.
func tinyModel(t *testing.T, mutate func(s *model.Spec, g *train.Graph), corrupt func([]byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	cfg := featurize.DefaultConfig()
	cfg.Buckets = 1024
	spec := model.Spec{
		Name: "tiny", Version: "1",
		Inputs: model.Inputs{Indices: "indices", Values: "values"}, Output: "probabilities",
		Labels:     []string{"no", "yes"},
		Featurizer: model.FeaturizerSpec{Name: featurize.Name, Params: cfg.Params()},
		Value:      model.ValueSpec{Derive: model.DeriveProbability, Positive: "yes", Type: model.TypeFloat, Max: 1},
	}
	table := make([]float32, 1024*2)
	for i := range 1024 {
		table[2*i+1] = float32(i%7) / 7 // some signal, deterministic
	}
	g := train.Graph{Table: table, Bias: []float32{0.1, -0.1}, Buckets: 1024, Classes: 2,
		Indices: "indices", Values: "values", Output: "probabilities",
		Metadata: map[string]string{scorer.MetaBuckets: "1024", scorer.MetaFeaturizer: scorer.FeaturizerFingerprint(cfg)}}
	if mutate != nil {
		mutate(&spec, &g)
	}
	b, err := train.MarshalONNX(g)
	if err != nil {
		t.Fatal(err)
	}
	if corrupt != nil {
		b = corrupt(b)
	}
	y, err := yaml.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, model.SpecFile), y, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, model.ModelFile), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name    string
		mutate  func(s *model.Spec, g *train.Graph)
		corrupt func([]byte) []byte
		remove  string
		want    []string
	}{
		{name: "missing model file", remove: model.ModelFile, want: []string{"model.onnx", "no such file"}},
		{name: "missing spec", remove: model.SpecFile, want: []string{"model.yaml", "no such file"}},
		{name: "corrupt onnx", corrupt: func(b []byte) []byte { return b[:len(b)/3] }, want: []string{"model.onnx", "not a valid ONNX model"}},
		{name: "garbage onnx", corrupt: func([]byte) []byte { return []byte("not a model at all") }, want: []string{"model.onnx"}},
		{name: "wrong input name", mutate: func(s *model.Spec, g *train.Graph) { g.Indices = "ids" },
			want: []string{"model.onnx", "inputs.indices", `no input "indices"`, `"ids"`}},
		{name: "wrong values name", mutate: func(s *model.Spec, g *train.Graph) { s.Inputs.Values = "weights" },
			want: []string{"inputs.values", `no input "weights"`}},
		{name: "wrong output name", mutate: func(s *model.Spec, g *train.Graph) { s.Output = "probs" },
			want: []string{"field output", `no output "probs"`}},
		{name: "wrong output shape", mutate: func(s *model.Spec, g *train.Graph) { s.Labels = []string{"no", "yes", "maybe"} },
			want: []string{"field labels", "want [batch, 3]"}},
		{name: "bucket mismatch", mutate: func(s *model.Spec, g *train.Graph) { g.Metadata[scorer.MetaBuckets] = "2048" },
			want: []string{"tweetflow.buckets", "featurizer.params.buckets"}},
		{name: "featurizer mismatch", mutate: func(s *model.Spec, g *train.Graph) { g.Metadata[scorer.MetaFeaturizer] = "other" },
			want: []string{"tweetflow.featurizer", "retrain"}},
		{name: "unknown featurizer", mutate: func(s *model.Spec, g *train.Graph) { s.Featurizer.Name = "bert" },
			want: []string{"model.yaml", "featurizer.name", "bert"}},
		{name: "bad featurizer param", mutate: func(s *model.Spec, g *train.Graph) { s.Featurizer.Params["buckets"] = 1000 },
			want: []string{"model.yaml", "featurizer.params.buckets"}},
		{name: "missing lexicon", mutate: func(s *model.Spec, g *train.Graph) { s.Featurizer.Params["vader"] = "vader.txt" },
			want: []string{"model.yaml", "vader.txt"}},
		{name: "bad spec field", mutate: func(s *model.Spec, g *train.Graph) { s.Value.Positive = "nope" },
			want: []string{"model.yaml", "value.positive"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := tinyModel(t, c.mutate, c.corrupt)
			if c.remove != "" {
				if err := os.Remove(filepath.Join(dir, c.remove)); err != nil {
					t.Fatal(err)
				}
			}
			wantLoadError(t, dir, c.want...)
		})
	}
}

// wantLoadError loads dir and requires an error mentioning each of want.
func wantLoadError(t *testing.T, dir string, want ...string) {
	t.Helper()
	m, err := scorer.Load(dir, scorer.Options{})
	if err == nil {
		m.Close()
		t.Fatal("Load succeeded")
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestMissingLibraryErrorSaysHowToInstall(t *testing.T) {
	dir := tinyModel(t, nil, nil)
	_, err := scorer.Load(dir, scorer.Options{LibraryPath: filepath.Join(t.TempDir(), "libonnxruntime.so")})
	if err == nil {
		t.Fatal("Load succeeded without a library")
	}
	for _, w := range []string{"make ort", "ONNXRUNTIME_LIB", "libonnxruntime.so"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestBadInputScores(t *testing.T) {
	models := loadAll(t)
	texts := []string{
		"",
		strings.Repeat("word ", 20*1024), // 100 KB
		strings.Repeat("x", 100*1024),    // 100 KB, one word
		"\xff\xfe\xfd invalid \xc3\x28 utf8",
		"control\x00\x01\x02\x1b[31m chars\x7f",
		"😀😂🔥👍🏽‍♀️🇺🇸",
		"مرحبا بالعالم هذا رائع",
		"שלום עולם",
		"\u202eRTL override\u202c",
		"   \t\n  ",
	}
	for _, m := range models {
		out := make([]model.Prediction, len(texts))
		if err := m.Score(context.Background(), texts, out); err != nil {
			t.Fatalf("%s: %v", m.Name(), err)
		}
		for i, p := range out {
			checkPrediction(t, m, texts[i], p)
		}
	}
}

func checkPrediction(t *testing.T, m *scorer.Model, text string, p model.Prediction) {
	t.Helper()
	if len(p.Probs) != len(m.Labels()) {
		t.Fatalf("%s(%.20q): %d probs", m.Name(), text, len(p.Probs))
	}
	var sum float64
	for _, v := range p.Probs {
		if !(v >= 0 && v <= 1) {
			t.Errorf("%s(%.20q): probability %v", m.Name(), text, v)
		}
		sum += float64(v)
	}
	if math.Abs(sum-1) > 1e-4 {
		t.Errorf("%s(%.20q): probabilities sum to %v", m.Name(), text, sum)
	}
	v := m.Spec().Value
	if p.Value < v.Min || p.Value > v.Max || p.Label == "" {
		t.Errorf("%s(%.20q): value %v label %q", m.Name(), text, p.Value, p.Label)
	}
}

// TestBatchMatchesSingle: scoring in a batch (padded to the widest row, and
// split into chunks when huge) gives each text the same result as alone.
func TestBatchMatchesSingle(t *testing.T) {
	models := loadAll(t)
	texts := readTweets(t)[:100]
	texts = append(texts, strings.Repeat("long text ", 5000), "")
	for _, m := range models {
		batch := make([]model.Prediction, len(texts))
		if err := m.Score(context.Background(), texts, batch); err != nil {
			t.Fatal(err)
		}
		one := make([]model.Prediction, 1)
		for i, text := range texts {
			if err := m.Score(context.Background(), []string{text}, one); err != nil {
				t.Fatal(err)
			}
			for c := range one[0].Probs {
				if d := math.Abs(float64(one[0].Probs[c] - batch[i].Probs[c])); d > 1e-5 {
					t.Fatalf("%s text %d: batch %v vs single %v", m.Name(), i, batch[i].Probs, one[0].Probs)
				}
			}
		}
	}
}

func TestConcurrentScoreAndClose(t *testing.T) {
	m, err := scorer.Load("../models/sentiment", scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	texts := readTweets(t)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]model.Prediction, 16)
			for i := range 20 {
				j := (g*20 + i) * 16 % (len(texts) - 16)
				if err := m.Score(context.Background(), texts[j:j+16], out); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := m.Score(context.Background(), []string{"x"}, make([]model.Prediction, 1)); err != scorer.ErrClosed {
		t.Fatalf("Score after Close = %v, want ErrClosed", err)
	}
}

func TestScoreArguments(t *testing.T) {
	m, err := scorer.Load(tinyModel(t, nil, nil), scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Score(context.Background(), []string{"a", "b"}, make([]model.Prediction, 1)); err == nil {
		t.Error("mismatched out length accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := m.Score(ctx, []string{"a"}, make([]model.Prediction, 1)); err != context.Canceled {
		t.Errorf("cancelled context: %v", err)
	}
	if err := m.Score(context.Background(), nil, nil); err != nil {
		t.Errorf("empty batch: %v", err)
	}
	// A value derived as the spec says: probability of "yes".
	out := make([]model.Prediction, 1)
	if err := m.Score(context.Background(), []string{"some text"}, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Value != float64(out[0].Probs[1]) {
		t.Errorf("value %v, want P(yes) %v", out[0].Value, out[0].Probs[1])
	}
}

func TestLoadAllAndListSpecs(t *testing.T) {
	specs, err := model.Select("../models", nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range specs {
		names = append(names, s.Name)
	}
	if strings.Join(names, ",") != "offense,sentiment" {
		t.Errorf("ListSpecs names = %v", names)
	}
	ms, err := scorer.LoadAll("../models", []string{"sentiment"}, scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 1 || ms[0].Name() != "sentiment" || ms[0].Version() == "" || len(ms[0].Labels()) != 3 {
		t.Errorf("LoadAll = %v", ms)
	}
	for _, m := range ms {
		m.Close()
	}
	if _, err := scorer.LoadAll("../models", []string{"nope"}, scorer.Options{}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("LoadAll unknown = %v", err)
	}
	if _, err := scorer.LoadAll(t.TempDir(), nil, scorer.Options{}); err == nil {
		t.Error("LoadAll of an empty folder succeeded")
	}
}

func TestReadGraphInfo(t *testing.T) {
	b, err := os.ReadFile("../models/offense/model.onnx")
	if err != nil {
		t.Fatal(err)
	}
	info, err := scorer.ReadGraphInfo(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Inputs) != 2 || info.Inputs[0].Name != "indices" || info.Inputs[0].ElemType != 7 ||
		info.Inputs[1].Name != "values" || info.Inputs[1].ElemType != 1 {
		t.Errorf("inputs = %+v", info.Inputs)
	}
	if len(info.Outputs) != 1 || info.Outputs[0].Name != "probabilities" || len(info.Outputs[0].Dims) != 2 || info.Outputs[0].Dims[1] != 2 {
		t.Errorf("outputs = %+v", info.Outputs)
	}
	if _, err := strconv.Atoi(info.Metadata[scorer.MetaBuckets]); err != nil {
		t.Errorf("metadata = %v", info.Metadata)
	}
}

func FuzzReadGraphInfo(f *testing.F) {
	b, err := os.ReadFile("../models/offense/model.onnx")
	if err != nil {
		f.Fatal(err)
	}
	// Seeds: the header (everything but most of the table) and variants.
	head := b[:min(len(b), 4096)]
	f.Add(head)
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0x05, 0x5a, 0x03, 0x0a, 0x01, 0x78})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = scorer.ReadGraphInfo(data) // must not panic
	})
}

// TestRuntimeSharedAcrossModels: models share ONNX Runtime's one
// environment; closing one leaves the others working, and after the last
// Close a new Load initializes it again.
func TestRuntimeSharedAcrossModels(t *testing.T) {
	score := func(m *scorer.Model) {
		t.Helper()
		out := make([]model.Prediction, 1)
		if err := m.Score(context.Background(), []string{"hello"}, out); err != nil {
			t.Fatal(err)
		}
	}
	a, err := scorer.Load("../models/sentiment", scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := scorer.Load("../models/offense", scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	score(b)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := scorer.Load("../models/sentiment", scorer.Options{})
	if err != nil {
		t.Fatalf("Load after every model closed: %v", err)
	}
	defer c.Close()
	score(c)
	// A second library path while the environment is up is refused
	// clearly rather than silently ignored.
	other := filepath.Join(t.TempDir(), "libonnxruntime.so")
	if err := os.WriteFile(other, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := scorer.Load("../models/offense", scorer.Options{LibraryPath: other}); err == nil || !strings.Contains(err.Error(), "already initialized") {
		t.Errorf("Load with another library = %v", err)
	}
}
