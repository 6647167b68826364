package train_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/featurize"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
	"github.com/tweetflow/tweetflow/train"
)

func TestEvalFixture(t *testing.T) {
	m, err := scorer.Load("../models/sentiment", scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	f, err := os.Open("testdata/eval_fixture.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := train.Eval(context.Background(), m, f, "eval_fixture.tsv")
	if err != nil {
		t.Fatal(err)
	}
	// Predictions: pos pos neg pos neu neg; gold: pos pos neg neg neu neu.
	near := func(name string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	if rep.Rows != 6 || rep.Model != "sentiment" || rep.TweetsPerSecond <= 0 {
		t.Errorf("report = %+v", rep)
	}
	near("accuracy", rep.Accuracy, 4.0/6)
	near("macro_recall", rep.MacroRecall, (0.5+0.5+1)/3)
	near("macro_f1", rep.MacroF1, (0.5+2.0/3+0.8)/3)
	want := map[string]train.ClassMetrics{
		"negative": {Precision: 0.5, Recall: 0.5, F1: 0.5, Support: 2},
		"neutral":  {Precision: 1, Recall: 0.5, F1: 2.0 / 3, Support: 2},
		"positive": {Precision: 2.0 / 3, Recall: 1, F1: 0.8, Support: 2},
	}
	for l, w := range want {
		g := rep.PerClass[l]
		near(l+".precision", g.Precision, w.Precision)
		near(l+".recall", g.Recall, w.Recall)
		near(l+".f1", g.F1, w.F1)
		if g.Support != w.Support {
			t.Errorf("%s.support = %d", l, g.Support)
		}
	}
}

func TestParseTSVErrors(t *testing.T) {
	labels := []string{"not", "offensive"}
	for _, c := range []struct{ in, want string }{
		{"not\tfine\nrude\tbad label\n", "x.tsv:2: unknown label \"rude\""},
		{"not\tfine\n\nno tab here\n", "x.tsv:3: want label<TAB>text"},
		{"offensive\tbad \xff utf8\n", "x.tsv:1: text is not valid UTF-8"},
	} {
		_, err := train.ParseTSV(strings.NewReader(c.in), "x.tsv", labels)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseTSV(%q) = %v, want %q", c.in, err, c.want)
		}
	}
	ex, err := train.ParseTSV(strings.NewReader("not\ta\toffensive\r\nnot\t\n"), "x.tsv", labels)
	if err != nil || len(ex) != 2 || ex[0].Text != "a\toffensive" || ex[1].Text != "" {
		t.Errorf("ParseTSV = %+v, %v", ex, err)
	}
}

func TestEvaluateEmptyClass(t *testing.T) {
	m := train.Evaluate([]string{"a", "b"}, []int{0, 0, 0}, []int{0, 0, 0})
	if m.Accuracy != 1 || m.PerClass["b"].Precision != 0 || m.MacroRecall != 0.5 || m.MacroF1 != 0.5 {
		t.Errorf("metrics = %+v", m)
	}
}

// synthetic builds a small separable-ish data set.
func synthetic() []train.Example {
	var ex []train.Example
	good := []string{"great", "love", "happy", "wonderful", "nice"}
	bad := []string{"awful", "hate", "sad", "terrible", "bad"}
	for i := range 300 {
		w := good
		label := 1
		if i%2 == 0 {
			w, label = bad, 0
		}
		ex = append(ex, train.Example{Label: label, Text: fmt.Sprintf("this is %s and %s number %d", w[i%5], w[(i/5)%5], i)})
	}
	return ex
}

// TestTrainExportScore: a trained table exported to ONNX scores through ONNX
// Runtime exactly as the trainer computes it, and training is reproducible.
func TestTrainExportScore(t *testing.T) {
	cfg := featurize.DefaultConfig()
	cfg.Buckets = 4096
	fz, err := featurize.New(cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	ex := synthetic()
	ds := train.Featurize(fz, ex)
	h := train.Hyper{Epochs: 3, LR: 0.1, ClassWeightPower: 1, Seed: 7, Ensemble: 2}
	a := train.Fit(ds, cfg.Buckets, 2, h)
	b := train.Fit(ds, cfg.Buckets, 2, h)
	for i := range a.W {
		if a.W[i] != b.W[i] {
			t.Fatalf("training is not reproducible at weight %d", i)
		}
	}
	if acc := train.Evaluate([]string{"bad", "good"}, ds.Gold(), a.Predict(ds)).Accuracy; acc < 0.95 {
		t.Errorf("training accuracy %v on separable data", acc)
	}
	r := train.Recipe{
		Name: "toy", Description: "toy", Labels: []string{"bad", "good"}, Features: cfg, Hyper: h,
		Value: model.ValueSpec{Derive: model.DeriveDifference, Positive: "good", Negative: "bad", Type: model.TypeFloat, Min: -1, Max: 1},
	}
	dir := t.TempDir()
	version, err := train.WriteFolder(dir, r, a, "")
	if err != nil {
		t.Fatal(err)
	}
	version2, err := train.WriteFolder(filepath.Join(dir, "again"), r, b, "")
	if err != nil || version2 != version {
		t.Fatalf("same model, versions %s and %s (%v)", version, version2, err)
	}
	m, err := scorer.Load(dir, scorer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	texts := []string{"this is great", "I hate it", "", "neutral words only", "great great awful"}
	preds := make([]model.Prediction, len(texts))
	if err := m.Score(context.Background(), texts, preds); err != nil {
		t.Fatal(err)
	}
	tds := train.Featurize(fz, func() []train.Example {
		var e []train.Example
		for _, s := range texts {
			e = append(e, train.Example{Text: s})
		}
		return e
	}())
	p := make([]float64, 2)
	for i := range texts {
		a.Probs(tds, i, p)
		for c := range p {
			if d := math.Abs(p[c] - float64(preds[i].Probs[c])); d > 1e-5 {
				t.Errorf("%q: ONNX Runtime %v, trainer %v", texts[i], preds[i].Probs, p)
			}
		}
		if math.Abs(preds[i].Value-(p[1]-p[0])) > 1e-5 {
			t.Errorf("%q: value %v, want %v", texts[i], preds[i].Value, p[1]-p[0])
		}
	}
}
