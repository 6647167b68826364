// Package scorer loads a model folder (models/<name>/) and scores batches of
// texts with ONNX Runtime. The spec (model.yaml) says what the ONNX graph's
// tensors are called, what the labels are, how texts are featurized and how
// the one indexed value is derived from the probabilities.
package scorer

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/event"
)

// SpecFile and ModelFile are the file names inside a model folder.
const (
	SpecFile  = "model.yaml"
	ModelFile = "model.onnx"
	CardFile  = "MODEL_CARD.md"
)

// Spec is the parsed model.yaml of a model folder.
type Spec struct {
	// Name is the model name: the metadata event's "model" extension, the
	// store's column prefix and the Elasticsearch field name.
	Name    string `json:"name"`
	Version string `json:"version"`
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

	// dirName is the folder the spec was read from (set by ListSpecs).
	dirName string
}

// Inputs names the two input tensors: int64 feature ids and float32 feature
// weights, both [batch, features].
type Inputs struct {
	Indices string `json:"indices"`
	Values  string `json:"values"`
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

// LoadSpec reads and checks dir/model.yaml. Errors name the file and field.
func LoadSpec(dir string) (*Spec, error) {
	path := filepath.Join(dir, SpecFile)
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("model spec: %w", err)
	}
	var s Spec
	if err := yaml.UnmarshalStrict(b, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := s.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
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
		return fieldErr("name", "%q must match [a-z][a-z0-9_]*", s.Name)
	case s.Version == "":
		return fieldErr("version", "missing")
	case s.Inputs.Indices == "":
		return fieldErr("inputs.indices", "missing")
	case s.Inputs.Values == "":
		return fieldErr("inputs.values", "missing")
	case s.Output == "":
		return fieldErr("output", "missing")
	case len(s.Labels) < 2:
		return fieldErr("labels", "need at least two labels, got %d", len(s.Labels))
	case s.Featurizer.Name == "":
		return fieldErr("featurizer.name", "missing")
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
	if s.Threshold != nil && s.Threshold.Direction != "above" && s.Threshold.Direction != "below" {
		return fieldErr("threshold.direction", "%q is not above or below", s.Threshold.Direction)
	}
	return nil
}

// Prediction is one text's result.
type Prediction struct {
	// Value is derived from Probs as the spec's value section says.
	Value float64
	// Label is the most probable label.
	Label string
	// Probs holds one probability per label, in the spec's label order.
	Probs []float32
}
