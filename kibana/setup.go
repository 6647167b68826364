package kibana

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/model"
)

// GenerateOptions choose what Generate builds: the registry, the index of
// the data view, threshold overrides and the dashboard's time range.
type GenerateOptions struct {
	ModelsDir, Index string
	// Thresholds override a model's threshold (model name → value); "rate"
	// is the tweets-per-interval rule's (ParseThresholds reads the flags).
	Thresholds map[string]float64
	// From and To are the dashboard's time range (Kibana date math or ISO
	// dates; empty: FromViews' defaults, the last 24 hours).
	From, To string
}

// Generate builds the saved objects (NDJSON, checked against the index
// mapping the same registry gives) and the alerting rules from the model
// registry: `tweetflow kibana export`, and `kibana import --models-dir`.
func Generate(g GenerateOptions) (ndjson []byte, rules []Rule, err error) {
	reg, err := model.Open(g.ModelsDir)
	if err != nil {
		return nil, nil, err
	}
	o, err := FromViews(reg.Views(), g.Index, g.Thresholds)
	if err != nil {
		return nil, nil, err
	}
	if g.From != "" {
		o.TimeFrom = g.From
	}
	if g.To != "" {
		o.TimeTo = g.To
	}
	objs, err := SavedObjects(o)
	if err != nil {
		return nil, nil, err
	}
	nd := NDJSON(objs)
	fields, err := elastic.MappedFields(o.ElasticModels())
	if err != nil {
		return nil, nil, err
	}
	if err := Check(nd, fields); err != nil {
		return nil, nil, fmt.Errorf("generated saved objects fail the check: %w", err)
	}
	return nd, Rules(o), nil
}

// ParseThresholds reads --threshold values, each model=number (or
// rate=number).
func ParseThresholds(kvs []string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, kv := range kvs {
		name, v, ok := strings.Cut(kv, "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if !ok || name == "" || err != nil {
			return nil, fmt.Errorf("--threshold %q: want name=number", kv)
		}
		out[strings.TrimSpace(name)] = f
	}
	return out, nil
}

// Kibana's environment: KIBANA_* variables, falling back to the ES_* ones
// for the credentials (on ECK the elastic user logs in to both).
const (
	EnvURL          = "KIBANA_URL"
	EnvAPIKey       = "KIBANA_API_KEY"
	EnvAPIKeyFile   = "KIBANA_API_KEY_FILE"
	EnvUsername     = "KIBANA_USERNAME"
	EnvPassword     = "KIBANA_PASSWORD"
	EnvPasswordFile = "KIBANA_PASSWORD_FILE"
	EnvCACert       = "KIBANA_CA_CERT" // a PEM file path
)

// ClientConfig is the command line's part of a Kibana connection; the
// rest, and every secret, comes from the environment.
type ClientConfig struct {
	URL, Space, CAFile string
	Insecure           bool
}

// Client resolves c over the environment (getenv; readFile nil means
// os.ReadFile) and returns the client: the URL from KIBANA_URL when c has
// none, the API key or user and password from KIBANA_*, else ES_*.
func (c ClientConfig) Client(getenv func(string) string, readFile func(string) ([]byte, error)) (*Client, error) {
	if readFile == nil {
		readFile = os.ReadFile
	}
	url := c.URL
	if url == "" {
		url = getenv(EnvURL)
	}
	if url == "" {
		return nil, fmt.Errorf("--url (or $%s) is required", EnvURL)
	}
	caFile := c.CAFile
	if caFile == "" {
		caFile = getenv(EnvCACert)
	}
	var ca []byte
	if caFile != "" {
		var err error
		if ca, err = readFile(caFile); err != nil {
			return nil, fmt.Errorf("kibana CA certificate: %w", err)
		}
	}
	cl, err := NewClient(url, c.Space, ca, c.Insecure)
	if err != nil {
		return nil, err
	}
	secret := func(pairs ...[2]string) (string, error) {
		for _, p := range pairs {
			if v := getenv(p[0]); v != "" {
				return v, nil
			}
			if path := getenv(p[1]); path != "" {
				b, err := readFile(path)
				if err != nil {
					// The path is not secret; its content is.
					return "", fmt.Errorf("%s: read secret file: %w", p[1], err)
				}
				return strings.TrimSpace(string(b)), nil
			}
		}
		return "", nil
	}
	if cl.APIKey, err = secret([2]string{EnvAPIKey, EnvAPIKeyFile}, [2]string{elastic.EnvAPIKey, elastic.EnvAPIKeyFile}); err != nil {
		return nil, err
	}
	if cl.Username == "" {
		cl.Username = getenv(EnvUsername)
		if cl.Username == "" {
			cl.Username = getenv(elastic.EnvUsername)
		}
	}
	if cl.Password == "" {
		if cl.Password, err = secret([2]string{EnvPassword, EnvPasswordFile}, [2]string{elastic.EnvPassword, elastic.EnvPasswordFile}); err != nil {
			return nil, err
		}
	}
	return cl, nil
}
