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
// transformer's memory is sized from its files and its scaling is a transformer's; the TF-IDF
// model's comes from its model.yaml deploy block, under an environment override.
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

	// The TF-IDF model's model.yaml sizes its function (its deploy block over the size rule);
	// MEMORY_LIMIT in the environment overrides the block's memory_limit.
	tfidfSpec := filepath.Join(root, "models", "tfidf_sentiment", "model.yaml")
	spec, err := os.ReadFile(tfidfSpec)
	if err != nil {
		t.Fatal(err)
	}
	spec = append(spec, "deploy:\n  memory_request: 384Mi\n  memory_limit: \"768Mi\"\n  scale_target: 24 # from the benchmark\n  container_concurrency: 96\n"...)
	if err := os.WriteFile(tfidfSpec, spec, 0o644); err != nil {
		t.Fatal(err)
	}

	script := func(model string, env ...string) ([]byte, error) {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "deploy-model.sh"), model)
		// MAKE=true: the script's `make validate` is CheckRepo below, on the copy.
		cmd.Env = append(append(os.Environ(), "DRY_RUN=1", "MAKE=true", "SKIP_AGGREGATOR=1"), env...)
		return cmd.CombinedOutput()
	}
	deploy := func(model string, env ...string) string {
		t.Helper()
		out, err := script(model, env...)
		if err != nil {
			t.Fatalf("deploy-model.sh %s: %v\n%s", model, err, out)
		}
		return string(out)
	}
	if out := deploy("tiny_bert_sentiment"); !strings.Contains(out, "tiny_bert_sentiment is a transformer model") {
		t.Errorf("the script did not see a transformer:\n%s", out)
	}
	if out := deploy("tfidf_sentiment", "MEMORY_LIMIT=1Gi"); !strings.Contains(out, "tfidf_sentiment is a text model") || !strings.Contains(out, "memory 384Mi (limit 1Gi), 24 in flight per pod, at most 96") {
		t.Errorf("the script did not see a text model:\n%s", out)
	}
	// A flow-style deploy block, which the script's reader would miss, is refused, not ignored.
	flow := filepath.Join(root, "models", "flow_deploy")
	modeltest.CopyFolder(t, filepath.Join(root, "models", "tfidf_sentiment"), flow)
	flowSpec := strings.Replace(strings.Replace(string(spec), "name: tfidf_sentiment", "name: flow_deploy", 1), "deploy:\n", "deploy: {scale_target: 8}\nx:\n", 1)
	if err := os.WriteFile(filepath.Join(flow, "model.yaml"), []byte(flowSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := script("flow_deploy"); err == nil || !strings.Contains(string(out), "field deploy: write it as a block") {
		t.Errorf("flow-style deploy block: %v\n%s", err, out)
	}
	if err := os.RemoveAll(flow); err != nil {
		t.Fatal(err)
	}
	probs, err := CheckRepo(context.Background(), Options{Root: root, Kubeconform: bin})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Error(p)
	}
	// checkSizing reads a generated func.yaml back and compares its sizing.
	checkSizing := func(fn, request, limit string, target float64, concurrency int64) {
		t.Helper()
		data, err := os.ReadFile(filepath.Join(root, FunctionsDir, fn, "func.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		f, ps := ParseFunction("functions/"+fn+"/func.yaml", data)
		if f == nil || len(ps) > 0 {
			t.Fatalf("generated %s func.yaml: %v", fn, ps)
		}
		res := f.Deploy.Options.Resources
		if res == nil || res.Requests == nil || res.Limits == nil {
			t.Fatalf("no resources in the generated %s func.yaml:\n%s", fn, data)
		}
		if res.Requests.Memory == nil || *res.Requests.Memory != request || res.Limits.Memory == nil || *res.Limits.Memory != limit {
			t.Errorf("%s: memory request %v limit %v, want %s and %s", fn, res.Requests.Memory, res.Limits.Memory, request, limit)
		}
		if sc := f.Deploy.Options.Scale; sc == nil || sc.Target == nil || *sc.Target != target {
			t.Errorf("%s: scale %+v, want a concurrency target of %v", fn, f.Deploy.Options.Scale, target)
		}
		if res.Limits.Concurrency == nil || *res.Limits.Concurrency != concurrency {
			t.Errorf("%s: container concurrency %v, want %d", fn, res.Limits.Concurrency, concurrency)
		}
	}
	// model.onnx (about 2 MB) + tokenizer.json (0.5 MB): 3 MiB, 192 + 9 = 201 -> 256Mi; a
	// transformer's scaling.
	checkSizing("tiny-bert-sentiment", "256Mi", "512Mi", 4, 16)
	// model.yaml's deploy block, with the environment's MEMORY_LIMIT over its memory_limit.
	checkSizing("tfidf-sentiment", "384Mi", "1Gi", 24, 96)

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
