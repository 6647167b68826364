package model

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Prediction is one text's result.
type Prediction struct {
	// Value is derived from Probs as the spec's value section says.
	Value float64
	// Label is the most probable label.
	Label string
	// Probs holds one probability per label, in the spec's label order.
	Probs []float32
}

// Deriver turns a model's probabilities into its label and indexed value,
// as the spec's value section says. Every scorer uses it, whatever its
// kind, so a value means the same thing for every model.
type Deriver struct {
	labels   []string
	derive   string
	pos, neg int // label indexes of Value.Positive and Value.Negative, -1 if none
}

// NewDeriver returns the Deriver of a checked spec.
func NewDeriver(s *Spec) Deriver {
	return Deriver{
		labels: s.Labels,
		derive: s.Value.Derive,
		pos:    slices.Index(s.Labels, s.Value.Positive),
		neg:    slices.Index(s.Labels, s.Value.Negative),
	}
}

// Derive sets p.Label and p.Value from p.Probs. A NaN value becomes 0, so a
// degenerate output cannot poison an average downstream. Probs of the wrong
// length are an error (a scorer bug), never a panic.
func (d Deriver) Derive(p *Prediction) error {
	if len(p.Probs) != len(d.labels) || len(d.labels) == 0 {
		return fmt.Errorf("model: %d probabilities for %d labels", len(p.Probs), len(d.labels))
	}
	best := 0
	for c, v := range p.Probs {
		if v > p.Probs[best] {
			best = c
		}
	}
	p.Label = d.labels[best]
	switch d.derive {
	case DeriveProbability:
		if d.pos < 0 {
			return errors.New("model: value.positive is not a label")
		}
		p.Value = float64(p.Probs[d.pos])
	case DeriveDifference:
		if d.pos < 0 || d.neg < 0 {
			return errors.New("model: value.positive or value.negative is not a label")
		}
		p.Value = float64(p.Probs[d.pos]) - float64(p.Probs[d.neg])
	case DeriveArgmax:
		p.Value = float64(best)
	default:
		return fmt.Errorf("model: value.derive %q is not one of probability, difference, argmax", d.derive)
	}
	if math.IsNaN(p.Value) {
		p.Value = 0
	}
	return nil
}
