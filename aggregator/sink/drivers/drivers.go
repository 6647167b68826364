// Package drivers opens a sink driver from a URL, so that configuration
// names a store in one string and a newcomer adding a store touches one
// switch:
//
//	sqlite://PATH                    a SQLite file (sqlite://tweetflow.db, sqlite:///var/lib/t.db)
//	elasticsearch://HOST[:PORT][/INDEX]   Elasticsearch over http (port 9200 by default)
//	elasticsearchs://HOST[:PORT][/INDEX]  the same over https
//	mem://                           a fresh in-memory store (tests, dry runs)
//
// Several Elasticsearch nodes are separated by commas in the host part
// (elasticsearch://es1:9200,es2:9200/tweets). Credentials do not belong in
// the URL: they come in Options.Elastic (flags, ES_API_KEY_FILE, ...).
//
// It is gocloud.dev's URLMux without the global registry: the package
// imports its drivers, and nothing is registered at init.
package drivers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/mem"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
)

// Schemes returns the URL schemes Open knows.
func Schemes() []string { return []string{"sqlite", "elasticsearch", "elasticsearchs", "mem"} }

// Options say what a driver needs besides its URL.
type Options struct {
	// Models are the configured models (what complete and missing refer
	// to, and the columns or fields created at open).
	Models []string
	// ElasticModels are the models with their value types, for the
	// Elasticsearch mapping; nil: Models, float-valued.
	ElasticModels []elastic.Model
	// Elastic is the rest of the Elasticsearch configuration: index,
	// credentials, CA. Its Addresses are replaced by the URL's; an index
	// in the URL wins over Elastic.Index.
	Elastic elastic.Config
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// Open opens the driver rawURL names. Errors name the URL without any
// password it may hold.
func Open(ctx context.Context, rawURL string, o Options) (sink.Driver, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, fmt.Errorf("sink URL %q: no scheme (want one of %s, as in sqlite://tweetflow.db)", redact(rawURL), strings.Join(Schemes(), "://, ")+"://")
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch strings.ToLower(scheme) {
	case "sqlite":
		if rest == "" {
			return nil, errors.New("sink URL sqlite://: no file path (sqlite://tweetflow.db)")
		}
		return sqlite.Open(ctx, rest, o.Models)
	case "mem":
		if rest != "" {
			return nil, fmt.Errorf("sink URL %q: mem:// takes nothing after the scheme", rawURL)
		}
		return mem.NewStore().Open(o.Models), nil
	case "elasticsearch", "elasticsearchs":
		c, err := ElasticConfig(rawURL, o.Elastic)
		if err != nil {
			return nil, err
		}
		ms := o.ElasticModels
		if ms == nil {
			for _, m := range o.Models {
				ms = append(ms, elastic.Model{Name: m, ValueType: "float"})
			}
		}
		d, err := elastic.Open(ctx, elastic.Options{Config: c, Models: ms, Logger: o.Logger})
		if err != nil {
			return nil, fmt.Errorf("sink %s: %w", redact(rawURL), err)
		}
		return d, nil
	}
	return nil, fmt.Errorf("sink URL %q: unknown scheme %q (want one of %s)", redact(rawURL), scheme, strings.Join(Schemes(), ", "))
}

// ElasticConfig turns an elasticsearch:// or elasticsearchs:// URL into the
// node addresses and index of base.
func ElasticConfig(rawURL string, base elastic.Config) (elastic.Config, error) {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	httpScheme := "http"
	if strings.EqualFold(scheme, "elasticsearchs") {
		httpScheme = "https"
	}
	hostPart, index, _ := strings.Cut(rest, "/")
	if strings.Contains(hostPart, "@") {
		return base, fmt.Errorf("sink URL %s: credentials in the URL are refused (they would show in process lists and logs); use --es-api-key-file or ES_PASSWORD_FILE", redact(rawURL))
	}
	c := base
	c.Addresses = nil
	for _, h := range strings.Split(hostPart, ",") {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		u, err := url.Parse(httpScheme + "://" + h)
		if err != nil || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return base, fmt.Errorf("sink URL %s: %q is not a host[:port]", redact(rawURL), h)
		}
		if u.Port() == "" {
			u.Host += ":9200"
		}
		c.Addresses = append(c.Addresses, u.String())
	}
	if len(c.Addresses) == 0 {
		return base, fmt.Errorf("sink URL %s: no host", redact(rawURL))
	}
	if index = strings.Trim(index, "/"); index != "" {
		c.Index = index
	}
	if err := c.Normalize(); err != nil {
		return base, err
	}
	return c, nil
}

// redact hides a password in a URL-like string.
func redact(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	if at := strings.LastIndex(s, "@"); at >= 0 {
		if i := strings.Index(s, "://"); i >= 0 && i < at {
			return s[:i+3] + "xxxxx" + s[at:]
		}
	}
	return s
}
