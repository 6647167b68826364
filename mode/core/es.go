package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/internal/commalist"
	"github.com/tweetflow/tweetflow/model"
)

// ES is the Elasticsearch part of a command line: values and the paths of
// files holding secrets, never a secret itself (ps shows a command line).
// Every command that reaches Elasticsearch (run, kafka aggregate, es,
// kibana import) takes it the same way; what it leaves empty comes from the
// ES_* environment (elastic.ConfigFromEnv).
type ES struct {
	URL, Index, Username             string
	APIKeyFile, PasswordFile, CAFile string
	Insecure                         bool
}

// Set reports whether an Elasticsearch address is configured: by the
// command line or ES_URL.
func (e ES) Set(getenv func(string) string) bool {
	return e.URL != "" || getenv(elastic.EnvURL) != ""
}

// Config resolves e over the environment: a value or file given on the
// command line wins over its variable. readFile nil means os.ReadFile.
func (e ES) Config(getenv func(string) string, readFile func(string) ([]byte, error)) (elastic.Config, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	c := elastic.Config{Index: e.Index, Username: e.Username, InsecureSkipVerify: e.Insecure}
	c.Addresses = commalist.Split(e.URL)
	file := func(flag, path string) ([]byte, error) {
		if path == "" {
			return nil, nil
		}
		b, err := readFile(path)
		if err != nil {
			// The path is not secret; its content is.
			return nil, fmt.Errorf("--%s: %w", flag, err)
		}
		return b, nil
	}
	b, err := file("es-api-key-file", e.APIKeyFile)
	if err != nil {
		return c, err
	}
	c.APIKey = strings.TrimSpace(string(b))
	if b, err = file("es-password-file", e.PasswordFile); err != nil {
		return c, err
	}
	c.Password = strings.TrimSpace(string(b))
	if c.CACert, err = file("es-ca-cert", e.CAFile); err != nil {
		return c, err
	}
	if c, err = elastic.ConfigFromEnv(c, getenv, readFile); err != nil {
		return c, fmt.Errorf("elasticsearch config: %w", err)
	}
	return c, c.Normalize()
}

// ErrDBAndES refuses a command line naming both stores.
var ErrDBAndES = errors.New("give --db (SQLite) or --es (Elasticsearch), not both")

// WithES returns c writing to Elasticsearch when e (or ES_URL) names one,
// else c unchanged. dbGiven says --db was on the command line: naming both
// stores is refused rather than guessed. deadLetter is the file receiving
// the records Elasticsearch rejects for good.
func (c StoreConfig) WithES(e ES, dbGiven bool, deadLetter string, getenv func(string) string) (StoreConfig, error) {
	if !e.Set(getenv) {
		return c, nil
	}
	if dbGiven {
		return c, ErrDBAndES
	}
	es, err := e.Config(getenv, nil)
	if err != nil {
		return c, err
	}
	c.ES, c.ESDeadLetter = es, deadLetter
	return c, nil
}

// IndexModels reads the registry under modelsDir for the index mapping.
func IndexModels(modelsDir string) ([]elastic.Model, error) {
	specs, err := Specs(modelsDir, nil)
	if err != nil {
		return nil, err
	}
	return model.Views(specs), nil
}

// IndexTemplate is the index template generated from the registry under
// modelsDir for index (empty: elastic.DefaultIndex), as `tweetflow es
// template --print` shows it.
func IndexTemplate(modelsDir, index string) (map[string]any, error) {
	models, err := IndexModels(modelsDir)
	if err != nil {
		return nil, err
	}
	return elastic.IndexTemplate(cmpOr(index, elastic.DefaultIndex), models)
}

// EnsureIndex puts the index template and mapping generated from the
// registry under modelsDir (`tweetflow es template`): a new model's fields
// are added to the live index without a reindex; nothing is deleted. It
// returns the number of models mapped.
func EnsureIndex(ctx context.Context, modelsDir string, cfg elastic.Config) (int, error) {
	models, err := IndexModels(modelsDir)
	if err != nil {
		return 0, err
	}
	es, err := elastic.NewClient(cfg, elastic.RetryPolicy{})
	if err != nil {
		return 0, err
	}
	return len(models), elastic.EnsureIndex(ctx, es, cfg.Index, models)
}

// EnsureIndexIfRegistry is EnsureIndex when modelsDir holds a model
// registry; without one (`kibana import` run from anywhere) it leaves the
// template to the aggregator's first start and says so in log. ok reports
// whether the template was put.
func EnsureIndexIfRegistry(ctx context.Context, modelsDir string, cfg elastic.Config, log *slog.Logger) (ok bool, err error) {
	if _, err := IndexModels(modelsDir); err != nil {
		log.Warn("no model registry: the index template is left to the aggregator's first start", "models_dir", modelsDir, "err", err)
		return false, nil
	}
	if _, err := EnsureIndex(ctx, modelsDir, cfg); err != nil {
		return false, err
	}
	return true, nil
}

// ResetIndex deletes cfg.Index with every document in it and recreates it
// empty from the registry (`tweetflow es reset --confirm`).
func ResetIndex(ctx context.Context, modelsDir string, cfg elastic.Config) error {
	models, err := IndexModels(modelsDir)
	if err != nil {
		return err
	}
	es, err := elastic.NewClient(cfg, elastic.RetryPolicy{})
	if err != nil {
		return err
	}
	if err := elastic.DeleteIndex(ctx, es, cfg.Index); err != nil {
		return err
	}
	return elastic.EnsureIndex(ctx, es, cfg.Index, models)
}
