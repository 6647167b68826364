// Package function is a model's Knative function: the func-go instance's
// Loader that reads the model's configuration and loads it
// (mode/modelfunc). It is apart from package service so that the
// aggregator's function, which imports service, does not link ONNX Runtime.
package function

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
	"github.com/tweetflow/tweetflow/mode/modelfunc"
	"github.com/tweetflow/tweetflow/service"
	"github.com/tweetflow/tweetflow/transport"
)

// Config is a model function's configuration, read from func-go's
// cfg map (the environment). One binary serves every model: the model is
// data (MODEL_DIR), so adding a model needs no Go code.
type Config struct {
	// ModelDir is the model folder (MODEL_DIR); or MODELS_DIR/MODEL.
	ModelDir string
	// Options of the micro-batcher: MAX_BATCH, MAX_DELAY, MAX_QUEUE, WORKERS.
	Batch functions.Options
	// Threads is ONNX Runtime's intra-op threads (ORT_THREADS, default 1).
	Threads int
}

// ConfigFrom reads a Config from cfg.
func ConfigFrom(cfg map[string]string) (Config, error) {
	var c Config
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

// New loads the model of c and returns the function core over it and a
// close that flushes the core, then releases the model. The loading itself
// is mode/modelfunc's, shared with the other modes.
func New(c Config, m *metrics.Metrics) (*functions.Function, func(context.Context) error, error) {
	return modelfunc.New(core.FunctionConfig{ModelDir: c.ModelDir, Batch: c.Batch, Threads: c.Threads}, m)
}

// Handler translates the core's errors into the transport's vocabulary
// (mode/core.FunctionHandler, shared with the other modes).
func Handler(fn *functions.Function) transport.Handler { return core.FunctionHandler(fn) }

// Loader is the service.Loader of a model's Knative function.
func Loader(log *slog.Logger) service.Loader {
	return func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (service.Component, error) {
		c, err := ConfigFrom(cfg)
		if err != nil {
			return service.Component{}, err
		}
		fn, closeAll, err := New(c, m)
		if err != nil {
			return service.Component{}, err
		}
		log.Info("model loaded", "model", fn.Name(), "version", fn.Version(), "dir", c.ModelDir)
		return service.Component{Handler: Handler(fn), Close: closeAll}, nil
	}
}
