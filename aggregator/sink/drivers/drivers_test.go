package drivers_test

import (
	"context"
	"encoding/pem"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/drivers"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/aggregator/sink/mem"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
)

var models = []string{"offense", "sentiment"}

// TestOpenEachScheme opens every scheme, writes a record through a Writer
// and checks it landed in the store the URL names.
func TestOpenEachScheme(t *testing.T) {
	ctx := context.Background()
	fake, plain := elastictest.NewFake(t, esfake.Options{})
	tlsFake := esfake.New(esfake.Options{})
	elastictest.RegisterScripts(tlsFake)
	tlsSrv := httptest.NewTLSServer(tlsFake)
	t.Cleanup(tlsSrv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw})
	db := filepath.Join(t.TempDir(), "t.db")

	for _, tc := range []struct {
		url    string
		stored func(t *testing.T, d sink.Driver) bool
	}{
		{"sqlite://" + db, func(t *testing.T, d sink.Driver) bool {
			st, ok := d.(*sqlite.Store)
			if !ok {
				t.Fatalf("driver %T", d)
			}
			_, found, err := st.Get(ctx, sinktest.Tweet(1).ID)
			return err == nil && found
		}},
		{"mem://", func(t *testing.T, d sink.Driver) bool { _, ok := d.(*mem.Driver); return ok }},
		{"elasticsearch://" + strings.TrimPrefix(plain, "http://") + "/tweets-a", func(t *testing.T, d sink.Driver) bool {
			return d.(*elastic.Driver).Index() == "tweets-a" && fake.DocCount("tweets-a") == 1
		}},
		{"elasticsearchs://" + strings.TrimPrefix(tlsSrv.URL, "https://"), func(t *testing.T, d sink.Driver) bool {
			return d.(*elastic.Driver).Index() == elastic.DefaultIndex && tlsFake.DocCount(elastic.DefaultIndex) == 1
		}},
	} {
		t.Run(strings.SplitN(tc.url, ":", 2)[0], func(t *testing.T) {
			d, err := drivers.Open(ctx, tc.url, drivers.Options{Models: models, Elastic: elastic.Config{CACert: ca}, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatalf("Open(%s): %v", tc.url, err)
			}
			w, err := sink.NewWriter(d, sink.Options{Models: models, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close(ctx)
			if err := w.Write(ctx, []sink.Record{sinktest.Full(1)}); err != nil {
				t.Fatal(err)
			}
			if !tc.stored(t, d) {
				t.Errorf("%s: the record is not in the store the URL names", tc.url)
			}
		})
	}
}

func TestOpenRefuses(t *testing.T) {
	for url, want := range map[string]string{
		"tweetflow.db":                     "no scheme",
		"postgres://db/x":                  `unknown scheme "postgres"`,
		"sqlite://":                        "no file path",
		"mem://x":                          "takes nothing",
		"elasticsearch://":                 "no host",
		"elasticsearch://a:b/c?x=1":        "not a host[:port]",
		"elasticsearch://u:s3cret@es:9200": "credentials in the URL are refused",
		"elasticsearch://es:9200/Bad":      "lowercase",
	} {
		_, err := drivers.Open(context.Background(), url, drivers.Options{Models: models})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Open(%q) = %v, want an error with %q", url, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q): the error shows the password: %v", url, err)
		}
	}
}

func TestElasticConfig(t *testing.T) {
	c, err := drivers.ElasticConfig("elasticsearchs://es1,es2:9243/tweets", elastic.Config{APIKey: "k", Index: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Addresses, " ") != "https://es1:9200 https://es2:9243" || c.Index != "tweets" || c.APIKey != "k" {
		t.Errorf("config %v", c)
	}
}
