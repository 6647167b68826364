package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/kibana"
	"github.com/tweetflow/tweetflow/kibana/objects"
	"github.com/tweetflow/tweetflow/mode/core"
)

func newKibanaCmd() *cobra.Command {
	return group("kibana", "Generate, export and import the Kibana dashboard and alerting rules", newKibanaExportCmd(), newKibanaImportCmd())
}

// genFlags choose what is generated: registry, index, thresholds, range.
type genFlags struct {
	modelsDir, index, from, to string
	thresholds                 []string
}

func addGenFlags(f *pflag.FlagSet, modelsDefault string) *genFlags {
	g := &genFlags{}
	f.StringVar(&g.modelsDir, "models-dir", modelsDefault, "model registry to generate the panels and rules from")
	f.StringVar(&g.index, "index", elastic.DefaultIndex, "Elasticsearch index of the data view")
	f.StringSliceVar(&g.thresholds, "threshold", nil, "override a threshold: model=value, or rate=tweets per interval (repeatable)")
	f.StringVar(&g.from, "from", "now-24h", "dashboard time range start (Kibana date math or ISO date; a 2009 replay needs e.g. 2009-04-01)")
	f.StringVar(&g.to, "to", "now", "dashboard time range end")
	return g
}

// options maps the flags onto kibana.Generate's options.
func (g *genFlags) options() (*kibana.GenerateOptions, error) {
	th, err := kibana.ParseThresholds(g.thresholds)
	if err != nil {
		return nil, err
	}
	return &kibana.GenerateOptions{ModelsDir: g.modelsDir, Index: g.index, Thresholds: th, From: g.from, To: g.to}, nil
}

func newKibanaExportCmd() *cobra.Command {
	var outDir string
	var g *genFlags
	cmd := &cobra.Command{
		Use:   "export [--out-dir DIR]",
		Short: "Write the saved objects (NDJSON) and alerting rules generated from the model registry",
		Long: `export generates the Kibana data view, visualizations, dashboard and alerting
rules from the model registry. With --out-dir it writes ` + objects.SavedObjectsFile + ` and
` + objects.RulesFile + ` there (the committed copies live in kibana/objects/:
regenerate them with --out-dir kibana/objects after changing a model); without it,
it prints the NDJSON.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := g.options()
			if err != nil {
				return err
			}
			nd, rules, err := kibana.Generate(*o)
			if err != nil {
				return err
			}
			if outDir == "" {
				_, err := cmd.OutOrStdout().Write(nd)
				return err
			}
			objPath, rulesPath, err := objects.WriteDir(outDir, nd, kibana.RulesJSON(rules))
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (%d rules)\n", objPath, rulesPath, len(rules))
			return err
		},
	}
	cmd.Flags().StringVar(&outDir, "out-dir", "", "folder to write the files to (default: print the NDJSON)")
	g = addGenFlags(cmd.Flags(), "models")
	return cmd
}

func newKibanaImportCmd() *cobra.Command {
	var kc kibana.ClientConfig
	var dir string
	var noRules bool
	var g *genFlags
	var ef *esFlags
	cmd := &cobra.Command{
		Use:   "import --url URL [--space SPACE]",
		Short: "Import the dashboard into Kibana and create or update its alerting rules",
		Long: `import posts the saved objects to Kibana's import API (overwriting the
previous version: the ids are stable) and creates or updates the alerting
rules. By default it imports the committed kibana/objects/ files built into the
binary; --models-dir regenerates them from a registry (with --threshold,
--from, --to), --dir reads them from a folder. Credentials: $KIBANA_API_KEY(_FILE)
or $KIBANA_USERNAME and $KIBANA_PASSWORD(_FILE), falling back to the ES_*
ones. With an Elasticsearch configured (--es or $ES_URL) and a model registry
it also puts the index template and mapping first.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := kc.Client(os.Getenv, nil)
			if err != nil {
				return err
			}
			j := kibana.ImportJob{Dir: dir, NoRules: noRules, Out: cmd.OutOrStdout()}
			if cmd.Flags().Changed("models-dir") {
				if j.Generate, err = g.options(); err != nil {
					return err
				}
			}
			if ef.set() {
				cfg, err := ef.config()
				if err != nil {
					return err
				}
				j.EnsureIndex = func(ctx context.Context) error {
					ok, err := core.EnsureIndexIfRegistry(ctx, g.modelsDir, cfg, slog.Default())
					if ok {
						fmt.Fprintf(cmd.OutOrStdout(), "index %s: template and mapping up to date\n", cfg.Index)
					}
					return err
				}
			}
			return c.ImportJob(cmd.Context(), j)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kc.URL, "url", "", "Kibana URL (default $"+kibana.EnvURL+")")
	f.StringVar(&kc.Space, "space", "", "Kibana space id (default: the default space)")
	f.StringVar(&kc.CAFile, "kibana-ca-cert", "", "PEM file of CAs to trust for Kibana (default $"+kibana.EnvCACert+")")
	f.BoolVar(&kc.Insecure, "insecure", false, "do NOT verify Kibana's TLS certificate (testing only)")
	f.BoolVar(&noRules, "no-rules", false, "import the saved objects only")
	f.StringVar(&dir, "dir", "", "read "+objects.SavedObjectsFile+" and "+objects.RulesFile+" from this folder")
	g = addGenFlags(f, "models")
	ef = addESFlags(f)
	return cmd
}
