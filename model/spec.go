// Package model is the model registry: the parsed model.yaml of each model
// folder, the folder of folders that lists them, and the views the rest of
// tweetflow derives from them (store columns, Elasticsearch mapping, Kibana
// panels, dashboard charts, alert thresholds). It is pure Go: reading a spec
// never loads ONNX Runtime, so the aggregator, the sinks and the generators
// build with CGO_ENABLED=0. Scoring is package scorer's.
package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/event"
)

// SpecFile, ModelFile and CardFile are the file names inside a model folder.
const (
	SpecFile  = "model.yaml"
	ModelFile = "model.onnx"
	CardFile  = "MODEL_CARD.md"
)

// Kind says how a model turns text into the graph's inputs, and so which
// scorer loads it.
type Kind string

// Model kinds, each with its own required fields in Check.
const (
	// KindHashed: tweetflow's hashed featurizer feeds a graph with an int64
	// ids input and a float32 weights input, both [batch, features]. The
	// default when model.yaml has no kind.
	KindHashed Kind = "hashed"
	// KindTransformer: a Hugging Face folder (config.json, tokenizer.json,
	// model.onnx or onnx/model.onnx); the tokenizer in Tokenizer feeds the
	// graph input_ids and attention_mask (and token_type_ids when the graph
	// has it), at most MaxLength tokens. model.yaml is optional (hf.go).
	KindTransformer Kind = "transformer"
	// KindText: the graph takes the texts themselves, a string tensor
	// [batch] named by Inputs.Text (a scikit-learn pipeline exported by
	// skl2onnx: the graph tokenizes and weighs), and gives Output
	// [batch, labels].
	KindText Kind = "text"
)

// Activations: what turns a graph's output into probabilities.
const (
	// ActivationAuto (empty): softmax when the output is named "logits",
	// none otherwise (an output named "probabilities" already is).
	ActivationAuto    = ""
	ActivationSoftmax = "softmax"
	// ActivationSigmoid: one independent probability per label (a
	// multi-label model: config.json problem_type multi_label_classification).
	ActivationSigmoid = "sigmoid"
	ActivationNone    = "none"
)

// Preprocessing of the text before a transformer's tokenizer or a text
// model's graph sees it.
const (
	// PreprocessNone (empty) feeds the text as it is.
	PreprocessNone = ""
	// PreprocessCardiffNLP is the cardiffnlp twitter-roberta models'
	// rule: each whitespace-separated word starting with @ (and longer than
	// it) becomes @user, each starting with http becomes http.
	PreprocessCardiffNLP = "cardiffnlp"
)

// Spec is the parsed model.yaml of a model folder.
type Spec struct {
	// Name is the model name: the metadata event's "model" extension, the
	// store's column prefix and the Elasticsearch field name.
	Name    string `json:"name"`
	Version string `json:"version"`
	// Kind selects the scorer; empty means KindHashed.
	Kind Kind `json:"kind,omitempty"`
	// Description is one line for humans (dashboards, CLI).
	Description string `json:"description,omitempty"`
	// Inputs and Output name the ONNX graph's tensors.
	Inputs Inputs `json:"inputs"`
	Output string `json:"output"`
	// Labels are the classes, in the order of the output's last dimension.
	Labels []string `json:"labels"`
	// Featurizer names the featurizer and its parameters.
	Featurizer FeaturizerSpec `json:"featurizer"`
	// Value says how the indexed value is derived and typed.
	Value ValueSpec `json:"value"`
	// Threshold is the default reference line on dashboards and the default
	// alert bound for this model's per-interval average.
	Threshold *ThresholdSpec `json:"threshold,omitempty"`

	// Tokenizer is the folder holding tokenizer.json (and optionally
	// tokenizer_config.json) of a transformer, relative to the model folder;
	// empty means the model folder itself.
	Tokenizer string `json:"tokenizer,omitempty"`
	// MaxLength is a transformer's longest input in tokens, special tokens
	// included: by default the position embeddings' size, capped by
	// tokenizer_config.json's model_max_length.
	MaxLength int `json:"max_length,omitempty"`
	// Activation turns a transformer's or text model's output into
	// probabilities (Activation* constants); empty: by the output's name.
	Activation string `json:"activation,omitempty"`
	// Preprocess names a rewrite of the text before it is scored
	// (Preprocess* constants): off by default.
	Preprocess string `json:"preprocess,omitempty"`
	// Deploy sizes the model's function for make deploy-model (deploy.go).
	Deploy *DeploySpec `json:"deploy,omitempty"`

	// dir is the folder the spec was read from (set by LoadSpec).
	dir string
	// onnx is a transformer's graph file, found by LoadSpec.
	onnx string
	// vocab is a transformer's config.json vocab_size (0: not stated).
	vocab int
}

// Inputs names the graph's input tensors: for a hashed model, int64
// feature ids and float32 feature weights, both [batch, features]; for a
// text model, the string tensor of texts.
type Inputs struct {
	Indices string `json:"indices,omitempty"`
	Values  string `json:"values,omitempty"`
	Text    string `json:"text,omitempty"`
}

// FeaturizerSpec names the featurizer and carries its parameters.
type FeaturizerSpec struct {
	Name   string         `json:"name"`
	Params map[string]any `json:"params,omitempty"`
}

// Value derivation kinds.
const (
	// DeriveProbability: value = P(Positive).
	DeriveProbability = "probability"
	// DeriveDifference: value = P(Positive) - P(Negative).
	DeriveDifference = "difference"
	// DeriveArgmax: value = index of the most probable label.
	DeriveArgmax = "argmax"
)

// Value types for indexing.
const (
	TypeFloat   = "float"
	TypeInteger = "integer"
	TypeKeyword = "keyword"
)

// ValueSpec says how the indexed value is derived from the probabilities.
type ValueSpec struct {
	Derive   string `json:"derive"`
	Positive string `json:"positive,omitempty"`
	Negative string `json:"negative,omitempty"`
	// Type is the value's type in the index: float, integer or keyword.
	Type string `json:"type"`
	// Min and Max bound the value (for dashboards' axes).
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// ThresholdSpec is a reference line: an interval's average Above or below
// Value is worth a look.
type ThresholdSpec struct {
	Value     float64 `json:"value"`
	Direction string  `json:"direction"` // "above" or "below"
	Reason    string  `json:"reason,omitempty"`
}

// Threshold directions.
const (
	Above = "above"
	Below = "below"
)

// Dir is the folder the spec was read from; empty for a spec built in code.
func (s *Spec) Dir() string { return s.dir }

// TokenizerDir is the folder of a transformer's tokenizer.json; empty for a
// spec built in code.
func (s *Spec) TokenizerDir() string {
	if s.dir == "" {
		return ""
	}
	return filepath.Join(s.dir, s.Tokenizer)
}

// ONNXPath is the graph file of the spec's folder: for a transformer
// model.onnx, else onnx/model.onnx (transformers.js' layout); for other
// kinds model.onnx. Empty for a spec built in code.
func (s *Spec) ONNXPath() string {
	if s.onnx != "" || s.dir == "" {
		return s.onnx
	}
	return filepath.Join(s.dir, ModelFile)
}

// ConfigVocabSize is a transformer's config.json vocab_size, the rows of
// its word embedding; 0 when not stated (or not a transformer).
func (s *Spec) ConfigVocabSize() int { return s.vocab }

// ModelKind is the spec's kind, KindHashed when model.yaml names none.
func (s *Spec) ModelKind() Kind {
	if s.Kind == "" {
		return KindHashed
	}
	return s.Kind
}

// LoadSpec reads and checks dir/model.yaml. A Hugging Face folder (one with
// a config.json) needs none: its kind is transformer and what model.yaml
// omits comes from config.json and the folder (see fillTransformer).
// Errors name the file and field.
func LoadSpec(dir string) (*Spec, error) {
	path := filepath.Join(dir, SpecFile)
	b, err := os.ReadFile(path)
	hf := IsHFDir(dir)
	switch {
	case err == nil:
	case hf && errors.Is(err, os.ErrNotExist):
		b = nil
	default:
		return nil, fmt.Errorf("model spec: %w", err)
	}
	var s Spec
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.dir = dir
	if hf {
		if s.Kind != "" && s.Kind != KindTransformer {
			return nil, fmt.Errorf("%s: field kind: %q, but %s has a %s (a transformer folder)", path, s.Kind, dir, ConfigFile)
		}
		if err := fillTransformer(&s, dir); err != nil {
			return nil, err
		}
		if err := s.Check(); err != nil {
			return nil, fmt.Errorf("%s (with %s): %w", path, ConfigFile, err)
		}
		return &s, nil
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &s, nil
}

// ParseSpec parses and checks the bytes of a model.yaml: unknown fields are
// errors, and errors name the field. The spec has no folder (Dir is empty).
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return nil, err
	}
	if err := s.Check(); err != nil {
		return nil, err
	}
	return &s, nil
}

// Check validates the spec's fields; errors name the field.
func (s *Spec) Check() error {
	fieldErr := func(field, format string, a ...any) error {
		return fmt.Errorf("field %s: %s", field, fmt.Sprintf(format, a...))
	}
	switch {
	case !event.ValidModelName(s.Name):
		return fieldErr("name", "%q must match [a-z]([a-z0-9_]{0,38}[a-z0-9])? (40 characters at most, no trailing _)", s.Name)
	case s.Version == "":
		return fieldErr("version", "missing")
	}
	onlyFor := func(field string, set bool, kinds string) error {
		if set {
			return fieldErr(field, "only a %s model has one", kinds)
		}
		return nil
	}
	switch s.ModelKind() {
	case KindHashed:
		switch {
		case s.Inputs.Indices == "":
			return fieldErr("inputs.indices", "missing")
		case s.Inputs.Values == "":
			return fieldErr("inputs.values", "missing")
		case s.Output == "":
			return fieldErr("output", "missing")
		case s.Featurizer.Name == "":
			return fieldErr("featurizer.name", "missing")
		}
		for _, f := range []struct {
			field string
			set   bool
		}{{"inputs.text", s.Inputs.Text != ""}, {"activation", s.Activation != ""}, {"preprocess", s.Preprocess != ""}} {
			if err := onlyFor(f.field, f.set, "transformer or text"); err != nil {
				return err
			}
		}
	case KindTransformer, KindText:
		if s.ModelKind() == KindText {
			switch {
			case s.Inputs.Text == "":
				return fieldErr("inputs.text", "missing (the graph's string input)")
			case s.Output == "":
				return fieldErr("output", "missing")
			}
		} else if s.MaxLength < 1 {
			return fieldErr("max_length", "%d is not positive", s.MaxLength)
		}
		if s.Featurizer.Name != "" {
			return fieldErr("featurizer.name", "a %s model has no featurizer (its graph or tokenizer reads the text)", s.ModelKind())
		}
		switch s.Activation {
		case ActivationAuto, ActivationSoftmax, ActivationSigmoid, ActivationNone:
		default:
			return fieldErr("activation", "%q is not one of softmax, sigmoid, none", s.Activation)
		}
		switch s.Preprocess {
		case PreprocessNone, PreprocessCardiffNLP:
		default:
			return fieldErr("preprocess", "%q is not a preprocessing this build has (want %s)", s.Preprocess, PreprocessCardiffNLP)
		}
	default:
		return fieldErr("kind", "%q is not a model kind this build has (want %s, %s or %s)", s.Kind, KindHashed, KindTransformer, KindText)
	}
	if s.ModelKind() != KindTransformer {
		if err := onlyFor("max_length", s.MaxLength != 0, "transformer"); err != nil {
			return err
		}
		if err := onlyFor("tokenizer", s.Tokenizer != "", "transformer"); err != nil {
			return err
		}
	}
	if s.ModelKind() != KindHashed {
		if err := onlyFor("inputs.indices", s.Inputs.Indices != "" || s.Inputs.Values != "", "hashed"); err != nil {
			return err
		}
	}
	if len(s.Labels) < 2 {
		return fieldErr("labels", "need at least two labels, got %d", len(s.Labels))
	}
	seen := map[string]bool{}
	for i, l := range s.Labels {
		if l == "" || seen[l] {
			return fieldErr(fmt.Sprintf("labels[%d]", i), "empty or duplicate label %q", l)
		}
		seen[l] = true
	}
	switch s.Value.Derive {
	case DeriveProbability:
		if !slices.Contains(s.Labels, s.Value.Positive) {
			return fieldErr("value.positive", "%q is not a label", s.Value.Positive)
		}
	case DeriveDifference:
		if !slices.Contains(s.Labels, s.Value.Positive) {
			return fieldErr("value.positive", "%q is not a label", s.Value.Positive)
		}
		if !slices.Contains(s.Labels, s.Value.Negative) {
			return fieldErr("value.negative", "%q is not a label", s.Value.Negative)
		}
	case DeriveArgmax:
	default:
		return fieldErr("value.derive", "%q is not one of probability, difference, argmax", s.Value.Derive)
	}
	switch s.Value.Type {
	case TypeFloat, TypeInteger, TypeKeyword:
	default:
		return fieldErr("value.type", "%q is not one of float, integer, keyword", s.Value.Type)
	}
	if s.Value.Min > s.Value.Max {
		return fieldErr("value.min", "%v is above value.max %v", s.Value.Min, s.Value.Max)
	}
	if s.Threshold != nil && s.Threshold.Direction != Above && s.Threshold.Direction != Below {
		return fieldErr("threshold.direction", "%q is not above or below", s.Threshold.Direction)
	}
	if s.Deploy != nil {
		return s.Deploy.check()
	}
	return nil
}
