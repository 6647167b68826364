package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/transport"
)

// StoreConfig says where records are stored: Elasticsearch when ES has an
// address, else the SQLite file. Every mode reads it the same way.
type StoreConfig struct {
	// SQLite is the SQLite file (--db, SQLITE_PATH).
	SQLite string
	// ES is the Elasticsearch connection (--es, ES_URL and ES_*); it is the
	// store when it has an address.
	ES elastic.Config
	// ESDeadLetter is an NDJSON file receiving records Elasticsearch
	// rejects for good (empty: they are only reported).
	ESDeadLetter string
}

// IsES reports whether records go to Elasticsearch.
func (c StoreConfig) IsES() bool { return len(c.ES.Addresses) > 0 }

// FromEnv overrides c with SQLITE_PATH and the ES_* variables
// (elastic.ConfigFromEnv: values already in c.ES win over the environment).
func (c StoreConfig) FromEnv(getenv func(string) string) (StoreConfig, error) {
	c.SQLite = cmpOr(getenv(EnvSQLitePath), c.SQLite)
	es, err := elastic.ConfigFromEnv(c.ES, getenv, nil)
	if err != nil {
		return c, fmt.Errorf("elasticsearch config: %w", err)
	}
	c.ES = es
	return c, nil
}

// Store is an open store: the driver the aggregator writes, and what the
// modes need of it beside writing (a count for the summary, the SQLite
// handle for the dashboard and the alerts table, the Elasticsearch client
// for the alerts index).
type Store struct {
	sink.Driver
	// SQLite is set when the store is SQLite.
	SQLite *sqlite.Store
	// ES is set when the store is Elasticsearch.
	ES *elastic.Driver
	// DeadLetter receives the records that can never be stored (the
	// ESDeadLetter file); Writer hands it to the sink.Writer.
	DeadLetter sink.DeadLetter
	closers    []func() error
}

// Writer returns the sink.Writer over s that the aggregator writes through:
// records validated for models, retried within sink.DefaultWriteBudget,
// those refused for good sent to s.DeadLetter, the stored ones shown to obs.
// Closing the Writer closes obs (that have a Close), then s.
func (s *Store) Writer(models []string, log *slog.Logger, obs ...sink.Observer) (*sink.Writer, error) {
	return sink.NewWriter(s, sink.Options{Models: models, DeadLetter: s.DeadLetter, Observers: obs, Logger: log})
}

// Open opens the store for the models of specs.
func (c StoreConfig) Open(ctx context.Context, specs []*model.Spec, log *slog.Logger) (*Store, error) {
	if !c.IsES() {
		if c.SQLite == "" {
			return nil, errors.New("no store: set --db (SQLITE_PATH) or --es (ES_URL)")
		}
		st, err := sqlite.Open(ctx, c.SQLite, SpecNames(specs))
		if err != nil {
			return nil, err // it names the file
		}
		return &Store{Driver: st, SQLite: st}, nil
	}
	o := elastic.Options{Config: c.ES, Models: model.Views(specs), Logger: log}
	s := &Store{}
	if c.ESDeadLetter != "" {
		dl, err := sink.OpenDeadLetterFile(c.ESDeadLetter)
		if err != nil {
			return nil, err
		}
		s.DeadLetter = dl
		s.closers = append(s.closers, dl.Close)
	}
	d, err := elastic.Open(ctx, o)
	if err != nil {
		_ = s.closeOthers()
		return nil, fmt.Errorf("elasticsearch %v: %w", c.ES.Addresses, err)
	}
	s.Driver, s.ES = d, d
	return s, nil
}

func (s *Store) closeOthers() error {
	var errs []error
	for _, f := range s.closers {
		errs = append(errs, f())
	}
	return errors.Join(errs...)
}

// Close flushes and closes the driver, then what it used.
func (s *Store) Close(ctx context.Context) error {
	return errors.Join(s.Driver.Close(ctx), s.closeOthers())
}

// String names the store for people: "sqlite FILE" or "elasticsearch index NAME".
func (s *Store) String() string {
	if s.ES != nil {
		return "elasticsearch index " + s.ES.Index()
	}
	if s.SQLite != nil {
		return "sqlite"
	}
	return "store"
}

// Count returns the number of tweets in the store (every stored record,
// from this run or earlier ones).
func (s *Store) Count(ctx context.Context) (int64, error) {
	switch {
	case s.SQLite != nil:
		return s.SQLite.Count(ctx, time.Time{}, time.Time{})
	case s.ES != nil:
		es, index := s.ES.Client(), s.ES.Index()
		// A refresh first: a count right after the last bulk request must
		// see it.
		res, err := es.Indices.Refresh(es.Indices.Refresh.WithIndex(index), es.Indices.Refresh.WithContext(ctx))
		if err != nil {
			return 0, fmt.Errorf("elasticsearch %s: refresh: %w", index, err)
		}
		res.Body.Close()
		res, err = es.Count(es.Count.WithIndex(index), es.Count.WithContext(ctx))
		if err != nil {
			return 0, fmt.Errorf("elasticsearch %s: count: %w", index, err)
		}
		defer res.Body.Close()
		if res.IsError() {
			return 0, fmt.Errorf("elasticsearch %s: count: %s", index, res.Status())
		}
		var body struct {
			Count *int64 `json:"count"`
		}
		if err := json.NewDecoder(res.Body).Decode(&body); err != nil || body.Count == nil {
			return 0, fmt.Errorf("elasticsearch %s: count: response without a count (%v)", index, err)
		}
		return *body.Count, nil
	}
	return 0, errors.New("store: no count for this driver")
}

// Specs reads the model registry under dir: every model, or the ones names
// lists (each must exist). See model.Select.
func Specs(dir string, names []string) ([]*model.Spec, error) { return model.Select(dir, names) }

// SpecNames returns the specs' model names.
func SpecNames(specs []*model.Spec) []string { return model.Names(specs) }

// classifyStoreErr keeps a record the store refuses for good from being
// retried forever: Knative would otherwise redeliver it until its retries run out.
func classifyStoreErr(err error) error {
	if err != nil && sink.ErrorCode(err) == sink.Permanent {
		return transport.Permanent(err)
	}
	return err
}
