package elastic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/elastic/go-elasticsearch/v8/typedapi/indices/putindextemplate"
	"github.com/elastic/go-elasticsearch/v8/typedapi/types"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/model"
)

func TestValidateIndexName(t *testing.T) {
	good := []string{"tweetflow", "tweets-2026.11", "a", "x_y+z", strings.Repeat("a", 255), "ünïcode"}
	bad := []string{"", ".", "..", "Tweets", "-x", "_x", "+x", "a b", "a,b", "a#b", "a*", "a?", `a"b`, "a<b", "a>b", "a|b", `a\b`, "a/b", "a:b", strings.Repeat("a", 256)}
	for _, n := range good {
		if err := elastic.ValidateIndexName(n); err != nil {
			t.Errorf("ValidateIndexName(%q) = %v, want nil", n, err)
		}
		// The fake applies Elasticsearch's rules independently: agree.
		if err := esfake.ValidateIndexName(n); err != nil {
			t.Errorf("esfake rejects %q: %v", n, err)
		}
	}
	for _, n := range bad {
		if err := elastic.ValidateIndexName(n); err == nil {
			t.Errorf("ValidateIndexName(%q) = nil, want an error", n)
		}
		if err := esfake.ValidateIndexName(n); err == nil {
			t.Errorf("esfake accepts %q", n)
		}
	}
	c := elastic.Config{Addresses: []string{"http://localhost:9200"}, Index: "Bad Index"}
	if err := c.Normalize(); err == nil || !strings.Contains(err.Error(), "Bad Index") {
		t.Errorf("Normalize with a bad index = %v", err)
	}
}

func TestConfigFromEnvAndFiles(t *testing.T) {
	dir := t.TempDir()
	keyFile := dir + "/api-key"
	if err := os.WriteFile(keyFile, []byte("c2VjcmV0LWtleQ==\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		elastic.EnvURL:        "https://es-1:9200, https://es-2:9200",
		elastic.EnvAPIKeyFile: keyFile,
		elastic.EnvIndex:      "tweets",
	}
	c, err := elastic.ConfigFromEnv(elastic.Config{}, func(k string) string { return env[k] }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c.Addresses, []string{"https://es-1:9200", "https://es-2:9200"}) || c.APIKey != "c2VjcmV0LWtleQ==" || c.Index != "tweets" {
		t.Errorf("config = %#v (api key %q)", c, c.APIKey)
	}
	// Flags (the base) win over the environment.
	c, _ = elastic.ConfigFromEnv(elastic.Config{Index: "flag-index"}, func(k string) string { return env[k] }, nil)
	if c.Index != "flag-index" {
		t.Errorf("index = %q, want the flag's", c.Index)
	}
	// A missing secret file names the variable, not a secret.
	env[elastic.EnvPasswordFile] = dir + "/nope"
	env[elastic.EnvUsername] = "elastic"
	if _, err := elastic.ConfigFromEnv(elastic.Config{}, func(k string) string { return env[k] }, nil); err == nil || !strings.Contains(err.Error(), elastic.EnvPasswordFile) {
		t.Errorf("missing password file: %v", err)
	}
	// Credentials in a URL move out of the address.
	u := elastic.Config{Addresses: []string{"https://elastic:hunter2@es:9200/myindex"}}
	if err := u.Normalize(); err != nil {
		t.Fatal(err)
	}
	if u.Addresses[0] != "https://es:9200" || u.Username != "elastic" || u.Password != "hunter2" || u.Index != "myindex" {
		t.Errorf("normalized = %v user %q", u.Addresses, u.Username)
	}
}

// TestSecretsNeverLeak: the API key and password appear in no error and no
// log line, whatever fails.
func TestSecretsNeverLeak(t *testing.T) {
	const apiKey, password = "QVBJLUtFWS1zM2NyM3Q=", "hunter2-pa55"
	fake, url := elastictest.NewFake(t, esfake.Options{APIKey: "some-other-key"})
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var errs []error
	for _, c := range []elastic.Config{
		{Addresses: []string{url}, APIKey: apiKey},
		{Addresses: []string{url}, Username: "elastic", Password: password},
		{Addresses: []string{strings.Replace(url, "http://", "http://elastic:"+password+"@", 1)}},
		{Addresses: []string{"http://elastic:" + password + "@127.0.0.1:1"}},
		{Addresses: []string{"ht!tp://elastic:" + password + "@x"}},
	} {
		logger.Info("opening", "config", c)
		_, err := elastic.Open(context.Background(), elastic.Options{Config: c, Models: elastictest.Models(models), Logger: logger,
			Retry: elastic.RetryPolicy{RequestRetries: 1}})
		if err == nil {
			t.Fatalf("open with %v succeeded against a server wanting another key", c)
		}
		errs = append(errs, err)
		logger.Error("open failed", "err", err)
		fmt.Fprintf(&logs, "%v %+v %#v\n", c, c, c)
	}
	if fake.Stats().Unauthorized < 3 {
		t.Errorf("the server saw %d unauthenticated requests, want >= 3", fake.Stats().Unauthorized)
	}
	for _, s := range []string{apiKey, password} {
		for _, err := range errs {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error leaks a secret: %v", err)
			}
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("logs leak a secret:\n%s", logs.String())
		}
	}
	if !strings.Contains(errs[0].Error(), "401") {
		t.Errorf("a rejected API key should say 401: %v", errs[0])
	}
}

// TestAuthAccepted: the configured API key and basic credentials reach the
// server.
func TestAuthAccepted(t *testing.T) {
	_, url := elastictest.NewFake(t, esfake.Options{APIKey: "right-key", Username: "elastic", Password: "pw"})
	for _, c := range []elastic.Config{
		{Addresses: []string{url}, APIKey: "right-key"},
		{Addresses: []string{url}, Username: "elastic", Password: "pw"},
	} {
		d, err := elastic.Open(context.Background(), elastic.Options{Config: c, Models: elastictest.Models(models), Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatalf("open %v: %v", c, err)
		}
		if err := d.WriteBatch(context.Background(), records(3)); err != nil {
			t.Fatal(err)
		}
		_ = d.Close(context.Background())
	}
}

// TestTLSVerification: verification is on by default; a CA bundle makes
// it pass; turning it off needs the explicit option.
func TestTLSVerification(t *testing.T) {
	fake := esfake.New(esfake.Options{})
	elastictest.RegisterScripts(fake)
	srv := httptest.NewTLSServer(fake)
	defer srv.Close()
	open := func(c elastic.Config) error {
		c.Addresses = []string{srv.URL}
		d, err := elastic.Open(context.Background(), elastic.Options{Config: c, Models: elastictest.Models(models), Logger: slog.New(slog.DiscardHandler), Retry: elastic.RetryPolicy{RequestRetries: 1}})
		if err == nil {
			_ = d.Close(context.Background())
		}
		return err
	}
	if err := open(elastic.Config{}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("default config against a self-signed server = %v, want a certificate error", err)
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := open(elastic.Config{CACert: caPEM}); err != nil {
		t.Errorf("with the CA: %v", err)
	}
	if err := open(elastic.Config{InsecureSkipVerify: true}); err != nil {
		t.Errorf("with verification off: %v", err)
	}
	if err := open(elastic.Config{CACert: []byte("not pem")}); err == nil {
		t.Error("a CA file without a certificate was accepted")
	}
}

// TestTemplateAgainstUpstreamTypes decodes the generated template with
// go-elasticsearch's typed API request and checks that nothing is lost in
// the round trip (an unknown or misspelled key would be dropped).
func TestTemplateAgainstUpstreamTypes(t *testing.T) {
	ms := []elastic.Model{{Name: "offense", ValueType: model.TypeFloat}, {Name: "sentiment", ValueType: model.TypeFloat}, {Name: "topic", ValueType: model.TypeKeyword}, {Name: "stars", ValueType: model.TypeInteger}}
	tpl, err := elastic.IndexTemplate("tweetflow", ms)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(tpl)
	req := putindextemplate.NewRequest()
	if err := json.Unmarshal(raw, req); err != nil {
		t.Fatalf("upstream types reject the template: %v", err)
	}
	tm := req.Template.Mappings
	if tm == nil || len(tm.Properties) != 19 || len(tm.Runtime) != 3 {
		t.Fatalf("decoded mappings: %+v", tm)
	}
	if _, ok := tm.Properties["timestamp"].(*types.DateProperty); !ok {
		t.Errorf("timestamp decoded as %T", tm.Properties["timestamp"])
	}
	text, ok := tm.Properties["text"].(*types.TextProperty)
	if !ok || text.Fields["keyword"] == nil {
		t.Errorf("text decoded as %T", tm.Properties["text"])
	}
	for name, want := range map[string]any{"offense": &types.FloatNumberProperty{}, "topic": &types.KeywordProperty{}, "stars": &types.LongNumberProperty{}} {
		obj, ok := tm.Properties[name].(*types.ObjectProperty)
		if !ok {
			t.Fatalf("%s decoded as %T", name, tm.Properties[name])
		}
		if got := reflect.TypeOf(obj.Properties["value"]); got != reflect.TypeOf(want) {
			t.Errorf("%s.value decoded as %v, want %T", name, got, want)
		}
	}
	back, _ := json.Marshal(req)
	var a, b any
	_ = json.Unmarshal(raw, &a)
	_ = json.Unmarshal(back, &b)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("template changed in the upstream round trip:\n ours %s\n back %s", raw, back)
	}
}

func TestMappingRejectsBadModels(t *testing.T) {
	for _, ms := range [][]elastic.Model{
		{{Name: "Bad", ValueType: "float"}},
		{{Name: "text", ValueType: "float"}},
		{{Name: "a", ValueType: "float"}, {Name: "a", ValueType: "float"}},
		{{Name: "a", ValueType: "double"}},
	} {
		if _, err := elastic.Mappings(ms); err == nil {
			t.Errorf("Mappings(%v) = nil error", ms)
		}
	}
}

func TestKeywordAndIntegerValues(t *testing.T) {
	e := newEnv(t)
	o := e.options(t)
	o.Models = append(elastictest.Models(models), elastic.Model{Name: "topic", ValueType: model.TypeKeyword}, elastic.Model{Name: "stars", ValueType: model.TypeInteger})
	d := e.open(t, o)
	recs := records(3)
	recs[0].Results = append(recs[0].Results, sink.Result{Model: "topic", Version: "1", Value: 2, Label: "politics"}, sink.Result{Model: "stars", Version: "1", Value: 4, Label: "four"})
	recs[1].Results = append(recs[1].Results, sink.Result{Model: "stars", Version: "1", Value: 4.5, Label: "x"})
	err := d.WriteBatch(context.Background(), recs)
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[1] == nil {
		t.Fatalf("WriteBatch = %v, want only #1 (a non-integer value) failed", err)
	}
	src, _ := e.fake.Source(index, recs[0].Tweet.ID)
	if v := src["topic"].(map[string]any)["value"]; v != "politics" {
		t.Errorf("keyword value = %v, want the label", v)
	}
	if v := fmt.Sprint(src["stars"].(map[string]any)["value"]); v != "4" {
		t.Errorf("integer value = %v, want 4", v)
	}
}
