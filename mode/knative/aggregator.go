package knative

import (
	"context"
	"log/slog"
	"time"

	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/transport"
)

// AggregatorDefaults returns the Knative aggregator's defaults, the only
// place they are defined; the environment (func-go's cfg) overrides them.
func AggregatorDefaults() core.AggregatorConfig {
	return core.AggregatorConfig{
		// The images carry the registry at /models.
		ModelsDir: "/models",
		Store:     core.StoreConfig{SQLite: "tweetflow.db"},
		// One tweet's results may reach different replicas, each of which
		// writes what it has when this passes; the store merges them. Well
		// under the Trigger's delivery timeout.
		JoinTimeout: 2 * time.Second,
	}
}

// AggregatorConfigFrom reads the aggregator's configuration from func-go's
// cfg (the ./cfg file merged with the environment): MODELS_DIR, MODELS,
// SQLITE_PATH, ES_URL and ES_*, JOIN_TIMEOUT, MAX_PENDING over
// AggregatorDefaults().
func AggregatorConfigFrom(cfg map[string]string) (core.AggregatorConfig, error) {
	return AggregatorDefaults().FromEnv(func(k string) string { return cfg[k] })
}

// AggregatorLoader is the Loader of the aggregator's Knative function: the
// aggregator over its store, answering each metadata event once the record
// holding it is durable (transport.Sync: HTTP 2xx means stored).
func AggregatorLoader(log *slog.Logger) Loader {
	return func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (Component, error) {
		c, err := AggregatorConfigFrom(cfg)
		if err != nil {
			return Component{}, err
		}
		agg, closeAll, err := core.NewAggregator(ctx, c, m, log)
		if err != nil {
			return Component{}, err
		}
		return Component{Handler: transport.Sync(core.MetadataHandler(agg)), Close: closeAll}, nil
	}
}
