package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/kibana"
	"github.com/tweetflow/tweetflow/kibana/objects"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/model"
)

func newKibanaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "kibana",
		Short: "Generate, export and import the Kibana dashboard and alerting rules",
	}
	cmd.AddCommand(newKibanaExportCmd(), newKibanaImportCmd())
	return cmd
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

// generate returns the saved objects (checked) and the rules.
func (g *genFlags) generate() ([]byte, []kibana.Rule, error) {
	reg, err := model.Open(g.modelsDir)
	if err != nil {
		return nil, nil, err
	}
	overrides := map[string]float64{}
	for _, kv := range g.thresholds {
		name, v, ok := strings.Cut(kv, "=")
		f, perr := strconv.ParseFloat(v, 64)
		if !ok || perr != nil {
			return nil, nil, fmt.Errorf("--threshold %q: want name=number", kv)
		}
		overrides[name] = f
	}
	o, err := kibana.FromViews(reg.Views(), g.index, overrides)
	if err != nil {
		return nil, nil, err
	}
	o.TimeFrom, o.TimeTo = g.from, g.to
	objs, err := kibana.SavedObjects(o)
	if err != nil {
		return nil, nil, err
	}
	nd := kibana.NDJSON(objs)
	fields, err := elastic.MappedFields(o.ElasticModels())
	if err != nil {
		return nil, nil, err
	}
	if err := kibana.Check(nd, fields); err != nil {
		return nil, nil, fmt.Errorf("generated saved objects fail the check: %w", err)
	}
	return nd, kibana.Rules(o), nil
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
			nd, rules, err := g.generate()
			if err != nil {
				return err
			}
			if outDir == "" {
				_, err := cmd.OutOrStdout().Write(nd)
				return err
			}
			if err := os.WriteFile(filepath.Join(outDir, objects.SavedObjectsFile), nd, 0o644); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(outDir, objects.RulesFile), kibana.RulesJSON(rules), 0o644); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s (%d rules)\n",
				filepath.Join(outDir, objects.SavedObjectsFile), filepath.Join(outDir, objects.RulesFile), len(rules))
			return err
		},
	}
	cmd.Flags().StringVar(&outDir, "out-dir", "", "folder to write the files to (default: print the NDJSON)")
	g = addGenFlags(cmd.Flags(), "models")
	return cmd
}

// Kibana credentials: KIBANA_* variables, falling back to the ES_* ones
// (on ECK the elastic user logs in to both).
const (
	envKibanaURL          = "KIBANA_URL"
	envKibanaAPIKey       = "KIBANA_API_KEY"
	envKibanaAPIKeyFile   = "KIBANA_API_KEY_FILE"
	envKibanaUsername     = "KIBANA_USERNAME"
	envKibanaPassword     = "KIBANA_PASSWORD"
	envKibanaPasswordFile = "KIBANA_PASSWORD_FILE"
	envKibanaCACert       = "KIBANA_CA_CERT" // a PEM file path
)

func kibanaSecret(env, fileEnv, esEnv, esFileEnv string) (string, error) {
	for _, pair := range [][2]string{{env, fileEnv}, {esEnv, esFileEnv}} {
		if v := os.Getenv(pair[0]); v != "" {
			return v, nil
		}
		if p := os.Getenv(pair[1]); p != "" {
			b, err := os.ReadFile(p)
			if err != nil {
				return "", fmt.Errorf("%s: read secret file: %w", pair[1], err)
			}
			return strings.TrimSpace(string(b)), nil
		}
	}
	return "", nil
}

func newKibanaImportCmd() *cobra.Command {
	var url, space, caFile, dir string
	var insecure, noRules bool
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
			ctx := cmd.Context()
			if url == "" {
				url = os.Getenv(envKibanaURL)
			}
			if url == "" {
				return fmt.Errorf("--url (or $%s) is required", envKibanaURL)
			}
			if caFile == "" {
				caFile = os.Getenv(envKibanaCACert)
			}
			var ca []byte
			if caFile != "" {
				var err error
				if ca, err = os.ReadFile(caFile); err != nil {
					return fmt.Errorf("kibana CA certificate: %w", err)
				}
			}
			c, err := kibana.NewClient(url, space, ca, insecure)
			if err != nil {
				return err
			}
			if c.APIKey, err = kibanaSecret(envKibanaAPIKey, envKibanaAPIKeyFile, elastic.EnvAPIKey, elastic.EnvAPIKeyFile); err != nil {
				return err
			}
			if c.Username == "" {
				c.Username = os.Getenv(envKibanaUsername)
				if c.Username == "" {
					c.Username = os.Getenv(elastic.EnvUsername)
				}
			}
			if c.Password == "" {
				if c.Password, err = kibanaSecret(envKibanaPassword, envKibanaPasswordFile, elastic.EnvPassword, elastic.EnvPasswordFile); err != nil {
					return err
				}
			}

			var nd, rulesJSON []byte
			switch {
			case cmd.Flags().Changed("models-dir"):
				var rules []kibana.Rule
				if nd, rules, err = g.generate(); err != nil {
					return err
				}
				rulesJSON = kibana.RulesJSON(rules)
			case dir != "":
				if nd, err = os.ReadFile(filepath.Join(dir, objects.SavedObjectsFile)); err != nil {
					return err
				}
				if rulesJSON, err = os.ReadFile(filepath.Join(dir, objects.RulesFile)); err != nil {
					return err
				}
			default:
				nd, rulesJSON = objects.SavedObjects(), objects.Rules()
			}
			rules, err := kibana.ParseRules(rulesJSON)
			if err != nil {
				return err
			}

			if ef.set() {
				models, merr := core.IndexModels(g.modelsDir)
				if merr == nil {
					cfg, err := ef.config()
					if err != nil {
						return err
					}
					es, err := elastic.NewClient(cfg, elastic.RetryPolicy{})
					if err != nil {
						return err
					}
					if err := elastic.EnsureIndex(ctx, es, cfg.Index, models); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "index %s: template and mapping up to date\n", cfg.Index)
				} else {
					slog.Warn("no model registry: the index template is left to the aggregator's first start", "models_dir", g.modelsDir, "err", merr)
				}
			}
			res, err := c.Import(ctx, nd)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "imported %d saved objects\n", res.SuccessCount)
			if noRules {
				return nil
			}
			if err := c.PutRules(ctx, rules); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "created or updated %d alerting rules\n", len(rules))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&url, "url", "", "Kibana URL (default $"+envKibanaURL+")")
	f.StringVar(&space, "space", "", "Kibana space id (default: the default space)")
	f.StringVar(&caFile, "kibana-ca-cert", "", "PEM file of CAs to trust for Kibana (default $"+envKibanaCACert+")")
	f.BoolVar(&insecure, "insecure", false, "do NOT verify Kibana's TLS certificate (testing only)")
	f.BoolVar(&noRules, "no-rules", false, "import the saved objects only")
	f.StringVar(&dir, "dir", "", "read "+objects.SavedObjectsFile+" and "+objects.RulesFile+" from this folder")
	g = addGenFlags(f, "models")
	ef = addESFlags(f)
	return cmd
}
