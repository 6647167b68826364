package knative

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
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

// AlertsConfigFrom reads the alert engine's configuration from func-go's
// cfg: ALERTS, ALERT_HOLD, ALERT_REBUILD, ALERT_LATENESS, ES_ALERTS_INDEX
// over alerting.ClusterDefaults(). K_SINK, when set (a SinkBinding), is
// where the alert CloudEvents go (AggregatorLoader).
func AlertsConfigFrom(cfg map[string]string) (alerting.Config, error) {
	return alerting.ClusterDefaults().FromEnv(func(k string) string { return cfg[k] })
}

// configsFrom reads the aggregator's and the alert engine's
// configurations from func-go's cfg.
func configsFrom(cfg map[string]string) (core.AggregatorConfig, alerting.Config, error) {
	c, err := AggregatorConfigFrom(cfg)
	if err != nil {
		return c, alerting.Config{}, err
	}
	a, err := AlertsConfigFrom(cfg)
	return c, a, err
}

// EnvSink is where a Knative SinkBinding puts its sink's URL.
const EnvSink = "K_SINK"

// AggregatorLoader is the Loader of the aggregator's Knative function: the
// aggregator over its store, answering each metadata event once the record
// holding it is durable (transport.Sync: HTTP 2xx means stored), with the
// alert engine observing what it stored (alerts into the store, and POSTed
// to K_SINK as CloudEvents when it is set). The engine sees only what its
// replica stores: run the aggregator with one replica for alerts over the
// whole stream. tune, if given, adjusts the configurations read from cfg
// (tests set OnStored).
func AggregatorLoader(log *slog.Logger, tune ...func(*core.AggregatorConfig, *alerting.Config)) Loader {
	return func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (Component, error) {
		c, a, err := configsFrom(cfg)
		if err != nil {
			return Component{}, err
		}
		for _, f := range tune {
			f(&c, &a)
		}
		records, err := alerting.RecordEventsFromEnv(func(k string) string { return cfg[k] }, false)
		if err != nil {
			return Component{}, err
		}
		closeSink := func(context.Context) error { return nil }
		if url := cfg[EnvSink]; url != "" && (!a.Off || records) {
			s := cehttp.NewSender(url)
			closeSink = s.Close
			if !a.Off {
				a.Events = alerts.Events{Send: s.Send}
			}
			if records {
				c.Emit = alerting.RecordEvents(s.Send, log)
			}
		} else if records {
			return Component{}, fmt.Errorf("%s=on: the record events go to %s, which is not set (a SinkBinding to the Broker sets it)", alerting.EnvRecordEvents, EnvSink)
		}
		a.Logger = log
		c.Observers = alerting.Attach(a, c.ModelsDir, c.Models, c.Observers)
		agg, closeAll, err := core.NewAggregator(ctx, c, m, log)
		if err != nil {
			return Component{}, errors.Join(err, closeSink(ctx))
		}
		// The sender goes last: closing the store closes the engine,
		// which sends its last alerts.
		closeBoth := func(ctx context.Context) error { return errors.Join(closeAll(ctx), closeSink(ctx)) }
		return Component{Handler: transport.Sync(core.MetadataHandler(agg)), Close: closeBoth}, nil
	}
}

// AlertsLoader is the Loader of the alert engine's Knative function (the
// engine apart from the aggregators, functions/alerts): a Trigger on
// dev.tweetflow.record.v1 POSTs it every record the aggregators stored
// (they run with RECORD_EVENTS=on and ALERTS=off); it answers 202 once the
// engine holds the record, writes the alerts to the store's alerts table
// or index, and POSTs them to K_SINK (the Broker) as alert CloudEvents.
// Configuration as the aggregator's (MODELS_DIR, MODELS, SQLITE_PATH,
// ES_URL and ES_*, ALERT_HOLD, ALERT_REBUILD, ALERT_LATENESS,
// ES_ALERTS_INDEX). tune, if given, adjusts the engine's configuration
// (tests set OnObserved and the hold).
func AlertsLoader(log *slog.Logger, tune ...func(*alerting.EngineConfig)) Loader {
	return func(ctx context.Context, cfg map[string]string, m *metrics.Metrics) (Component, error) {
		c, a, err := configsFrom(cfg)
		if err != nil {
			return Component{}, err
		}
		ec := alerting.EngineConfig{Alerts: a, ModelsDir: c.ModelsDir, Models: c.Models, Store: c.Store, Logger: log}
		for _, f := range tune {
			f(&ec)
		}
		closeSink := func(context.Context) error { return nil }
		if url := cfg[EnvSink]; url != "" {
			s := cehttp.NewSender(url)
			ec.Alerts.Events, closeSink = alerts.Events{Send: s.Send}, s.Close
		}
		eng, err := alerting.OpenEngine(ctx, ec)
		if err != nil {
			return Component{}, errors.Join(err, closeSink(ctx))
		}
		// The sender goes last: the engine's close sends its last alerts.
		closeBoth := func(ctx context.Context) error { return errors.Join(eng.Close(ctx), closeSink(ctx)) }
		return Component{Handler: transport.Sync(eng.Handler()), Close: closeBoth}, nil
	}
}
