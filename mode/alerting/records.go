package alerting

import (
	"context"
	"fmt"
	"log/slog"

	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/event"
)

// EnvRecordEvents turns the record events on ("on") or off (the default)
// in the cluster aggregators: they are what a separate alert engine reads.
const EnvRecordEvents = "RECORD_EVENTS"

// RecordEventsFromEnv reads EnvRecordEvents: on, off or unset (def).
func RecordEventsFromEnv(getenv func(string) string, def bool) (bool, error) {
	switch v := getenv(EnvRecordEvents); v {
	case "":
		return def, nil
	case "on", "true", "1":
		return true, nil
	case "off", "false", "0":
		return false, nil
	default:
		return def, fmt.Errorf("%s=%q: want on or off", EnvRecordEvents, v)
	}
}

// RecordEvents returns a core.AggregatorConfig.Emit that sends each stored
// record as its event.TypeRecord CloudEvent through send (a Kafka producer
// on the records topic, an HTTP sender to K_SINK), in one call per write.
// A record no event can carry (it passed the store's checks but not the
// event's list bounds, which only a metadata event posted by hand can
// break) is logged and skipped: it could never be sent.
func RecordEvents(send func(ctx context.Context, events []cloudevents.Event) error, log *slog.Logger) func(context.Context, []sink.Record) error {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, recs []sink.Record) error {
		es := make([]cloudevents.Event, 0, len(recs))
		for i := range recs {
			e, err := event.NewRecordEvent(ToEventRecord(recs[i]))
			if err != nil {
				log.Warn("alerts: a stored record has no record event", "tweet", recs[i].Tweet.ID, "err", err)
				continue
			}
			es = append(es, e)
		}
		if err := send(ctx, es); err != nil {
			return fmt.Errorf("record events: send %d: %w", len(es), err)
		}
		return nil
	}
}

// ToEventRecord is the record event's data of a stored record.
func ToEventRecord(r sink.Record) event.Record {
	return event.Record{Tweet: r.Tweet, TimedOut: r.TimedOut, Results: mapSlice(r.Results, func(res sink.Result) event.RecordResult {
		return event.RecordResult{Model: res.Model, ModelVersion: res.Version, Value: res.Value, Label: res.Label}
	})}
}

// FromEventRecord is the stored record a record event carries, as the
// embedded engine would have seen it.
func FromEventRecord(r event.Record) sink.Record {
	return sink.Record{Tweet: r.Tweet, TimedOut: r.TimedOut, Results: mapSlice(r.Results, func(res event.RecordResult) sink.Result {
		return sink.Result{Model: res.Model, Version: res.ModelVersion, Value: res.Value, Label: res.Label}
	})}
}

// mapSlice returns f of each element of in (nil for nil).
func mapSlice[A, B any](in []A, f func(A) B) []B {
	if in == nil {
		return nil
	}
	out := make([]B, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}
