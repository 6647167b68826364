package train

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/featurize"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
)

// Options for Run.
type Options struct {
	// Recipe is the model to train.
	Recipe Recipe
	// DataDir is shared/data: <DataDir>/<recipe subdir>/{train,val}.tsv and
	// <DataDir>/lexicons/.
	DataDir string
	// Out is the model folder to write.
	Out string
	// Command is the command line recorded in the model card.
	Command string
	// Scorer loads the written model to measure it through ONNX Runtime.
	Scorer scorer.Options
	// Log receives progress lines (may be nil).
	Log io.Writer
}

// Report is what Run measured.
type Report struct {
	Model   string  `json:"model"`
	Version string  `json:"version"`
	Train   int     `json:"train_rows"`
	Val     Metrics `json:"val"`
	// GoVal is val measured with the trainer's own arithmetic (float64);
	// Val is measured through ONNX Runtime from the written folder.
	GoVal   Metrics `json:"go_val"`
	Seconds float64 `json:"seconds"`
}

// Run trains the recipe on DataDir, writes the model folder and measures the
// written model on val through ONNX Runtime.
func Run(ctx context.Context, o Options) (*Report, error) {
	logf := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	start := time.Now()
	r := o.Recipe
	lexDir := filepath.Join(o.DataDir, "lexicons")
	fz, err := featurize.New(r.Features, lexDir)
	if err != nil {
		return nil, fmt.Errorf("featurizer: %w", err)
	}
	trainEx, err := ReadTSV(filepath.Join(o.DataDir, r.DataSubdir, "train.tsv"), r.Labels)
	if err != nil {
		return nil, err
	}
	valEx, err := ReadTSV(filepath.Join(o.DataDir, r.DataSubdir, "val.tsv"), r.Labels)
	if err != nil {
		return nil, err
	}
	trainDS := Featurize(fz, trainEx)
	valDS := Featurize(fz, valEx)
	logf("%s: %d train, %d val rows featurized (%d features) in %.1fs", r.Name, trainDS.Len(), valDS.Len(), len(trainDS.idx), time.Since(start).Seconds())
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lin := Fit(trainDS, r.Features.Buckets, len(r.Labels), r.Hyper)
	goVal := Evaluate(r.Labels, valDS.Gold(), lin.Predict(valDS))
	logf("%s: trained in %.1fs; val (Go) accuracy %.4f macro-recall %.4f macro-F1 %.4f",
		r.Name, time.Since(start).Seconds(), goVal.Accuracy, goVal.MacroRecall, goVal.MacroF1)

	version, err := WriteFolder(o.Out, r, lin, lexDir)
	if err != nil {
		return nil, err
	}
	// Measure what was written, through the real inference path.
	m, err := scorer.Load(o.Out, o.Scorer)
	if err != nil {
		return nil, fmt.Errorf("loading the written model: %w", err)
	}
	defer m.Close()
	texts := make([]string, len(valEx))
	gold := make([]int, len(valEx))
	for i, e := range valEx {
		texts[i], gold[i] = e.Text, e.Label
	}
	preds := make([]model.Prediction, len(texts))
	if err := m.Score(ctx, texts, preds); err != nil {
		return nil, err
	}
	pred := make([]int, len(preds))
	for i, p := range preds {
		pred[i] = indexOf(r.Labels, p.Label)
	}
	val := Evaluate(r.Labels, gold, pred)
	logf("%s: val (ONNX Runtime) accuracy %.4f macro-recall %.4f macro-F1 %.4f", r.Name, val.Accuracy, val.MacroRecall, val.MacroF1)
	rep := &Report{Model: r.Name, Version: version, Train: trainDS.Len(), Val: val, GoVal: goVal, Seconds: time.Since(start).Seconds()}
	if err := writeCard(o.Out, r, rep, o.Command); err != nil {
		return nil, err
	}
	return rep, nil
}

func indexOf(labels []string, l string) int {
	for i, x := range labels {
		if x == l {
			return i
		}
	}
	return -1
}

// WriteFolder writes model.onnx, model.yaml and the lexicons (with their
// licence files) into dir and returns the model version: a digest of the
// ONNX bytes, so equal training gives an equal version.
func WriteFolder(dir string, r Recipe, lin *Linear, lexDir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	spec := model.Spec{
		Name:        r.Name,
		Description: r.Description,
		Inputs:      model.Inputs{Indices: "indices", Values: "values"},
		Output:      "probabilities",
		Labels:      r.Labels,
		Featurizer:  model.FeaturizerSpec{Name: featurize.Name, Params: r.Features.Params()},
		Value:       r.Value,
		Threshold:   r.Threshold,
	}
	onnx, err := MarshalONNX(Graph{
		Table: lin.W, Bias: lin.B, Buckets: lin.Buckets, Classes: lin.Classes,
		Indices: spec.Inputs.Indices, Values: spec.Inputs.Values, Output: spec.Output,
		Metadata: map[string]string{
			scorer.MetaBuckets:    strconv.Itoa(r.Features.Buckets),
			scorer.MetaFeaturizer: scorer.FeaturizerFingerprint(r.Features),
		},
		DocString: r.Description,
	})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(onnx)
	spec.Version = "1." + hex.EncodeToString(sum[:4])
	if err := spec.Check(); err != nil {
		return "", fmt.Errorf("recipe %s: %w", r.Name, err)
	}
	y, err := yaml.Marshal(spec)
	if err != nil {
		return "", err
	}
	header := "# Written by `tweetflow train --model " + r.Name + "`; edit the recipe in train/recipe.go, not this file.\n"
	if err := os.WriteFile(filepath.Join(dir, model.SpecFile), append([]byte(header), y...), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, model.ModelFile), onnx, 0o644); err != nil {
		return "", err
	}
	for _, l := range r.Lexicons {
		for _, f := range append([]string{l.Name}, l.Notices...) {
			if err := copyFile(filepath.Join(lexDir, f), filepath.Join(dir, f)); err != nil {
				return "", err
			}
		}
	}
	return spec.Version, nil
}

func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}

func writeCard(dir string, r Recipe, rep *Report, command string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Model card: %s (version %s)\n\n%s.\n\n", r.Name, rep.Version, r.Description)
	fmt.Fprintf(&b, "A linear classifier over hashed features (featurizer `%s` v%d: %s), trained in Go with AdaGrad "+
		"(multinomial logistic regression), exported as a 6-node ONNX graph (Gather, Unsqueeze, MatMul, Squeeze, Add, Softmax) "+
		"with a %d x %d table.\n\n",
		featurize.Name, featurize.Version, featureNote(r.Features), r.Features.Buckets, len(r.Labels))
	b.WriteString(r.Card)
	fmt.Fprintf(&b, "\n## Training command\n\n```\n%s\n```\n\nSeeded (seed %d) and single-threaded: a rerun writes the same model.onnx (same version) "+
		"and the same figures. Hyper-parameters: epochs %d, AdaGrad learning rate %g, L2 %g, class-weight power %g "+
		"(1 = classes weighted to balance), ensemble size %d (seeds averaged into one table). The validation set was only "+
		"used to compare recipes (by %s) and to report the figures below.\n",
		command, r.Hyper.Seed, r.Hyper.Epochs, r.Hyper.LR, r.Hyper.L2, r.Hyper.ClassWeightPower, max(r.Hyper.Ensemble, 1), r.Metric)
	fmt.Fprintf(&b, "\n## Validation metrics\n\nMeasured through ONNX Runtime on shared/data/%s/val.tsv (%d rows), "+
		"by `tweetflow train` and reproducible with `tweetflow eval --model models/%s --data ../shared/data/%s/val.tsv`:\n\n",
		r.DataSubdir, rep.Val.Rows, r.Name, r.DataSubdir)
	fmt.Fprintf(&b, "| metric | value |\n|---|---:|\n| accuracy | %.4f |\n| macro recall | %.4f |\n| macro F1 | %.4f |\n\n",
		rep.Val.Accuracy, rep.Val.MacroRecall, rep.Val.MacroF1)
	b.WriteString("| label | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n")
	for _, l := range r.Labels {
		c := rep.Val.PerClass[l]
		fmt.Fprintf(&b, "| %s | %.4f | %.4f | %.4f | %d |\n", l, c.Precision, c.Recall, c.F1, c.Support)
	}
	b.WriteString("\nThe test splits are withheld from this project; expect test figures to be lower.\n")
	fmt.Fprintf(&b, "\n## Speed\n\n%s Measured 2026-11-27 on a shared 2-core AMD EPYC VM (Go 1.26.8, ONNX Runtime 1.24.1); "+
		"docs/BENCHMARKS.md (section \"Models\") has the command, the wall-clock figures and the conditions.\n", r.Speed)
	return os.WriteFile(filepath.Join(dir, model.CardFile), []byte(b.String()), 0o644)
}

// featureNote describes the features of c in words, for the model card.
func featureNote(c featurize.Config) string {
	parts := []string{"word unigrams"}
	if c.WordNgrams >= 2 {
		parts[0] = "word unigrams and bigrams"
	}
	if c.CharMax > 0 {
		chars := fmt.Sprintf("character %d-%d-grams of each word", c.CharMin, c.CharMax)
		if c.CharMinWord > 0 {
			chars = fmt.Sprintf("character %d-%d-grams of words of %d+ bytes", c.CharMin, c.CharMax, c.CharMinWord)
		}
		parts = append(parts, chars)
	}
	if c.Negation {
		parts = append(parts, "negation scope")
	}
	parts = append(parts, "shape features (length, punctuation, capitals, mentions, hashtags, URLs, emoji, elongation)")
	if c.VADER != "" {
		parts = append(parts, "VADER valence")
	}
	if c.Cuss != "" {
		parts = append(parts, "cuss-list hits")
	}
	return strings.Join(parts, ", ")
}
