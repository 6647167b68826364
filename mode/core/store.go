package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/drivers"
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
	return s.writerThrough(s, models, log, obs...)
}

// writerThrough is Writer over d, a driver that writes to s (emitting).
func (s *Store) writerThrough(d sink.Driver, models []string, log *slog.Logger, obs ...sink.Observer) (*sink.Writer, error) {
	return sink.NewWriter(d, sink.Options{Models: models, DeadLetter: s.DeadLetter, Observers: obs, Logger: log})
}

// Open opens the store for the models of specs, through drivers.Open (the
// one place that knows the drivers) by the store's URL.
func (c StoreConfig) Open(ctx context.Context, specs []*model.Spec, log *slog.Logger) (*Store, error) {
	u, es, err := c.url()
	if err != nil {
		return nil, err
	}
	s := &Store{}
	if c.IsES() && c.ESDeadLetter != "" {
		dl, err := sink.OpenDeadLetterFile(c.ESDeadLetter)
		if err != nil {
			return nil, err
		}
		s.DeadLetter = dl
		s.closers = append(s.closers, dl.Close)
	}
	d, err := drivers.Open(ctx, u, drivers.Options{Models: SpecNames(specs), ElasticModels: model.Views(specs), Elastic: es, Logger: log})
	if err != nil {
		_ = s.closeOthers()
		return nil, err // it names the file or the URL
	}
	s.Driver = d
	switch d := d.(type) {
	case *sqlite.Store:
		s.SQLite = d
	case *elastic.Driver:
		s.ES = d
	}
	return s, nil
}

// url is the store's drivers.Open URL: sqlite://FILE, or
// elasticsearch(s)://HOST:PORT,.../INDEX from ES's addresses (normalized:
// a port given explicitly, so the URL's default of 9200 does not replace
// http's 80), with es the rest of the Elasticsearch configuration
// (credentials stay out of the URL).
func (c StoreConfig) url() (u string, es elastic.Config, err error) {
	if !c.IsES() {
		if c.SQLite == "" {
			return "", es, errors.New("no store: set --db (SQLITE_PATH) or --es (ES_URL)")
		}
		return "sqlite://" + c.SQLite, es, nil
	}
	es = c.ES
	es.Addresses = slices.Clone(es.Addresses)
	if err := es.Normalize(); err != nil {
		return "", es, err
	}
	scheme := ""
	hosts := make([]string, len(es.Addresses))
	for i, a := range es.Addresses {
		p, err := url.Parse(a)
		if err != nil { // Normalize parsed it already
			return "", es, fmt.Errorf("elasticsearch: address #%d: %w", i+1, err)
		}
		sch, port := "elasticsearch", "80"
		if p.Scheme == "https" {
			sch, port = "elasticsearchs", "443"
		}
		if scheme != "" && sch != scheme {
			return "", es, errors.New("elasticsearch: the addresses mix http and https; give the nodes one scheme")
		}
		scheme, hosts[i] = sch, p.Host
		if p.Port() == "" {
			hosts[i] = net.JoinHostPort(p.Hostname(), port)
		}
	}
	return scheme + "://" + strings.Join(hosts, ",") + "/" + es.Index, es, nil
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
