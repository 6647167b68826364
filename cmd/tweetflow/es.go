package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/mode/core"
)

// esFlags are the Elasticsearch connection flags of run, aggregate, es and
// kibana. Secrets come from files or the environment (ES_API_KEY,
// ES_PASSWORD or their _FILE variants), never from a flag value that ps
// would show.
type esFlags struct {
	url, index, apiKeyFile, username, passwordFile, caFile string
	insecure                                               bool
	deadLetter, alertsIndex                                string
}

func addESFlags(f *pflag.FlagSet) *esFlags {
	e := &esFlags{}
	f.StringVar(&e.url, "es", "", "Elasticsearch URL(s), comma-separated; a path names the index [$"+elastic.EnvURL+"]")
	f.StringVar(&e.index, "es-index", "", "Elasticsearch index (default "+elastic.DefaultIndex+") [$"+elastic.EnvIndex+"]")
	f.StringVar(&e.apiKeyFile, "es-api-key-file", "", "file holding the encoded API key [$"+elastic.EnvAPIKey+" / $"+elastic.EnvAPIKeyFile+"]")
	f.StringVar(&e.username, "es-username", "", "basic auth user [$"+elastic.EnvUsername+"]")
	f.StringVar(&e.passwordFile, "es-password-file", "", "file holding the password [$"+elastic.EnvPassword+" / $"+elastic.EnvPasswordFile+"]")
	f.StringVar(&e.caFile, "es-ca-cert", "", "PEM file of CAs to trust [$"+elastic.EnvCACertFile+"]")
	f.BoolVar(&e.insecure, "es-insecure", false, "do NOT verify the server's TLS certificate (testing only)")
	return e
}

// addStoreFlags adds the flags of the commands that write records.
func (e *esFlags) addStoreFlags(f *pflag.FlagSet, deadLetter string) {
	f.StringVar(&e.deadLetter, "es-dead-letter", deadLetter, "NDJSON file receiving records Elasticsearch rejects for good")
	f.StringVar(&e.alertsIndex, "es-alerts-index", elastic.DefaultAlertsIndex, "index receiving alerts when writing to Elasticsearch")
}

// set reports whether an Elasticsearch address is configured.
func (e *esFlags) set() bool { return e.url != "" || os.Getenv(elastic.EnvURL) != "" }

// config maps the flags onto the environment names and reads the config
// with the sink's own loader (elastic.ConfigFromEnv): a flag wins over its
// variable.
func (e *esFlags) config() (elastic.Config, error) {
	flags := map[string]string{elastic.EnvURL: e.url}
	if e.apiKeyFile != "" {
		flags[elastic.EnvAPIKeyFile], flags[elastic.EnvAPIKey] = e.apiKeyFile, ""
	}
	if e.passwordFile != "" {
		flags[elastic.EnvPasswordFile], flags[elastic.EnvPassword] = e.passwordFile, ""
	}
	if e.caFile != "" {
		flags[elastic.EnvCACertFile] = e.caFile
	}
	getenv := func(k string) string {
		if v, ok := flags[k]; ok && (v != "" || k != elastic.EnvURL) {
			return v
		}
		return os.Getenv(k)
	}
	c, err := elastic.ConfigFromEnv(elastic.Config{Index: e.index, Username: e.username, InsecureSkipVerify: e.insecure}, getenv, os.ReadFile)
	if err != nil {
		return c, err
	}
	return c, c.Normalize()
}

// storeConfig maps --db and the Elasticsearch flags onto a store config:
// Elasticsearch when --es or ES_URL names one, else the SQLite file.
// Naming both on the command line is refused rather than guessed.
func storeConfig(cmd *cobra.Command, base core.StoreConfig, e *esFlags) (core.StoreConfig, error) {
	if !e.set() {
		return base, nil
	}
	if cmd.Flags().Changed("db") {
		return base, fmt.Errorf("give --db (SQLite) or --es (Elasticsearch), not both")
	}
	c, err := e.config()
	if err != nil {
		return base, err
	}
	base.ES, base.ESDeadLetter = c, e.deadLetter
	return base, nil
}

// registryModels reads the model registry for the mapping.
func registryModels(modelsDir string) ([]elastic.Model, error) {
	specs, err := core.Specs(modelsDir, nil)
	if err != nil {
		return nil, err
	}
	return elastic.ModelsFromSpecs(specs), nil
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
			models, err := registryModels(modelsDir)
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
			models, err := registryModels(modelsDir)
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
