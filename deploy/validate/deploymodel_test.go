package validate

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/model/modeltest"
)

// TestDeployModelTransformerDryRun adds the tiny BERT test model (a Hugging Face folder:
// config.json, tokenizer.json, model.onnx; no model.yaml) and the string-input TF-IDF model
// (model.yaml kind text, model.onnx) to models/ of a copy of the repository, runs
// `DRY_RUN=1 scripts/deploy-model.sh` for each, and validates what they generated (func.yaml
// files and Triggers) with everything `make validate` runs, kubeconform included. The
// transformer's memory is sized from its files and its scaling is a transformer's.
func TestDeployModelTransformerDryRun(t *testing.T) {
	bin := kubeconform(t)
	root := copyRepo(t)
	src, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	modeltest.CopyFolder(t, filepath.Join(src, "scripts"), filepath.Join(root, "scripts"))
	modeltest.CopyFolder(t, filepath.Join(src, "scorer", "testdata", "tiny-bert-sentiment"), filepath.Join(root, "models", "tiny_bert_sentiment"))
	modeltest.CopyFolder(t, filepath.Join(src, "scorer", "testdata", "tfidf-sentiment"), filepath.Join(root, "models", "tfidf_sentiment"))

	deploy := func(model string) string {
		t.Helper()
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "deploy-model.sh"), model)
		// MAKE=true: the script's `make validate` is CheckRepo below, on the copy.
		cmd.Env = append(os.Environ(), "DRY_RUN=1", "MAKE=true", "SKIP_AGGREGATOR=1")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("deploy-model.sh %s: %v\n%s", model, err, out)
		}
		return string(out)
	}
	if out := deploy("tiny_bert_sentiment"); !strings.Contains(out, "tiny_bert_sentiment is a transformer model") {
		t.Errorf("the script did not see a transformer:\n%s", out)
	}
	if out := deploy("tfidf_sentiment"); !strings.Contains(out, "tfidf_sentiment is a text model") || !strings.Contains(out, "64 in flight per pod") {
		t.Errorf("the script did not see a text model:\n%s", out)
	}
	probs, err := CheckRepo(context.Background(), Options{Root: root, Kubeconform: bin})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Error(p)
	}
	data, err := os.ReadFile(filepath.Join(root, FunctionsDir, "tiny-bert-sentiment", "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	f, ps := ParseFunction("functions/tiny-bert-sentiment/func.yaml", data)
	if f == nil || len(ps) > 0 {
		t.Fatalf("generated func.yaml: %v", ps)
	}
	// model.onnx (about 2 MB) + tokenizer.json (0.5 MB): 3 MiB, 192 + 9 = 201 -> 256Mi.
	res := f.Deploy.Options.Resources
	if res == nil || res.Requests == nil || res.Limits == nil {
		t.Fatalf("no resources in the generated func.yaml:\n%s", data)
	}
	if res.Requests.Memory == nil || *res.Requests.Memory != "256Mi" || res.Limits.Memory == nil || *res.Limits.Memory != "512Mi" {
		t.Errorf("memory request %v limit %v, want 256Mi and 512Mi", res.Requests.Memory, res.Limits.Memory)
	}
	if sc := f.Deploy.Options.Scale; sc == nil || sc.Target == nil || *sc.Target != 4 {
		t.Errorf("scale %+v, want a concurrency target of 4 for a transformer", f.Deploy.Options.Scale)
	}
	if res.Limits.Concurrency == nil || *res.Limits.Concurrency != 16 {
		t.Errorf("container concurrency %v, want 16", res.Limits.Concurrency)
	}

	// A bigger graph gets more memory: 300 MiB of weights -> 192 + 3*300.5 -> 1152Mi.
	big := filepath.Join(root, "models", "big_bert")
	modeltest.CopyFolder(t, filepath.Join(root, "models", "tiny_bert_sentiment"), big)
	if err := os.Truncate(filepath.Join(big, "model.onnx"), 300<<20); err != nil {
		t.Fatal(err)
	}
	if out := deploy("big_bert"); !strings.Contains(out, "memory 1152Mi (limit 2304Mi)") {
		t.Errorf("300 MiB model sized as:\n%s", out)
	}
}
