package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/kibana"
	"github.com/tweetflow/tweetflow/kibana/kibanatest"
)

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

func TestESTemplateAndReset(t *testing.T) {
	out, err := runCLI(t, "es", "template", "--print", "--models-dir", "../../models")
	if err != nil {
		t.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal([]byte(out), &tpl); err != nil || tpl["index_patterns"] == nil {
		t.Fatalf("template --print: %v\n%s", err, out)
	}

	fake, url := elastictest.NewFake(t, esfake.Options{})
	if _, err := runCLI(t, "es", "template", "--es", url, "--models-dir", "../../models"); err != nil {
		t.Fatal(err)
	}
	m, ok := fake.Mapping(elastic.DefaultIndex)
	if !ok || m["properties"].(map[string]any)["sentiment"] == nil {
		t.Fatalf("index not created with the registry's mapping: %v", m)
	}
	// Some data, then reset without --confirm: refused, nothing deleted.
	resp, err := http.Post(url+"/"+elastic.DefaultIndex+"/_bulk", "application/json", strings.NewReader(`{"index":{"_id":"1"}}`+"\n"+`{"tweet_id":"1"}`+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if _, err := runCLI(t, "es", "reset", "--es", url, "--models-dir", "../../models"); err == nil || !strings.Contains(err.Error(), "--confirm") {
		t.Fatalf("reset without --confirm = %v", err)
	}
	if fake.DocCount(elastic.DefaultIndex) != 1 {
		t.Fatal("reset without --confirm deleted data")
	}
	if _, err := runCLI(t, "es", "reset", "--es", url, "--models-dir", "../../models", "--confirm"); err != nil {
		t.Fatal(err)
	}
	if _, ok := fake.Mapping(elastic.DefaultIndex); !ok || fake.DocCount(elastic.DefaultIndex) != 0 {
		t.Error("reset --confirm did not leave an empty index")
	}
	if _, err := runCLI(t, "es", "template", "--es", url, "--es-index", "Bad*Name", "--models-dir", "../../models"); err == nil {
		t.Error("a bad index name was accepted")
	}
}

// TestRunWithES replays real tweets through the real models (ONNX Runtime)
// into the Elasticsearch fake: every tweet becomes one complete document.
func TestRunWithES(t *testing.T) {
	if os.Getenv("ONNXRUNTIME_LIB") == "" {
		t.Setenv("ONNXRUNTIME_LIB", abs(t, "../../lib/onnxruntime/libonnxruntime.so.1.24.1"))
	}
	fake, url := elastictest.NewFake(t, esfake.Options{})
	dir := t.TempDir()
	data, models := abs(t, "../../data/sample.csv"), abs(t, "../../models")
	t.Chdir(dir) // a SQLite file written by mistake would land here
	out, err := runCLI(t, "run", "--es", url, "--data", data, "--models-dir", models,
		"--limit", "300", "--no-progress", "--es-dead-letter", filepath.Join(dir, "dead.ndjson"))
	if err != nil {
		t.Fatalf("run --es: %v\n%s", err, out)
	}
	if n := fake.DocCount(elastic.DefaultIndex); n != 300 {
		t.Fatalf("documents = %d, want 300\n%s", n, out)
	}
	// The summary counts the store written (it once printed "database 0
	// tweets" from a SQLite file nothing wrote), and no SQLite file appears.
	if !strings.Contains(out, "store            300 tweets (elasticsearch index tweetflow)") || strings.Contains(out, "database") {
		t.Errorf("summary does not count the Elasticsearch index:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "tweetflow.db")); err == nil {
		t.Error("run --es created a SQLite file")
	}
	es, err := elastic.NewClient(elastic.Config{Addresses: []string{url}}, elastic.RetryPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := elastictest.Search(context.Background(), es, elastic.DefaultIndex, map[string]any{"term": map[string]any{"complete": true}}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 300 {
		t.Errorf("complete documents = %d, want 300", len(docs))
	}
	for _, d := range docs[:5] {
		if d.Text == "" || d.Results["sentiment"].Label == "" || d.Results["offense"].Version == "" {
			t.Errorf("document %+v lacks fields", d)
		}
	}
	// Running again changes nothing (idempotent merge).
	if _, err := runCLI(t, "run", "--es", url, "--data", data, "--models-dir", models,
		"--limit", "300", "--no-progress", "--es-dead-letter", filepath.Join(dir, "dead.ndjson")); err != nil {
		t.Fatal(err)
	}
	if n := fake.DocCount(elastic.DefaultIndex); n != 300 {
		t.Errorf("documents after a rerun = %d, want 300", n)
	}
}

func abs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// run --es --serve is refused before anything runs: the dashboard reads the
// SQLite store, which a run into Elasticsearch does not write (it once
// served an empty dashboard). --db with --es is refused too.
func TestRunServeWithESRefused(t *testing.T) {
	_, url := elastictest.NewFake(t, esfake.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"run", "--es", url, "--serve", "127.0.0.1:0", "--data", "../../data/sample.csv", "--models-dir", "../../models", "--limit", "10", "--no-progress"})
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "--serve") || !strings.Contains(err.Error(), "Kibana") {
			t.Fatalf("run --es --serve = %v, want a refusal naming --serve and Kibana\n%s", err, out.String())
		}
	case <-time.After(time.Minute):
		cancel()
		<-done
		t.Fatalf("run --es --serve was not refused: it ran and served\n%s", out.String())
	}
	if _, err := runCLI(t, "run", "--es", url, "--db", filepath.Join(t.TempDir(), "t.db"), "--models-dir", "../../models"); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("run --es --db = %v, want a refusal", err)
	}
}

func TestKibanaExportImport(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not", "yet") // --out-dir creates it (#14 break 11)
	if _, err := runCLI(t, "kibana", "export", "--models-dir", "../../models", "--out-dir", dir, "--threshold", "sentiment=-0.4", "--from", "2009-04-01"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "tweetflow.ndjson"))
	if !strings.Contains(string(b), `\"value\":-0.4`) || !strings.Contains(string(b), `"timeFrom":"2009-04-01"`) {
		t.Error("export ignored --threshold or --from")
	}
	if _, err := runCLI(t, "kibana", "export", "--models-dir", "../../models", "--threshold", "nosuch=1"); err == nil {
		t.Error("an unknown model's threshold was accepted")
	}
	fk := &kibanatest.Fake{}
	srv := httptest.NewServer(fk)
	defer srv.Close()
	out, err := runCLI(t, "kibana", "import", "--url", srv.URL, "--space", "team")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, out)
	}
	if len(fk.Imported()) != 1 || len(fk.Rules()) != 3 {
		t.Errorf("imports %d, rules %d", len(fk.Imported()), len(fk.Rules()))
	}
	for id, r := range fk.Rules() {
		if r["_space"] != "team" {
			t.Errorf("rule %s created in space %v, want team", id, r["_space"])
		}
	}
}

// TestKibanaImportJobArgs: the cluster's import Job
// (k8s/jobs/kibana/kibana-import.yaml) calls flags this command has.
func TestKibanaImportJobArgs(t *testing.T) {
	b, err := os.ReadFile("../../k8s/jobs/kibana/kibana-import.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var job struct {
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Args []string `json:"args"`
						Env  []struct {
							Name string `json:"name"`
						} `json:"env"`
					} `json:"containers"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(b, &job); err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	cmd, rest, err := newRootCmd().Find(c.Args)
	if err != nil || cmd.Name() != "import" {
		t.Fatalf("job args %v: %v", c.Args, err)
	}
	if err := cmd.ParseFlags(rest); err != nil {
		t.Errorf("job args %v: %v", c.Args, err)
	}
	known := map[string]bool{kibana.EnvCACert: true, kibana.EnvURL: true, elastic.EnvURL: true, elastic.EnvUsername: true, elastic.EnvPassword: true,
		elastic.EnvPasswordFile: true, elastic.EnvAPIKey: true, elastic.EnvAPIKeyFile: true, elastic.EnvCACertFile: true, elastic.EnvIndex: true,
		kibana.EnvAPIKey: true, kibana.EnvUsername: true, kibana.EnvPassword: true}
	for _, e := range c.Env {
		if !known[e.Name] {
			t.Errorf("job sets %s, which the command does not read", e.Name)
		}
	}
}
