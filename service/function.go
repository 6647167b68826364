package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"time"

	"github.com/tweetflow/tweetflow/functions"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
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

// NewFunction loads the model of c and returns the function core over it
// and a close that flushes the core, then releases the model. The loading
// itself is mode/core's, shared with the other modes.
func NewFunction(c FunctionConfig, m *metrics.Metrics) (*functions.Function, func(context.Context) error, error) {
	return core.NewFunction(core.FunctionConfig{ModelDir: c.ModelDir, Batch: c.Batch, Threads: c.Threads}, m)
}

// FunctionHandler translates the core's errors into the transport's
// vocabulary (mode/core.FunctionHandler, shared with the other modes).
func FunctionHandler(fn *functions.Function) transport.Handler { return core.FunctionHandler(fn) }

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
