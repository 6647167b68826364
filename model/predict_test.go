package model_test

import (
	"math"
	"testing"

	"github.com/tweetflow/tweetflow/model"
)

func TestDeriver(t *testing.T) {
	nan := float32(math.NaN())
	labels := []string{"negative", "neutral", "positive"}
	cases := []struct {
		name  string
		value model.ValueSpec
		probs []float32
		label string
		want  float64
	}{
		{"difference", model.ValueSpec{Derive: model.DeriveDifference, Positive: "positive", Negative: "negative"}, []float32{0.25, 0.25, 0.5}, "positive", 0.25},
		{"probability", model.ValueSpec{Derive: model.DeriveProbability, Positive: "neutral"}, []float32{0.25, 0.5, 0.25}, "neutral", 0.5},
		{"argmax", model.ValueSpec{Derive: model.DeriveArgmax}, []float32{0.7, 0.2, 0.1}, "negative", 0},
		{"argmax last", model.ValueSpec{Derive: model.DeriveArgmax}, []float32{0.1, 0.2, 0.7}, "positive", 2},
		{"nan is 0", model.ValueSpec{Derive: model.DeriveProbability, Positive: "neutral"}, []float32{0.5, nan, 0.5}, "negative", 0},
	}
	for _, c := range cases {
		d := model.NewDeriver(&model.Spec{Labels: labels, Value: c.value})
		p := model.Prediction{Probs: c.probs}
		if err := d.Derive(&p); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.Label != c.label || math.Abs(p.Value-c.want) > 1e-9 {
			t.Errorf("%s: got %q %v, want %q %v", c.name, p.Label, p.Value, c.label, c.want)
		}
	}
}

// A scorer bug or an unchecked spec is an error, never a panic.
func TestDeriverErrors(t *testing.T) {
	labels := []string{"a", "b"}
	for name, c := range map[string]struct {
		value model.ValueSpec
		probs []float32
	}{
		"short probs":        {model.ValueSpec{Derive: model.DeriveArgmax}, []float32{1}},
		"no probs":           {model.ValueSpec{Derive: model.DeriveArgmax}, nil},
		"positive not label": {model.ValueSpec{Derive: model.DeriveProbability, Positive: "z"}, []float32{0.5, 0.5}},
		"negative not label": {model.ValueSpec{Derive: model.DeriveDifference, Positive: "a", Negative: "z"}, []float32{0.5, 0.5}},
		"unknown derive":     {model.ValueSpec{Derive: "median"}, []float32{0.5, 0.5}},
	} {
		d := model.NewDeriver(&model.Spec{Labels: labels, Value: c.value})
		if err := d.Derive(&model.Prediction{Probs: c.probs}); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
