// Command alerts is the alert engine's Knative function, apart from the
// aggregators: a Trigger on dev.tweetflow.record.v1 POSTs it every record
// the aggregators stored (RECORD_EVENTS=on); it answers 202 once the
// engine holds the record, writes its alerts to the store's alerts table or
// index and POSTs them to K_SINK (a SinkBinding to the Broker) as
// dev.tweetflow.alert.*.v1 CloudEvents. At start it rebuilds the engine
// from the store (ALERT_REBUILD). It must be one pod: the engine's windows
// span every key (docs/ARCHITECTURE.md, "The alert engine apart").
//
// Configuration (environment): MODELS_DIR, MODELS, ES_URL/ES_INDEX/ES_*,
// SQLITE_PATH, ALERT_HOLD, ALERT_REBUILD, ALERT_LATENESS,
// ES_ALERTS_INDEX, K_SINK, LISTEN_ADDRESS.
package main

import (
	"log/slog"

	"github.com/tweetflow/tweetflow/mode/knative"
)

func main() {
	knative.Main("alerts", func(log *slog.Logger) knative.Loader { return knative.AlertsLoader(log) })
}
