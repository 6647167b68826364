// Command model is the Knative function of every model: one binary, the
// model chosen at run time by MODEL_DIR (or MODEL under MODELS_DIR), so
// adding a model is adding its folder under models/ and a func.yaml, with no
// Go code. It answers a tweet event (dev.tweetflow.tweet.v1) with 200 and the
// model's metadata event; see service.NewService for every status it uses.
//
// Configuration (environment): MODEL_DIR, MAX_BATCH, MAX_DELAY, MAX_QUEUE,
// WORKERS, ORT_THREADS, ONNXRUNTIME_LIB, LISTEN_ADDRESS, GOGC (default 400).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/knative"
	"github.com/tweetflow/tweetflow/mode/knative/function"
)

func main() {
	// The live heap is small (the model's tables live in ONNX Runtime's
	// memory, outside Go's heap) while every event allocates its envelope, so
	// collecting less often buys CPU for little memory: GOGC=400 unless the
	// environment sets it.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	name := os.Getenv("MODEL")
	if name == "" {
		name = filepath.Base(os.Getenv("MODEL_DIR"))
	}
	inst := knative.New(function.Loader(log, ""), metrics.New("function", name), log)
	if err := knative.Run(context.Background(), inst, knative.Options{Logger: log}); err != nil {
		fmt.Fprintln(os.Stderr, "function:", err)
		os.Exit(1)
	}
}
