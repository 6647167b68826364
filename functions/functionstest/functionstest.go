// Package functionstest is the test kit of the function core: a fake model
// that scores by text length, records its batch sizes, and can be held or
// made to fail, so tests order events with channels instead of sleeps.
package functionstest

import (
	"context"
	"sync"

	"github.com/tweetflow/tweetflow/model"
)

// Scorer scores a text by its length (value = min(len,100)/100, label
// "long" from 0.5). It implements functions.Scorer.
type Scorer struct {
	// ModelName is the model's name (default "fake").
	ModelName string
	// Block, if set, holds every Score call until it is closed.
	Block chan struct{}
	// Entered, if set, receives a value (without blocking) as each Score
	// call begins: the test's signal that a batch is being scored.
	Entered chan struct{}
	// Fail, if set, is every Score call's error.
	Fail error

	mu      sync.Mutex
	batches []int
}

// Name implements functions.Scorer.
func (s *Scorer) Name() string {
	if s.ModelName == "" {
		return "fake"
	}
	return s.ModelName
}

// Version implements functions.Scorer.
func (s *Scorer) Version() string { return "0.1.0" }

// Labels implements functions.Scorer.
func (s *Scorer) Labels() []string { return []string{"short", "long"} }

// Score implements functions.Scorer.
func (s *Scorer) Score(ctx context.Context, texts []string, out []model.Prediction) error {
	s.mu.Lock()
	s.batches = append(s.batches, len(texts))
	s.mu.Unlock()
	if s.Entered != nil {
		select {
		case s.Entered <- struct{}{}:
		default:
		}
	}
	if s.Block != nil {
		<-s.Block
	}
	if s.Fail != nil {
		return s.Fail
	}
	for i, t := range texts {
		p := float32(min(len(t), 100)) / 100
		label := "short"
		if p >= 0.5 {
			label = "long"
		}
		out[i] = model.Prediction{Value: float64(p), Label: label, Probs: []float32{1 - p, p}}
	}
	return nil
}

// Sizes returns the sizes of the batches scored so far.
func (s *Scorer) Sizes() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.batches...)
}
