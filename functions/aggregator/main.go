// Command aggregator is the aggregator's Knative function: it receives
// metadata events (dev.tweetflow.metadata.v1) over HTTP, joins them by tweet
// id and answers 202 only once the record holding the event is durably
// written to the store (Elasticsearch when ES_URL is set, else SQLite at
// SQLITE_PATH), so Knative redelivers anything not stored. Several replicas
// are correct because the store merges per tweet id.
//
// Configuration (environment): MODELS_DIR, MODELS, ES_URL/ES_INDEX/ES_*,
// SQLITE_PATH, JOIN_TIMEOUT, MAX_PENDING, LISTEN_ADDRESS. See
// service.AggregatorConfig.
package main

import (
	"log/slog"

	"github.com/tweetflow/tweetflow/mode/knative"
)

func main() {
	knative.Main("aggregator", func(log *slog.Logger) knative.Loader { return knative.AggregatorLoader(log) })
}
