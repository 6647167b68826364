package scorer_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/model/modeltest"
	"github.com/tweetflow/tweetflow/scorer"
)

// copyFolder copies a test model folder into a temporary folder named name, so a test can
// change one file of it.
func copyFolder(t *testing.T, src, name string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), name)
	modeltest.CopyFolder(t, src, dst)
	return dst
}

func editJSON(t *testing.T, path string, edit func(map[string]any)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	edit(v)
	if b, err = json.Marshal(v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTokenizer(t *testing.T, src, dst string) {
	t.Helper()
	for _, f := range []string{model.TokenizerFile, model.TokenizerConfigFile} {
		copyFile(t, filepath.Join(src, f), filepath.Join(dst, f))
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestTransformerLoadErrors: each broken folder fails at load, naming the file and the field.
func TestTransformerLoadErrors(t *testing.T) {
	bert := filepath.Join("testdata", "tiny-bert-sentiment")
	roberta := filepath.Join("testdata", "tiny-roberta-sentiment")
	cases := []struct {
		name   string
		src    string
		change func(t *testing.T, dir string)
		want   []string
	}{
		{"another model's tokenizer (config vocab_size)", bert, func(t *testing.T, dir string) {
			copyTokenizer(t, roberta, dir)
		}, []string{"tokenizer.json", "gives ids up to 50261", "config.json vocab_size is 30522"}},
		{"another model's tokenizer (graph embedding)", bert, func(t *testing.T, dir string) {
			copyTokenizer(t, roberta, dir)
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { delete(c, "vocab_size") })
		}, []string{"tokenizer.json", "word embedding", "30522 rows"}},
		{"unknown tokenizer model type", bert, func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "tokenizer.json"), func(c map[string]any) { c["model"].(map[string]any)["type"] = "WordLevel" })
		}, []string{"tokenizer.json", "model", "WordLevel"}},
		{"vocabulary without its unk token", bert, func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "tokenizer.json"), func(c map[string]any) {
				delete(c["model"].(map[string]any)["vocab"].(map[string]any), "[UNK]")
			})
		}, []string{"tokenizer.json", "[UNK]"}},
		{"graph inputs not the tokenizer's", bert, func(t *testing.T, dir string) {
			copyFile(t, filepath.Join("testdata", "tfidf-sentiment", "model.onnx"), filepath.Join(dir, "model.onnx"))
		}, []string{"model.onnx", `graph input "text"`, "input_ids"}},
		{"config.json without labels", roberta, func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { delete(c, "id2label") })
		}, []string{"config.json", "id2label", "missing"}},
		{"labels that are not the output's", roberta, func(t *testing.T, dir string) {
			editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["id2label"] = map[string]any{"0": "no", "1": "yes"} })
		}, []string{"model.onnx", `output "logits" has 3 columns`, "2 labels"}},
		{"output named in model.yaml missing", roberta, func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, model.SpecFile), []byte("output: scores\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, []string{"model.yaml field output", `no output "scores"`, `"logits"`}},
		{"no graph", roberta, func(t *testing.T, dir string) {
			if err := os.RemoveAll(filepath.Join(dir, "onnx")); err != nil {
				t.Fatal(err)
			}
		}, []string{"no model.onnx or onnx/model.onnx"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyFolder(t, c.src, "m")
			c.change(t, dir)
			wantLoadError(t, dir, c.want...)
		})
	}
}

// TestTransformerMultiLabel: a folder whose config.json says multi_label_classification gets a
// sigmoid per label. The logit differences it implies must equal those of the softmax the same
// graph gets as a single-label model (log(p_i/p_j) = l_i - l_j = logit(s_i) - logit(s_j)).
func TestTransformerMultiLabel(t *testing.T) {
	single := loadReference(t, "tiny-bert-sentiment")
	dir := copyFolder(t, filepath.Join("testdata", "tiny-bert-sentiment"), "multi")
	editJSON(t, filepath.Join(dir, "config.json"), func(c map[string]any) { c["problem_type"] = model.ProblemMultiLabel })
	multi, err := scorer.Load(dir, scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer multi.Close()
	texts := readTweets(t)[:50]
	ps, pm := make([]model.Prediction, len(texts)), make([]model.Prediction, len(texts))
	if err := single.Score(context.Background(), texts, ps); err != nil {
		t.Fatal(err)
	}
	if err := multi.Score(context.Background(), texts, pm); err != nil {
		t.Fatal(err)
	}
	logit := func(s float32) float64 { return math.Log(float64(s) / (1 - float64(s))) }
	for i := range texts {
		var sum float32
		for _, p := range pm[i].Probs {
			sum += p
		}
		if math.Abs(float64(sum)-1) < 1e-3 {
			t.Errorf("text %d: sigmoid outputs sum to %v: looks like a softmax", i, sum)
		}
		for c := 1; c < 3; c++ {
			soft := math.Log(float64(ps[i].Probs[c]) / float64(ps[i].Probs[0]))
			sig := logit(pm[i].Probs[c]) - logit(pm[i].Probs[0])
			if math.Abs(soft-sig) > 1e-3 {
				t.Errorf("text %d: l%d-l0 is %v from the softmax, %v from the sigmoid", i, c, soft, sig)
			}
		}
	}
}

// TestTransformerPreprocess: with model.yaml's preprocess: cardiffnlp, a tweet scores as its
// rewritten text (@user, http) scores without it.
func TestTransformerPreprocess(t *testing.T) {
	plain := loadReference(t, "tiny-roberta-sentiment")
	dir := copyFolder(t, filepath.Join("testdata", "tiny-roberta-sentiment"), "pre")
	if err := os.WriteFile(filepath.Join(dir, model.SpecFile), []byte("preprocess: cardiffnlp\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pre, err := scorer.Load(dir, scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pre.Close()
	raw := []string{"@bob loved it https://t.co/abc", "so bad @x_y http://example.com/z"}
	rewritten := []string{"@user loved it http", "so bad @user http"}
	a, b, c := make([]model.Prediction, 2), make([]model.Prediction, 2), make([]model.Prediction, 2)
	for _, run := range []struct {
		m     *scorer.Model
		texts []string
		out   []model.Prediction
	}{{pre, raw, a}, {plain, rewritten, b}, {plain, raw, c}} {
		if err := run.m.Score(context.Background(), run.texts, run.out); err != nil {
			t.Fatal(err)
		}
	}
	for i := range raw {
		for k := range a[i].Probs {
			if math.Abs(float64(a[i].Probs[k]-b[i].Probs[k])) > 1e-6 {
				t.Errorf("%q preprocessed scores %v, %q scores %v", raw[i], a[i].Probs, rewritten[i], b[i].Probs)
				break
			}
		}
		if a[i].Probs[0] == c[i].Probs[0] && a[i].Probs[1] == c[i].Probs[1] {
			t.Errorf("%q scores the same with and without preprocessing: the test shows nothing", raw[i])
		}
	}
}

// TestTextModelLoadErrors: a string-input model whose model.yaml does not match its graph fails
// at load naming the field.
func TestTextModelLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml func(string) string
		onnx string
		want []string
	}{
		{"input name", func(y string) string { return strings.Replace(y, "text: text", "text: texts", 1) }, "",
			[]string{"model.yaml field inputs.text", `no input "texts"`, `"text"`}},
		{"not a string graph", func(y string) string { return y }, filepath.Join("testdata", "tiny-bert-sentiment", "model.onnx"),
			[]string{"graph has 3 inputs", "input_ids"}},
		{"output", func(y string) string { return strings.Replace(y, "output: probabilities", "output: label", 1) }, "",
			[]string{`output "label" is int64, want float`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := copyFolder(t, filepath.Join("testdata", "tfidf-sentiment"), "m")
			y, err := os.ReadFile(filepath.Join(dir, model.SpecFile))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, model.SpecFile), []byte(c.yaml(string(y))), 0o644); err != nil {
				t.Fatal(err)
			}
			if c.onnx != "" {
				copyFile(t, c.onnx, filepath.Join(dir, model.ModelFile))
			}
			wantLoadError(t, dir, c.want...)
		})
	}
}

// TestTextModelCString: ONNX Runtime takes strings as C strings, so a NUL would cut the text
// short and invalid UTF-8 fails its string ops; the scorer hands it a NUL as a space and invalid
// bytes as U+FFFD, so the words after them still count.
func TestTextModelCString(t *testing.T) {
	m := loadReference(t, "tfidf-sentiment")
	texts := []string{"hello\x00I hate this awful day", "hello I hate this awful day", "hello", "hello\xff\xfeI hate this awful day"}
	out := make([]model.Prediction, len(texts))
	if err := m.Score(context.Background(), texts, out); err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 3} {
		for k := range out[i].Probs {
			if math.Abs(float64(out[i].Probs[k]-out[1].Probs[k])) > 1e-6 {
				t.Errorf("%q scores %v, %q %v", texts[i], out[i].Probs, texts[1], out[1].Probs)
				break
			}
		}
	}
	if out[1].Probs[0] == out[2].Probs[0] {
		t.Errorf("the words after hello change nothing: the test shows nothing")
	}
}
