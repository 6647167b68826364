package main

import (
	"cmp"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/knative"
	"github.com/tweetflow/tweetflow/mode/knative/function"
)

// newFunctionCmd runs a model's Knative function, exactly as the image's
// entry point (functions/model) does, for running one outside a cluster.
func newFunctionCmd() *cobra.Command {
	var modelDir string
	cmd := &cobra.Command{
		Use:   "function --model-dir models/NAME",
		Short: "Serve one model as a CloudEvents function over HTTP (the Knative function)",
		Long: `Serve one model as a CloudEvents function (knative.dev/func-go runtime):
POST a tweet event in binary or structured mode, get 200 and the metadata
event. Listens on LISTEN_ADDRESS (default [::]:8080); /health/readiness,
/health/liveness and /metrics. Tuning from the environment: MAX_BATCH,
MAX_DELAY, MAX_QUEUE, WORKERS, ORT_THREADS.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			name := filepath.Base(cmp.Or(modelDir, os.Getenv(core.EnvModelDir)))
			inst := knative.New(function.Loader(log, modelDir), metrics.New("function", name), log)
			return knative.Run(cmd.Context(), inst, knative.Options{Logger: log})
		},
	}
	cmd.Flags().StringVar(&modelDir, "model-dir", "", "model folder (model.yaml, model.onnx) [$MODEL_DIR]")
	return cmd
}

// newAggregateCmd runs the aggregator's Knative function (functions/aggregator).
func newAggregateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "aggregate",
		Short: "Serve the aggregator as a CloudEvents function over HTTP (the Knative function)",
		Long: `Receive metadata events over HTTP, join them by tweet id and answer 202
once the record is durably stored: Elasticsearch when ES_URL is set (ES_INDEX,
ES_API_KEY or ES_USERNAME/ES_PASSWORD, ES_CA_CERT_FILE), else SQLite at
SQLITE_PATH. MODELS_DIR (default /models) and MODELS say which models to wait
for; JOIN_TIMEOUT (default 2s) and MAX_PENDING bound the join.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			inst := knative.New(knative.AggregatorLoader(log), metrics.New("aggregator", ""), log)
			return knative.Run(cmd.Context(), inst, knative.Options{Logger: log})
		},
	}
	return cmd
}
