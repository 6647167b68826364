package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/scorer"
	"github.com/tweetflow/tweetflow/transport"
)

// FunctionConfig is a model function's configuration, read from func-go's
// cfg map (the environment). One binary serves every model: the model is
// data (MODEL_DIR), so adding a model needs no Go code.
type FunctionConfig struct {
	// ModelDir is the model folder (MODEL_DIR); or MODELS_DIR/MODEL.
	ModelDir string
	// Options of the micro-batcher: MAX_BATCH, MAX_DELAY, MAX_QUEUE, WORKERS.
	Batch functions.Options
	// Threads is ONNX Runtime's intra-op threads (ORT_THREADS, default 1).
	Threads int
}

// FunctionConfigFrom reads a FunctionConfig from cfg.
func FunctionConfigFrom(cfg map[string]string) (FunctionConfig, error) {
	var c FunctionConfig
	c.ModelDir = cfg["MODEL_DIR"]
	if c.ModelDir == "" && cfg["MODEL"] != "" {
		root := cfg["MODELS_DIR"]
		if root == "" {
			root = "/models"
		}
		c.ModelDir = filepath.Join(root, cfg["MODEL"])
	}
	if c.ModelDir == "" {
		return c, errors.New("no model: set MODEL_DIR (a folder with model.yaml and model.onnx), or MODEL and MODELS_DIR")
	}
	ints := map[string]*int{"MAX_BATCH": &c.Batch.MaxBatch, "MAX_QUEUE": &c.Batch.MaxQueue, "WORKERS": &c.Batch.Workers, "ORT_THREADS": &c.Threads}
	for k, dst := range ints {
		if v := cfg[k]; v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return c, fmt.Errorf("%s=%q: want a positive integer", k, v)
			}
			*dst = n
		}
	}
	if v := cfg["MAX_DELAY"]; v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("MAX_DELAY=%q: want a positive duration such as 2ms", v)
		}
		c.Batch.MaxDelay = d
	}
	return c, nil
}

// countingScorer reports each micro-batch's size to the metrics.
type countingScorer struct {
	*scorer.Model
	m *metrics.Metrics
}

func (s countingScorer) Score(ctx context.Context, texts []string, out []scorer.Prediction) error {
	s.m.ObserveBatch(len(texts))
	return s.Model.Score(ctx, texts, out)
}

// NewFunction loads the model of c and returns the function core over it
// and a close that flushes the core, then releases the model.
func NewFunction(c FunctionConfig, m *metrics.Metrics) (*functions.Function, func(context.Context) error, error) {
	model, err := scorer.Load(c.ModelDir, scorer.Options{IntraOpThreads: c.Threads})
	if err != nil {
		return nil, nil, fmt.Errorf("model %s: %w", c.ModelDir, err)
	}
	fn := functions.New(countingScorer{model, m}, c.Batch)
	closeAll := func(ctx context.Context) error {
		return errors.Join(fn.Close(ctx), model.Close())
	}
	return fn, closeAll, nil
}

// FunctionHandler translates the core's errors into the transport's
// vocabulary: overload → 429, closing → 503, poison stays a FieldError (400).
func FunctionHandler(fn *functions.Function) transport.Handler {
	return func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		reply, err := fn.Handle(ctx, e)
		switch {
		case err == nil:
			return reply, nil
		case errors.Is(err, functions.ErrOverloaded):
			return nil, transport.Overloaded(err)
		case errors.Is(err, functions.ErrClosed):
			return nil, transport.NotReady(err)
		}
		return nil, err
	}
}

// FunctionLoader is the Loader of a model's Knative function.
func FunctionLoader(log *slog.Logger) Loader {
	return func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (Component, error) {
		c, err := FunctionConfigFrom(cfg)
		if err != nil {
			return Component{}, err
		}
		fn, closeAll, err := NewFunction(c, m)
		if err != nil {
			return Component{}, err
		}
		log.Info("model loaded", "model", fn.Name(), "version", fn.Version(), "dir", c.ModelDir)
		return Component{Handler: FunctionHandler(fn), Close: closeAll}, nil
	}
}
