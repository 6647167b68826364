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

// esFlags are the Elasticsearch flags of run, kafka aggregate, es and
// kibana, mapped onto core.ES (which resolves them over ES_*). Secrets come
// from files or the environment, never from a flag value that ps would show.
type esFlags struct {
	core.ES
	deadLetter, alertsIndex string
}

func addESFlags(f *pflag.FlagSet) *esFlags {
	e := &esFlags{}
	f.StringVar(&e.URL, "es", "", "Elasticsearch URL(s), comma-separated; a path names the index [$"+elastic.EnvURL+"]")
	f.StringVar(&e.Index, "es-index", "", "Elasticsearch index (default "+elastic.DefaultIndex+") [$"+elastic.EnvIndex+"]")
	f.StringVar(&e.APIKeyFile, "es-api-key-file", "", "file holding the encoded API key [$"+elastic.EnvAPIKey+" / $"+elastic.EnvAPIKeyFile+"]")
	f.StringVar(&e.Username, "es-username", "", "basic auth user [$"+elastic.EnvUsername+"]")
	f.StringVar(&e.PasswordFile, "es-password-file", "", "file holding the password [$"+elastic.EnvPassword+" / $"+elastic.EnvPasswordFile+"]")
	f.StringVar(&e.CAFile, "es-ca-cert", "", "PEM file of CAs to trust [$"+elastic.EnvCACertFile+"]")
	f.BoolVar(&e.Insecure, "es-insecure", false, "do NOT verify the server's TLS certificate (testing only)")
	return e
}

// addStoreFlags adds the flags of the commands that write records.
func (e *esFlags) addStoreFlags(f *pflag.FlagSet, deadLetter string) {
	f.StringVar(&e.deadLetter, "es-dead-letter", deadLetter, "NDJSON file receiving records Elasticsearch rejects for good")
	f.StringVar(&e.alertsIndex, "es-alerts-index", elastic.DefaultAlertsIndex, "index receiving alerts when writing to Elasticsearch")
}

func (e *esFlags) set() bool { return e.Set(os.Getenv) }

func (e *esFlags) config() (elastic.Config, error) { return e.Config(os.Getenv, nil) }

// storeConfig maps --db and the Elasticsearch flags onto base.
func storeConfig(cmd *cobra.Command, base core.StoreConfig, e *esFlags) (core.StoreConfig, error) {
	return base.WithES(e.ES, cmd.Flags().Changed("db"), e.deadLetter, os.Getenv)
}

func newESCmd() *cobra.Command {
	return group("es", "Manage the Elasticsearch index (template, mapping, reset)", newESTemplateCmd(), newESResetCmd())
}

// indexCmd completes cmd as an `es` subcommand over the model registry
// (--models-dir) and an Elasticsearch (the ES flags): run gets both.
func indexCmd(cmd *cobra.Command, run func(cmd *cobra.Command, modelsDir string, ef *esFlags) error) *cobra.Command {
	var modelsDir string
	cmd.Flags().StringVar(&modelsDir, "models-dir", envOr(core.EnvModelsDir, "models"), "folder holding the model folders [$MODELS_DIR]")
	ef := addESFlags(cmd.Flags())
	cmd.Args = cobra.NoArgs
	cmd.RunE = func(cmd *cobra.Command, _ []string) error { return run(cmd, modelsDir, ef) }
	return cmd
}

func newESTemplateCmd() *cobra.Command {
	var print bool
	cmd := indexCmd(&cobra.Command{
		Use:   "template",
		Short: "Put the index template and mapping generated from the model registry (adds new models' fields; never deletes)",
		Long: `template generates the index template from the model registry (--models-dir)
and, with an Elasticsearch configured (--es or ES_URL), puts it, creates the
index if it does not exist and puts the mapping on the live index, so a new
model's fields are added without a reindex. With --print, or without an
Elasticsearch, it prints the template instead.`,
	}, func(cmd *cobra.Command, modelsDir string, ef *esFlags) error {
		if print || !ef.set() {
			tpl, err := core.IndexTemplate(modelsDir, ef.Index)
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
		n, err := core.EnsureIndex(cmd.Context(), modelsDir, cfg)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "index %s: template and mapping up to date (%d models)\n", cfg.Index, n)
		return err
	})
	cmd.Flags().BoolVar(&print, "print", false, "print the template instead of putting it")
	return cmd
}

func newESResetCmd() *cobra.Command {
	var confirm bool
	cmd := indexCmd(&cobra.Command{
		Use:   "reset --confirm",
		Short: "DELETE the index and all its documents, then recreate it empty",
	}, func(cmd *cobra.Command, modelsDir string, ef *esFlags) error {
		cfg, err := ef.config()
		if err != nil {
			return err
		}
		if !confirm {
			return fmt.Errorf("refusing to delete index %s and every document in it: add --confirm", cfg.Index)
		}
		if err := core.ResetIndex(cmd.Context(), modelsDir, cfg); err != nil {
			return err
		}
		_, err = fmt.Fprintf(cmd.OutOrStdout(), "index %s deleted and recreated empty\n", cfg.Index)
		return err
	})
	cmd.Flags().BoolVar(&confirm, "confirm", false, "really delete the index")
	return cmd
}
