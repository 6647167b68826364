// Package function is the Loader of a model's Knative function: one binary
// serves every model, since the model is data (MODEL_DIR), so adding a model
// needs no Go code. It is a package of its own because it links ONNX Runtime
// (mode/modelfunc), which the aggregator's build must not reach.
package function

import (
	"context"
	"log/slog"

	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/knative"
	"github.com/tweetflow/tweetflow/mode/modelfunc"
)

// ConfigFrom reads a function's configuration from func-go's cfg (the
// ./cfg file merged with the environment): MODEL_DIR (or MODEL under
// MODELS_DIR), MAX_BATCH, MAX_DELAY, MAX_QUEUE, WORKERS, ORT_THREADS. A
// non-empty modelDir (the --model-dir flag) wins over MODEL_DIR.
func ConfigFrom(cfg map[string]string, modelDir string) (core.FunctionConfig, error) {
	c, err := core.FunctionConfigFromEnv(func(k string) string { return cfg[k] })
	if err != nil {
		return c, err
	}
	if modelDir != "" {
		c.ModelDir = modelDir
	}
	return c, c.Validate()
}

// Loader loads the model and returns the function core behind the
// transport's error vocabulary (mode/core.FunctionHandler). modelDir, when
// set, wins over MODEL_DIR.
func Loader(log *slog.Logger, modelDir string) knative.Loader {
	return func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (knative.Component, error) {
		c, err := ConfigFrom(cfg, modelDir)
		if err != nil {
			return knative.Component{}, err
		}
		fn, closeAll, err := modelfunc.New(c, m)
		if err != nil {
			return knative.Component{}, err
		}
		log.Info("model loaded", "model", fn.Name(), "version", fn.Version(), "dir", c.ModelDir)
		return knative.Component{Handler: core.FunctionHandler(fn), Close: closeAll}, nil
	}
}
