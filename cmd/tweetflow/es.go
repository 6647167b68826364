package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"slices"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/scorer"
)

// esFlags are the Elasticsearch connection flags of run, es and kibana.
// Secrets come from files or the environment (ES_API_KEY, ES_PASSWORD or
// their _FILE variants), never from a flag value that ps would show.
type esFlags struct {
	url, index, apiKeyFile, username, passwordFile, caFile string
	insecure                                               bool
	deadLetter, alertsIndex                                string
}

func addESFlags(f *pflag.FlagSet) *esFlags {
	e := &esFlags{}
	f.StringVar(&e.url, "es", "", "Elasticsearch URL(s), comma-separated (default $"+elastic.EnvURL+"); a path names the index")
	f.StringVar(&e.index, "es-index", "", "Elasticsearch index (default $"+elastic.EnvIndex+" or "+elastic.DefaultIndex+")")
	f.StringVar(&e.apiKeyFile, "es-api-key-file", "", "file holding the encoded API key (default $"+elastic.EnvAPIKey+" / $"+elastic.EnvAPIKeyFile+")")
	f.StringVar(&e.username, "es-username", "", "basic auth user (default $"+elastic.EnvUsername+")")
	f.StringVar(&e.passwordFile, "es-password-file", "", "file holding the password (default $"+elastic.EnvPassword+" / $"+elastic.EnvPasswordFile+")")
	f.StringVar(&e.caFile, "es-ca-cert", "", "PEM file of CAs to trust (default $"+elastic.EnvCACertFile+")")
	f.BoolVar(&e.insecure, "es-insecure", false, "do NOT verify the server's TLS certificate (testing only)")
	f.StringVar(&e.deadLetter, "es-dead-letter", "tweetflow-dead-letter.ndjson", "NDJSON file receiving records Elasticsearch rejects for good")
	f.StringVar(&e.alertsIndex, "es-alerts-index", elastic.DefaultAlertsIndex, "index receiving alerts when writing to Elasticsearch")
	return e
}

// set reports whether an Elasticsearch address is configured.
func (e *esFlags) set() bool { return e.url != "" || os.Getenv(elastic.EnvURL) != "" }

// config merges the flags over the environment.
func (e *esFlags) config() (elastic.Config, error) {
	base := elastic.Config{Index: e.index, Username: e.username, InsecureSkipVerify: e.insecure}
	if e.url != "" {
		base.Addresses = splitList(e.url)
	}
	env := func(k string) string { return os.Getenv(k) }
	overrides := map[string]string{}
	if e.apiKeyFile != "" {
		overrides[elastic.EnvAPIKeyFile] = e.apiKeyFile
		overrides[elastic.EnvAPIKey] = ""
	}
	if e.passwordFile != "" {
		overrides[elastic.EnvPasswordFile] = e.passwordFile
		overrides[elastic.EnvPassword] = ""
	}
	if e.caFile != "" {
		overrides[elastic.EnvCACertFile] = e.caFile
	}
	getenv := func(k string) string {
		if v, ok := overrides[k]; ok {
			return v
		}
		return env(k)
	}
	c, err := elastic.ConfigFromEnv(base, getenv, os.ReadFile)
	if err != nil {
		return c, err
	}
	return c, c.Normalize()
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// registryModels reads the model registry for the mapping; names, when
// set, keeps only those models (the ones a run configures).
func registryModels(modelsDir string, names []string) ([]elastic.Model, error) {
	specs, err := scorer.ListSpecs(modelsDir)
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, fmt.Errorf("%s: no model folders with %s", modelsDir, scorer.SpecFile)
	}
	var keep []*scorer.Spec
	for _, s := range specs {
		if len(names) == 0 || slices.Contains(names, s.Name) {
			keep = append(keep, s)
		}
	}
	return elastic.ModelsFromSpecs(keep), nil
}

// open opens the Elasticsearch driver for models.
func (e *esFlags) open(ctx context.Context, models []elastic.Model, log *slog.Logger) (*elastic.Driver, func() error, error) {
	cfg, err := e.config()
	if err != nil {
		return nil, nil, err
	}
	o := elastic.Options{Config: cfg, Models: models, Logger: log}
	closeDL := func() error { return nil }
	if e.deadLetter != "" {
		dl, err := elastic.OpenDeadLetterFile(e.deadLetter)
		if err != nil {
			return nil, nil, err
		}
		o.DeadLetter, closeDL = dl, dl.Close
	}
	d, err := elastic.Open(ctx, o)
	if err != nil {
		_ = closeDL()
		return nil, nil, err
	}
	return d, closeDL, nil
}

// esSink is run's hook for --es: the aggregator writes to Elasticsearch
// instead of the SQLite store's tweets, and alerts also go to the alerts
// index. Without --es it returns the store unchanged. The returned driver
// closes the store too (pipeline.RunConfig.WrapSink's contract).
func (e *esFlags) esSink(ctx context.Context, st *sqlite.Store, modelsDir string, names []string, log *slog.Logger) (sink.Driver, []alerts.Writer, error) {
	// Only the explicit flag switches run away from SQLite: an ES_URL in
	// the environment (set for the cluster's commands) must not.
	if e.url == "" {
		return st, nil, nil
	}
	models, err := registryModels(modelsDir, names)
	if err != nil {
		return nil, nil, err
	}
	d, closeDL, err := e.open(ctx, models, log)
	if err != nil {
		return nil, nil, err
	}
	aw, err := elastic.NewAlertWriter(ctx, d.Client(), e.alertsIndex)
	if err != nil {
		_ = d.Close(ctx)
		_ = closeDL()
		return nil, nil, err
	}
	return closeAll{d, []func(context.Context) error{
		func(context.Context) error { return closeDL() },
		st.Close,
	}}, []alerts.Writer{aw}, nil
}

// closeAll is a driver whose Close also closes other resources.
type closeAll struct {
	sink.Driver
	also []func(context.Context) error
}

func (c closeAll) Close(ctx context.Context) error {
	err := c.Driver.Close(ctx)
	for _, f := range c.also {
		if e := f(ctx); e != nil && err == nil {
			err = e
		}
	}
	return err
}

func newESCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "es",
		Short: "Manage the Elasticsearch index (template, mapping, reset)",
	}
	cmd.AddCommand(newESTemplateCmd(), newESResetCmd())
	return cmd
}

func newESTemplateCmd() *cobra.Command {
	var modelsDir string
	var print bool
	var ef *esFlags
	cmd := &cobra.Command{
		Use:   "template",
		Short: "Put the index template and mapping generated from the model registry (adds new models' fields; never deletes)",
		Long: `template generates the index template from the model registry (--models-dir)
and, with an Elasticsearch configured (--es or ES_URL), puts it, creates the
index if it does not exist and puts the mapping on the live index, so a new
model's fields are added without a reindex. With --print, or without an
Elasticsearch, it prints the template instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			models, err := registryModels(modelsDir, nil)
			if err != nil {
				return err
			}
			index := ef.index
			if print || !ef.set() {
				if index == "" {
					index = elastic.DefaultIndex
				}
				tpl, err := elastic.IndexTemplate(index, models)
				if err != nil {
					return err
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(tpl)
			}
			cfg, err := ef.config()
			if err != nil {
				return err
			}
			es, err := elastic.NewClient(cfg, elastic.RetryPolicy{})
			if err != nil {
				return err
			}
			if err := elastic.EnsureIndex(cmd.Context(), es, cfg.Index, models); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "index %s: template and mapping up to date (%d models)\n", cfg.Index, len(models))
			return err
		},
	}
	cmd.Flags().StringVar(&modelsDir, "models-dir", "models", "folder holding the model folders")
	cmd.Flags().BoolVar(&print, "print", false, "print the template instead of putting it")
	ef = addESFlags(cmd.Flags())
	return cmd
}

func newESResetCmd() *cobra.Command {
	var modelsDir string
	var confirm bool
	var ef *esFlags
	cmd := &cobra.Command{
		Use:   "reset --confirm",
		Short: "DELETE the index and all its documents, then recreate it empty",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := ef.config()
			if err != nil {
				return err
			}
			if !confirm {
				return fmt.Errorf("refusing to delete index %s and every document in it: add --confirm", cfg.Index)
			}
			models, err := registryModels(modelsDir, nil)
			if err != nil {
				return err
			}
			es, err := elastic.NewClient(cfg, elastic.RetryPolicy{})
			if err != nil {
				return err
			}
			if err := elastic.DeleteIndex(cmd.Context(), es, cfg.Index); err != nil {
				return err
			}
			if err := elastic.EnsureIndex(cmd.Context(), es, cfg.Index, models); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "index %s deleted and recreated empty\n", cfg.Index)
			return err
		},
	}
	cmd.Flags().StringVar(&modelsDir, "models-dir", "models", "folder holding the model folders")
	cmd.Flags().BoolVar(&confirm, "confirm", false, "really delete the index")
	ef = addESFlags(cmd.Flags())
	return cmd
}
