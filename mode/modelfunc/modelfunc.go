// Package modelfunc loads a model folder into the function core, for every
// mode that runs a model function (Kafka only, Knative). It is the one mode
// package that links ONNX Runtime (through scorer): the aggregator's build
// must not reach it, so that the aggregator builds with CGO_ENABLED=0.
package modelfunc

import (
	"context"
	"errors"
	"fmt"

	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
)

// countingScorer reports each micro-batch's size to the metrics.
type countingScorer struct {
	*scorer.Model
	m *metrics.Metrics
}

func (s countingScorer) Score(ctx context.Context, texts []string, out []model.Prediction) error {
	s.m.ObserveBatch(len(texts))
	return s.Model.Score(ctx, texts, out)
}

// New loads the model of c and returns the function core over it and a
// close that flushes the core, then releases the model.
func New(c core.FunctionConfig, m *metrics.Metrics) (*functions.Function, func(context.Context) error, error) {
	if err := c.Validate(); err != nil {
		return nil, nil, err
	}
	sc, err := scorer.Load(c.ModelDir, scorer.Options{IntraOpThreads: c.Threads, LibraryPath: c.Library})
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: %w", c.ModelDir, err)
	}
	fn := functions.New(countingScorer{sc, m}, c.Batch)
	closeAll := func(ctx context.Context) error {
		return errors.Join(fn.Close(ctx), sc.Close())
	}
	return fn, closeAll, nil
}
