package elastic

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/tweetflow/tweetflow/internal/commalist"
)

// DefaultIndex is the index tweetflow writes when none is configured.
const DefaultIndex = "tweetflow"

// Config says where Elasticsearch is and how to authenticate. It holds
// secrets: String and GoString redact them, so a Config can be logged.
type Config struct {
	// Addresses are the node URLs (http or https, no credentials).
	Addresses []string
	// Index is the index the sink writes.
	Index string
	// APIKey is the base64 "id:key" API key (the encoded form Elasticsearch
	// returns); it takes precedence over Username/Password.
	APIKey   string
	Username string
	Password string
	// CACert is a PEM bundle trusted for https addresses, in addition to
	// nothing else: when set, only these roots are trusted.
	CACert []byte
	// InsecureSkipVerify turns TLS verification off. Only an explicit flag
	// sets it (never the environment), and the sink logs a warning.
	InsecureSkipVerify bool
}

// String describes the config without its secrets.
func (c Config) String() string {
	auth := "none"
	switch {
	case c.APIKey != "":
		auth = "api-key(redacted)"
	case c.Username != "":
		auth = "basic(" + c.Username + ", password redacted)"
	}
	addrs := make([]string, len(c.Addresses))
	for i, a := range c.Addresses {
		addrs[i] = redactURL(a)
	}
	return fmt.Sprintf("elastic.Config{Addresses:%v Index:%q Auth:%s CACert:%d bytes InsecureSkipVerify:%v}",
		addrs, c.Index, auth, len(c.CACert), c.InsecureSkipVerify)
}

// redactURL hides a URL's password; an address that does not parse is not
// printed at all (it could hold one).
func redactURL(a string) string {
	u, err := url.Parse(a)
	if err != nil {
		return "(unparseable address)"
	}
	return u.Redacted()
}

// GoString keeps %#v from printing the secrets.
func (c Config) GoString() string { return c.String() }

// Environment variables read by ConfigFromEnv. Each secret can also come
// from a file (the _FILE variant), which is how Kubernetes secrets are
// mounted.
const (
	EnvURL          = "ES_URL"           // comma-separated node URLs
	EnvIndex        = "ES_INDEX"         // index name
	EnvAPIKey       = "ES_API_KEY"       // encoded API key
	EnvAPIKeyFile   = "ES_API_KEY_FILE"  // file holding the API key
	EnvUsername     = "ES_USERNAME"      // basic auth user
	EnvPassword     = "ES_PASSWORD"      // basic auth password
	EnvPasswordFile = "ES_PASSWORD_FILE" // file holding the password
	EnvCACertFile   = "ES_CA_CERT_FILE"  // PEM file of trusted CAs
)

// ConfigFromEnv reads a Config from environment variables (getenv is
// os.Getenv outside tests). Values set in base win over the environment, so
// flags override it. Secret files are read with readFile (os.ReadFile).
func ConfigFromEnv(base Config, getenv func(string) string, readFile func(string) ([]byte, error)) (Config, error) {
	c := base
	if readFile == nil {
		readFile = os.ReadFile
	}
	if len(c.Addresses) == 0 {
		c.Addresses = commalist.Split(getenv(EnvURL))
	}
	if c.Index == "" {
		c.Index = getenv(EnvIndex)
	}
	secret := func(dst *string, env, fileEnv string) error {
		if *dst != "" {
			return nil
		}
		if v := getenv(env); v != "" {
			*dst = v
			return nil
		}
		if p := getenv(fileEnv); p != "" {
			b, err := readFile(p)
			if err != nil {
				// The path is not secret; its content is.
				return fmt.Errorf("%s: read secret file: %w", fileEnv, err)
			}
			*dst = strings.TrimSpace(string(b))
		}
		return nil
	}
	if err := secret(&c.APIKey, EnvAPIKey, EnvAPIKeyFile); err != nil {
		return c, err
	}
	if c.Username == "" {
		c.Username = getenv(EnvUsername)
	}
	if err := secret(&c.Password, EnvPassword, EnvPasswordFile); err != nil {
		return c, err
	}
	if len(c.CACert) == 0 {
		if p := getenv(EnvCACertFile); p != "" {
			b, err := readFile(p)
			if err != nil {
				return c, fmt.Errorf("%s: read CA certificate: %w", EnvCACertFile, err)
			}
			c.CACert = b
		}
	}
	return c, nil
}

// Normalize checks the config, moves credentials out of the URLs (so they
// are never printed with an address) and fills the default index.
func (c *Config) Normalize() error {
	if len(c.Addresses) == 0 {
		return errors.New("elasticsearch: no address (set --es or " + EnvURL + ")")
	}
	for i, a := range c.Addresses {
		u, err := url.Parse(a)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			// Do not echo the address: it may hold a password.
			return fmt.Errorf("elasticsearch: address #%d is not an http(s) URL with a host", i+1)
		}
		if u.User != nil {
			if c.Username == "" && c.APIKey == "" {
				c.Username = u.User.Username()
				c.Password, _ = u.User.Password()
			}
			u.User = nil
		}
		if p := strings.Trim(u.Path, "/"); p != "" {
			// A path names the index: http://host:9200/myindex.
			if c.Index == "" {
				c.Index = p
			}
			u.Path = ""
		}
		u.RawQuery, u.Fragment = "", ""
		c.Addresses[i] = u.String()
	}
	if c.Index == "" {
		c.Index = DefaultIndex
	}
	if err := ValidateIndexName(c.Index); err != nil {
		return fmt.Errorf("elasticsearch: index %q: %w", c.Index, err)
	}
	if c.Password != "" && c.Username == "" {
		return errors.New("elasticsearch: a password without a username")
	}
	return nil
}

// ValidateIndexName checks an index name with Elasticsearch's rules
// (lowercase; none of \ / * ? " < > | space , # :; not starting with - _ +;
// not . or ..; at most 255 bytes), so a bad name fails at start, not at the
// first write.
func ValidateIndexName(name string) error {
	switch {
	case name == "":
		return errors.New("empty index name")
	case name == "." || name == "..":
		return errors.New("index name must not be '.' or '..'")
	case len(name) > 255:
		return fmt.Errorf("index name is %d bytes, more than 255", len(name))
	case strings.ToLower(name) != name:
		return errors.New("index name must be lowercase")
	case strings.IndexAny(name[:1], "-_+") == 0:
		return errors.New("index name must not start with '-', '_' or '+'")
	}
	if i := strings.IndexAny(name, `\/*?"<>| ,#:`); i >= 0 {
		return fmt.Errorf("index name must not contain %q", name[i])
	}
	return nil
}

// RetryPolicy is how the client retries whole requests.
type RetryPolicy struct {
	// RequestRetries is how many times the transport retries a whole
	// request that failed with 429/502/503/504 or a network error: 0 is the
	// default (3, for the admin commands), negative turns retries off (the
	// sink driver's client: sink.Writer retries).
	RequestRetries int
	// RequestBackoff is the transport's wait before retry n (1-based).
	RequestBackoff func(n int) time.Duration
}

// DefaultRequestBackoff doubles from 100 ms up to 2 s.
func DefaultRequestBackoff(n int) time.Duration {
	d := 100 * time.Millisecond << min(n-1, 5)
	return min(d, 2*time.Second)
}

// NewClient builds a go-elasticsearch client from a normalized config.
// Whole requests answered 429, 502, 503 or 504, or lost on the network, are
// retried by the transport with backoff.
func NewClient(c Config, rp RetryPolicy) (*elasticsearch.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // only by explicit flag
	if len(c.CACert) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(c.CACert) {
			return nil, errors.New("elasticsearch: CA certificate: no PEM certificate found")
		}
		tlsCfg.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
	}
	if rp.RequestBackoff == nil {
		rp.RequestBackoff = DefaultRequestBackoff
	}
	if rp.RequestRetries == 0 {
		rp.RequestRetries = 3
	}
	return elasticsearch.NewClient(elasticsearch.Config{
		Addresses:     c.Addresses,
		APIKey:        c.APIKey,
		Username:      c.Username,
		Password:      c.Password,
		Transport:     tr,
		RetryOnStatus: []int{429, 502, 503, 504},
		DisableRetry:  rp.RequestRetries < 0,
		MaxRetries:    max(rp.RequestRetries, 0),
		RetryBackoff:  rp.RequestBackoff,
	})
}
