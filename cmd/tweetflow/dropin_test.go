package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/model/modeltest"
	"github.com/tweetflow/tweetflow/scorer"
)

// mustRun runs the CLI (runCLI) and fails the test on an error.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("tweetflow %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// TestDropInModels: a Hugging Face transformer folder (no model.yaml), one in transformers.js'
// layout, and a string-input ONNX pipeline are copied into --models-dir beside a built-in model,
// with no code: `tweetflow run` scores every tweet with all four, the store has each model's
// value and label (the values the scorer gives for the same text), and the Kibana objects
// generated from the same registry have each new model's panels.
func TestDropInModels(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	modeltest.CopyFolder(t, filepath.Join("..", "..", "models", "sentiment"), filepath.Join(models, "sentiment"))
	added := map[string]string{ // folder -> model name
		"tiny-bert-sentiment":    "tiny_bert_sentiment",
		"tiny-roberta-sentiment": "tiny_roberta_sentiment",
		"tfidf-sentiment":        "tfidf_sentiment",
	}
	for folder := range added {
		modeltest.CopyFolder(t, filepath.Join("..", "..", "scorer", "testdata", folder), filepath.Join(models, folder))
	}
	texts := []string{
		"what a lovely day, I love it",
		"I hate this so much, worst ever",
		"@bob the meeting is at 3pm https://t.co/x",
		"日本語のツイート 🙂",
	}
	var csv strings.Builder
	for i, s := range texts {
		fmt.Fprintf(&csv, "\"0\",\"%d\",\"Mon Apr 06 22:19:%02d PDT 2009\",\"NO_QUERY\",\"u%d\",\"%s\"\n", i+1, 10+i, i, strings.ReplaceAll(s, `"`, `""`))
	}
	data := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(data, []byte(csv.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "t.db")
	summary := filepath.Join(dir, "summary.json")
	mustRun(t, "run", "--data", data, "--models-dir", models, "--db", db, "--summary-json", summary, "--no-progress")

	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var sum struct {
		Complete float64                   `json:"complete"`
		Models   map[string]map[string]any `json:"models"`
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Complete != float64(len(texts)) {
		t.Errorf("complete %v, want %d: %s", sum.Complete, len(texts), b)
	}
	for _, name := range added {
		if sum.Models[name]["scored"] != float64(len(texts)) {
			t.Errorf("model %s scored %v tweets, want %d: %s", name, sum.Models[name]["scored"], len(texts), b)
		}
	}

	out := filepath.Join(dir, "out.jsonl")
	mustRun(t, "export", "--db", db, "--out", out)
	f, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(f))
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		stored[row["text"].(string)] = row
	}
	if len(stored) != len(texts) {
		t.Fatalf("exported %d tweets, want %d", len(stored), len(texts))
	}
	for folder, name := range added {
		m, err := scorer.Load(filepath.Join(models, folder), scorer.Options{})
		if err != nil {
			t.Fatal(err)
		}
		preds := make([]model.Prediction, len(texts))
		err = m.Score(context.Background(), texts, preds)
		m.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range texts {
			row := stored[s]
			v, ok := row[name+"_value"].(float64)
			if !ok || math.Abs(v-preds[i].Value) > 1e-6 || row[name+"_label"] != preds[i].Label {
				t.Errorf("%s on %q: stored %v / %v, the scorer gives %v / %v", name, s, row[name+"_value"], row[name+"_label"], preds[i].Value, preds[i].Label)
			}
		}
	}

	kib := mustRun(t, "kibana", "export", "--models-dir", models)
	for _, name := range added {
		if !strings.Contains(kib, name) {
			t.Errorf("kibana export from the registry has nothing of %s", name)
		}
	}
}
