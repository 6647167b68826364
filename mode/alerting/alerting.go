// Package alerting attaches the alert engine (package alerts) to a mode's
// store: one alerts.Tee, an observer of the records the sink.Writer stored,
// owns the engine; its alerts go where the mode stores (the SQLite alerts
// table or the Elasticsearch alerts index) and, when the mode has an out,
// as alert CloudEvents. In the cluster modes the engine's state is rebuilt
// at start by reading the last Rebuild of stored tweets back from the store
// (SQLite, or Elasticsearch through export/esstore)
// (see docs/ARCHITECTURE.md, "Alerts in every mode"), so a restart raises
// the same alerts, with the same ids, as an uninterrupted run.
package alerting

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"iter"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/export/esstore"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/model"
)

// Environment variables of the cluster modes' alert engine.
const (
	EnvAlerts        = "ALERTS"          // "off" turns the engine off
	EnvAlertHold     = "ALERT_HOLD"      // EventHold
	EnvAlertRebuild  = "ALERT_REBUILD"   // Rebuild
	EnvAlertLateness = "ALERT_LATENESS"  // alerts.Config.Lateness
	EnvESAlertsIndex = "ES_ALERTS_INDEX" // ESIndex
)

// Config configures a mode's alert engine.
type Config struct {
	// Off turns the engine off.
	Off bool
	// Engine is the engine's configuration; its Models are filled from the
	// registry.
	Engine alerts.Config
	// Hold is how long (wall clock) stored records wait to reach the engine
	// in event-time order (alerts.TeeOptions.Hold): the embedded mode's.
	Hold time.Duration
	// EventHold, when positive, is the event-time hold instead
	// (alerts.TeeOptions.EventHold): the cluster modes', whose partitions
	// and restarts reorder what is stored.
	EventHold time.Duration
	// KeepOpen: a stop is a restart, not the end of the stream
	// (alerts.TeeOptions.KeepOpen).
	KeepOpen bool
	// ESIndex receives the alerts when the store is Elasticsearch.
	ESIndex string
	// Rebuild, when positive, is how much event time of stored tweets,
	// back from the newest, the engine reads from the store at start;
	// Warm is the first part of it, whose alerts are not raised again.
	// SQLite and Elasticsearch (export/esstore) stores are read back.
	Rebuild, Warm time.Duration
	// Events, when set, also receives every alert (alert CloudEvents to
	// the mode's out); the mode closes it after the store.
	Events alerts.Writer
	Logger *slog.Logger
}

// ClusterDefaults are the Kafka-only and Knative aggregators' settings: a
// one-minute event-time hold, stops that keep the windows open, and a
// rebuild of two hours whose first hour only warms up (it covers the
// longest default coordination window, one hour, and the threshold re-arm
// and anomaly warm-up of ten one-minute windows; see ARCHITECTURE).
func ClusterDefaults() Config {
	return Config{
		Engine:    alerts.Default(),
		EventHold: time.Minute,
		KeepOpen:  true,
		ESIndex:   elastic.DefaultAlertsIndex,
		Rebuild:   2 * time.Hour,
		Warm:      time.Hour,
	}
}

// WithDefaults fills c's zero settings from d (a mode's defaults); KeepOpen
// is set when either has it. The engine's own zero fields are filled by
// alerts.New.
func (c Config) WithDefaults(d Config) Config {
	c.Hold = cmp.Or(c.Hold, d.Hold)
	c.EventHold = cmp.Or(c.EventHold, d.EventHold)
	c.KeepOpen = c.KeepOpen || d.KeepOpen
	c.ESIndex = cmp.Or(c.ESIndex, d.ESIndex)
	if c.Rebuild == 0 {
		c.Rebuild, c.Warm = d.Rebuild, d.Warm
	}
	return c
}

// Attach returns a core.AggregatorConfig.Observers that runs the engine
// configured by c over the aggregator's store, with the thresholds of the
// models (of modelsDir) the aggregator joins, after the observers of prev
// (nil for none).
func Attach(c Config, modelsDir string, models []string, prev func(context.Context, *core.Store) ([]sink.Observer, error)) func(context.Context, *core.Store) ([]sink.Observer, error) {
	return func(ctx context.Context, st *core.Store) ([]sink.Observer, error) {
		var obs []sink.Observer
		if prev != nil {
			var err error
			if obs, err = prev(ctx, st); err != nil {
				return nil, err
			}
		}
		specs, err := core.Specs(modelsDir, models)
		if err != nil {
			return nil, err
		}
		more, err := Observers(ctx, c, model.Views(specs), st)
		return append(obs, more...), err
	}
}

// FromEnv overrides c with ALERTS (off), ALERT_HOLD, ALERT_REBUILD (the
// warm-up stays half of it), ALERT_LATENESS and ES_ALERTS_INDEX; what the
// environment does not set keeps c's value.
func (c Config) FromEnv(getenv func(string) string) (Config, error) {
	switch v := strings.ToLower(getenv(EnvAlerts)); v {
	case "":
	case "off", "false", "0":
		c.Off = true
	case "on", "true", "1":
		c.Off = false
	default:
		return c, fmt.Errorf("%s=%q: want on or off", EnvAlerts, v)
	}
	for k, dst := range map[string]*time.Duration{EnvAlertHold: &c.EventHold, EnvAlertLateness: &c.Engine.Lateness} {
		if err := core.EnvDuration(getenv, k, dst); err != nil {
			return c, err
		}
	}
	if v := getenv(EnvAlertRebuild); v != "" {
		if err := core.EnvDuration(getenv, EnvAlertRebuild, &c.Rebuild); err != nil {
			return c, err
		}
		c.Warm = c.Rebuild / 2
	}
	if v := getenv(EnvESAlertsIndex); v != "" {
		c.ESIndex = v
	}
	return c, nil
}

// Observers returns the observers of stored records that run the engine
// over st: none when c.Off, else one alerts.Tee (rebuilt from st first
// when c.Rebuild is set). models are the registry's views (thresholds).
// The sink.Writer over st closes the Tee before st.
func Observers(ctx context.Context, c Config, models []model.View, st *core.Store) ([]sink.Observer, error) {
	if c.Off {
		return nil, nil
	}
	tee, err := newTee(ctx, c, models, st)
	if err != nil {
		return nil, err
	}
	return []sink.Observer{tee}, nil
}

// newTee returns the engine configured by c over st, its alerts to st
// (and c.Events), rebuilt from st when c.Rebuild is set.
func newTee(ctx context.Context, c Config, models []model.View, st *core.Store) (*alerts.Tee, error) {
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	ec := c.Engine
	ec.Models = models
	eng, err := alerts.New(ec)
	if err != nil {
		return nil, err
	}
	var out alerts.Writers
	switch {
	case st.SQLite != nil:
		as, err := alertstore.Open(ctx, st.SQLite.DB())
		if err != nil {
			return nil, err
		}
		out = append(out, as)
	case st.ES != nil:
		aw, err := elastic.NewAlertWriter(ctx, st.ES.Client(), c.ESIndex)
		if err != nil {
			return nil, err
		}
		out = append(out, aw)
	}
	if c.Events != nil {
		out = append(out, c.Events)
	}
	tee := alerts.NewTee(eng, out, alerts.TeeOptions{Log: log, Hold: c.Hold, EventHold: c.EventHold, KeepOpen: c.KeepOpen})
	if c.Rebuild > 0 {
		if err := rebuild(ctx, c, st, tee, log); err != nil {
			return nil, errorsJoinClose(err, tee)
		}
	}
	return tee, nil
}

func errorsJoinClose(err error, tee *alerts.Tee) error {
	if cerr := tee.Close(context.Background()); cerr != nil {
		return fmt.Errorf("%w (and closing the engine: %v)", err, cerr)
	}
	return err
}

// history is a store read back in time order (sqlite.Store, and
// export/esstore.Store over an Elasticsearch index).
type history interface {
	Tweets(ctx context.Context, from, to time.Time) iter.Seq2[sqlite.Tweet, error]
}

// rebuild reads the last c.Rebuild of stored tweets back into the Tee.
func rebuild(ctx context.Context, c Config, st *core.Store, tee *alerts.Tee, log *slog.Logger) error {
	var (
		h              history
		oldest, newest time.Time
		ok             bool
		err            error
	)
	switch {
	case st.SQLite != nil:
		h = st.SQLite
		oldest, newest, ok, err = sqliteSpan(ctx, st.SQLite.DB())
	case st.ES != nil:
		h = esstore.New(st.ES.Client(), st.ES.Index(), esstore.Options{})
		oldest, newest, ok, err = esSpan(ctx, st.ES.Client(), st.ES.Index())
	default:
		log.Warn("alerts: the engine's state is not rebuilt from this store: windows open at a restart start empty", "store", st.String())
		return nil
	}
	if err != nil || !ok {
		return err
	}
	from := newest.Add(-c.Rebuild)
	// When the store holds nothing older than from, the rebuild sees the
	// whole history: its state is exact and none of its alerts is a
	// warm-up artefact.
	var floor time.Time
	if oldest.Before(from) {
		floor = from.Add(c.Warm)
	}
	start := time.Now()
	n, err := tee.Rebuild(ctx, records(ctx, h, from), floor)
	if err != nil {
		return err
	}
	log.Info("alerts: engine rebuilt from the store", "store", st.String(), "tweets", n, "from", from, "to", newest,
		"alerts from", floor, "seconds", time.Since(start).Seconds())
	return nil
}

// sqliteSpan returns the oldest and newest stored tweet times; ok is false
// for an empty store.
func sqliteSpan(ctx context.Context, db *sql.DB) (oldest, newest time.Time, ok bool, err error) {
	var lo, hi sql.NullInt64
	if err := db.QueryRowContext(ctx, "SELECT MIN(created_at), MAX(created_at) FROM tweets").Scan(&lo, &hi); err != nil {
		return oldest, newest, false, fmt.Errorf("alerts: rebuild: stored time span: %w", err)
	}
	if !lo.Valid || !hi.Valid {
		return oldest, newest, false, nil
	}
	return time.UnixMilli(lo.Int64).UTC(), time.UnixMilli(hi.Int64).UTC(), true, nil
}

// esSpan is sqliteSpan over an Elasticsearch index: refreshed first (the
// last writes before a stop must be searchable), then the first hit sorted
// each way on the tweet time.
func esSpan(ctx context.Context, es *elasticsearch.Client, index string) (oldest, newest time.Time, ok bool, err error) {
	path := "/" + url.PathEscape(index)
	if err := elastic.Do(ctx, es, http.MethodPost, path+"/_refresh", nil, nil); err != nil {
		return oldest, newest, false, fmt.Errorf("alerts: rebuild: elasticsearch %s: refresh: %w", index, err)
	}
	edge := func(order string) (time.Time, bool, error) {
		var res struct {
			Hits struct {
				Hits []struct {
					Sort []float64 `json:"sort"`
				} `json:"hits"`
			} `json:"hits"`
		}
		req := map[string]any{"size": 1, "sort": []any{map[string]any{elastic.FieldTimestamp: order}}, "track_total_hits": false}
		if err := elastic.Do(ctx, es, http.MethodPost, path+"/_search", req, &res); err != nil {
			return time.Time{}, false, fmt.Errorf("alerts: rebuild: elasticsearch %s: %s tweet time: %w", index, order, err)
		}
		if len(res.Hits.Hits) == 0 {
			return time.Time{}, false, nil
		}
		if len(res.Hits.Hits[0].Sort) == 0 {
			return time.Time{}, false, fmt.Errorf("alerts: rebuild: elasticsearch %s: a sorted hit has no sort value", index)
		}
		return time.UnixMilli(int64(res.Hits.Hits[0].Sort[0])).UTC(), true, nil
	}
	if oldest, ok, err = edge("asc"); err != nil || !ok {
		return oldest, newest, ok, err
	}
	newest, ok, err = edge("desc")
	return oldest, newest, ok, err
}

// records yields the stored tweets from from on, in event-time order (then
// id), as the records the engine saw.
func records(ctx context.Context, st history, from time.Time) iter.Seq2[sink.Record, error] {
	return func(yield func(sink.Record, error) bool) {
		for t, err := range st.Tweets(ctx, from, time.Time{}) {
			if err != nil {
				yield(sink.Record{}, err)
				return
			}
			rec := sink.Record{Tweet: t.Tweet, TimedOut: t.TimedOut}
			for _, m := range slices.Sorted(maps.Keys(t.Results)) {
				rec.Results = append(rec.Results, t.Results[m])
			}
			if !yield(rec, nil) {
				return
			}
		}
	}
}
