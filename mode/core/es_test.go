package core_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/mode/core"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// A file named on the command line wins over its variable, what the command
// line leaves empty comes from ES_*, and a secret never comes from a flag
// value.
func TestESConfigCommandLineOverEnvironment(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "key")
	if err := os.WriteFile(key, []byte("flag-key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := core.ES{URL: "http://es1:9200, http://es2:9200", APIKeyFile: key}
	c, err := e.Config(env(map[string]string{"ES_URL": "http://env:9200", "ES_API_KEY": "env-key", "ES_INDEX": "from-env", "ES_USERNAME": "u"}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Addresses) != 2 || c.Addresses[1] != "http://es2:9200" || c.APIKey != "flag-key" || c.Index != "from-env" || c.Username != "u" {
		t.Fatalf("config %+v", c)
	}
	c, err = core.ES{}.Config(env(map[string]string{"ES_URL": "http://env:9200", "ES_API_KEY": "env-key"}), nil)
	if err != nil || c.Addresses[0] != "http://env:9200" || c.APIKey != "env-key" || c.Index != "tweetflow" {
		t.Fatalf("from the environment: %+v %v", c, err)
	}
	_, err = core.ES{URL: "http://es:9200", PasswordFile: filepath.Join(dir, "missing")}.Config(env(nil), nil)
	if err == nil || !strings.Contains(err.Error(), "--es-password-file") {
		t.Fatalf("missing password file: %v", err)
	}
}

// --db with --es (or ES_URL) is refused; without an address the SQLite
// store is kept.
func TestStoreWithES(t *testing.T) {
	base := core.StoreConfig{SQLite: "x.db"}
	c, err := base.WithES(core.ES{}, true, "dl", env(nil))
	if err != nil || c.IsES() || c.SQLite != "x.db" {
		t.Fatalf("no address: %+v %v", c, err)
	}
	if _, err := base.WithES(core.ES{}, true, "", env(map[string]string{"ES_URL": "http://es:9200"})); !errors.Is(err, core.ErrDBAndES) {
		t.Fatalf("--db with ES_URL: %v", err)
	}
	c, err = base.WithES(core.ES{URL: "http://es:9200"}, false, "dl", env(nil))
	if err != nil || !c.IsES() || c.ESDeadLetter != "dl" {
		t.Fatalf("--es: %+v %v", c, err)
	}
}
