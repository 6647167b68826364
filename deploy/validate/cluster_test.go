package validate

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestDeployModelDryRunFuncDeploy runs `DRY_RUN=1 scripts/deploy-model.sh sentiment` (what
// `DRY_RUN=1 make deploy-model MODEL=sentiment` runs) and checks every `func deploy` line it
// prints against what func v0.44-v0.50 accept for an image given by digest (cmd/deploy.go:
// "pushing is not valid when specifying an image with digest"; without --build=false, ErrNotBuilt
// on a clone with no .func/ stamp): --build=false and --push=false.
func TestDeployModelDryRunFuncDeploy(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", filepath.Join(root, "scripts", "deploy-model.sh"), "sentiment")
	// MAKE=true: the script's `make validate` is this package's own test.
	cmd.Env = append(os.Environ(), "DRY_RUN=1", "MAKE=true", "SKIP_AGGREGATOR=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy-model.sh: %v\n%s", err, out)
	}
	var deploys []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "would run: func deploy ") {
			deploys = append(deploys, l)
		}
	}
	if len(deploys) != 2 {
		t.Fatalf("want 2 func deploy lines (the model and the aggregator), got %d:\n%s", len(deploys), out)
	}
	for _, l := range deploys {
		checkDigestDeploy(t, "deploy-model.sh output", l)
	}
}

func checkDigestDeploy(t *testing.T, where, line string) {
	t.Helper()
	fields := strings.Fields(line)
	has := func(flag string) bool {
		for _, f := range fields {
			if f == flag {
				return true
			}
		}
		return false
	}
	digest := false
	for i, f := range fields {
		if (f == "--image" && i+1 < len(fields) && strings.Contains(fields[i+1], "@sha256:")) || (strings.HasPrefix(f, "--image=") && strings.Contains(f, "@sha256:")) {
			digest = true
		}
	}
	if !digest {
		t.Errorf("%s: %q deploys without --image REF@sha256:...", where, line)
	}
	for _, flag := range []string{"--build=false", "--push=false"} {
		if !has(flag) {
			t.Errorf("%s: %q lacks %s: func refuses a digest image with push on, and builds without a .func/ stamp", where, line, flag)
		}
	}
}

// TestDigestDeployLinesInDocs checks every `func deploy ... @sha256` command written in the
// README, the func.yaml files, the templates and the scripts, so no comment repeats the claim
// that a digest alone skips build and push.
func TestDigestDeployLinesInDocs(t *testing.T) {
	files := []string{"README.md", AggregatorFunc, "deploy/templates/func.yaml.tmpl", "scripts/deploy-model.sh"}
	more, _ := filepath.Glob(filepath.Join(repoRoot, FunctionsDir, "*", "func.yaml"))
	for _, m := range more {
		r, _ := filepath.Rel(repoRoot, m)
		files = append(files, r)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(strings.NewReader(string(data)))
		for line := 1; sc.Scan(); line++ {
			l := sc.Text()
			if !strings.Contains(l, "func deploy ") || !strings.Contains(l, "@sha256") {
				continue
			}
			n++
			cmd := l[strings.Index(l, "func deploy "):]
			cmd, _, _ = strings.Cut(cmd, "`")
			cmd = strings.TrimSuffix(strings.TrimSpace(cmd), "\\")
			if !strings.Contains(cmd, "--build=false") && strings.HasSuffix(strings.TrimSpace(l), "\\") {
				// continued on the next line
				if sc.Scan() {
					line++
					cmd += " " + sc.Text()
				}
			}
			checkDigestDeploy(t, f+":"+strconv.Itoa(line), strings.ReplaceAll(cmd, "#", ""))
		}
	}
	if n < 5 {
		t.Errorf("found %d func deploy commands by digest, want at least 5 (README, func.yaml files, template, script): update this test", n)
	}
}

// TestFuncYAMLAsFuncWritesIt parses func.yaml files as func v0.44 and v0.50 write them back
// after a deploy: v0.50 adds deployer at the top and in deploy (and may write registryInsecure
// and deploy.imagePullSecret). A committed file func rewrote must still pass `make validate`.
func TestFuncYAMLAsFuncWritesIt(t *testing.T) {
	base, err := os.ReadFile(filepath.Join(repoRoot, FunctionsDir, "sentiment", "func.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(base)
	if !strings.Contains(s, "\ndeploy:\n  namespace: tweetflow\n") || !strings.Contains(s, "\nname: sentiment\n") {
		t.Fatal("functions/sentiment/func.yaml changed shape: update this test")
	}
	v044 := strings.Replace(s, "\nname: sentiment\n", "\nname: sentiment\nregistry: registry.example.com/tweetflow\nimage: registry.example.com/tweetflow/tweetflow-sentiment@sha256:0000000000000000000000000000000000000000000000000000000000000000\n", 1)
	v044 = strings.Replace(v044, "\ndeploy:\n  namespace: tweetflow\n", "\ndeploy:\n  namespace: tweetflow\n  image: registry.example.com/tweetflow/tweetflow-sentiment@sha256:0000000000000000000000000000000000000000000000000000000000000000\n", 1)
	v050 := strings.Replace(v044, "\nname: sentiment\n", "\nname: sentiment\ndeployer: knative\nregistryInsecure: false\n", 1)
	v050 = strings.Replace(v050, "\ndeploy:\n  namespace: tweetflow\n", "\ndeploy:\n  namespace: tweetflow\n  deployer: knative\n  imagePullSecret: regcred\n", 1)
	for name, data := range map[string]string{"v0.44": v044, "v0.50": v050} {
		f, probs := ParseFunction("functions/sentiment/func.yaml", []byte(data))
		for _, p := range probs {
			t.Errorf("%s: %s", name, p)
		}
		if f == nil {
			continue
		}
		for _, p := range CheckFunction("functions/sentiment/func.yaml", f, "dev.tweetflow.tweet.v1", []string{"tweetflow"}) {
			t.Errorf("%s: %s", name, p)
		}
	}
}

// TestWorstCaseDelivery pins the data plane's arithmetic (delay * 2^n from n = 1): the figures
// the manifests' comments quote.
func TestWorstCaseDelivery(t *testing.T) {
	for _, c := range []struct {
		retry          int32
		policy         string
		delay, timeout time.Duration
		want           time.Duration
	}{
		{8, "exponential", 500 * time.Millisecond, 0, 255 * time.Second},
		{10, "exponential", time.Second, 0, 2046 * time.Second},
		{8, "exponential", 500 * time.Millisecond, 30 * time.Second, 255*time.Second + 9*30*time.Second},
		{12, "exponential", time.Second, 30 * time.Second, 8190*time.Second + 13*30*time.Second},
		{3, "linear", time.Second, 0, 6 * time.Second},
		{0, "exponential", time.Second, 30 * time.Second, 30 * time.Second},
	} {
		if got := WorstCaseDelivery(c.retry, c.policy, c.delay, c.timeout); got != c.want {
			t.Errorf("WorstCaseDelivery(%d, %s, %s, %s) = %s, want %s", c.retry, c.policy, c.delay, c.timeout, got, c.want)
		}
	}
}

// TestDeployModelRejectsNamesFirst runs scripts/deploy-model.sh in a copy of the repository
// with names that used to pass its check and then write functions/<name>/ and a Trigger before
// validation failed ("foo_" gave "foo-"), or that collide with the Go entry points and the
// aggregator's Service; and, for a valid name whose validation fails (MAKE=false), checks that
// what the run generated is removed again.
func TestDeployModelRejectsNamesFirst(t *testing.T) {
	root := copyRepo(t)
	src, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	script, err := os.ReadFile(filepath.Join(src, "scripts", "deploy-model.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, "scripts"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "scripts", "deploy-model.sh"), script, 0o755); err != nil {
		t.Fatal(err)
	}
	triggersBefore, err := os.ReadFile(filepath.Join(root, EventingDir, "triggers.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	run := func(model, makeCmd string) (int, string) {
		cmd := exec.Command("bash", filepath.Join(root, "scripts", "deploy-model.sh"), model)
		cmd.Env = append(os.Environ(), "DRY_RUN=1", "MAKE="+makeCmd)
		out, err := cmd.CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}
	dirs := func() map[string]bool {
		out := map[string]bool{}
		entries, _ := os.ReadDir(filepath.Join(root, FunctionsDir))
		for _, e := range entries {
			if e.IsDir() {
				out[e.Name()] = true
			}
		}
		return out
	}
	before := dirs()
	unchanged := func(model string) {
		t.Helper()
		for d := range dirs() {
			if !before[d] {
				t.Errorf("%s: the script left functions/%s/", model, d)
			}
		}
		if now, _ := os.ReadFile(filepath.Join(root, EventingDir, "triggers.yaml")); string(now) != string(triggersBefore) {
			t.Errorf("%s: the script left eventing/triggers.yaml changed", model)
		}
	}
	for _, model := range []string{"foo_", "aggregator", "model", "Foo", "a_"} {
		// The model folder exists, so only the name can stop the script.
		dir := filepath.Join(root, "models", model)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"model.yaml", "model.onnx"} {
			if err := os.WriteFile(filepath.Join(dir, f), []byte("name: "+model+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		code, out := run(model, "true")
		if code != 2 {
			t.Errorf("model %q: exit %d, want 2 (rejected before writing)\n%s", model, code, out)
		}
		unchanged(model)
	}
	dir := filepath.Join(root, "models", "newmodel")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"model.yaml", "model.onnx"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("name: newmodel\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out := run("newmodel", "false")
	if code == 0 || !strings.Contains(out, "validation failed") {
		t.Errorf("newmodel with failing validation: exit %d, want a failure that says so\n%s", code, out)
	}
	unchanged("newmodel")
}

// TestKnativeFlagsServerSideApply: k8s/knative patches ConfigMaps that the
// Knative installation owns; a client-side kubectl apply replaces their data
// with ours instead of adding keys, so k8s/ must not include it and every
// documented command applying it must be server-side (#14 break 11).
func TestKnativeFlagsServerSideApply(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "k8s", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources  []string `json:"resources"`
		Components []string `json:"components"`
	}
	if err := yaml.Unmarshal(data, &k); err != nil {
		t.Fatalf("k8s/kustomization.yaml: %v", err)
	}
	for _, r := range append(k.Resources, k.Components...) {
		if strings.Trim(filepath.Clean(r), "./") == "knative" {
			t.Errorf("k8s/kustomization.yaml includes %q: 'kubectl apply -k k8s/' would apply the feature flags client-side", r)
		}
	}
	n := 0
	for _, f := range []string{"README.md", "k8s/knative/kustomization.yaml", "Makefile"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		for i, l := range strings.Split(string(data), "\n") {
			if !strings.Contains(l, "kubectl apply") || !strings.Contains(l, "k8s/knative") {
				continue
			}
			n++
			if !strings.Contains(l, "--server-side") {
				t.Errorf("%s:%d: %q applies k8s/knative without --server-side", f, i+1, strings.TrimSpace(l))
			}
		}
	}
	if n < 2 {
		t.Errorf("found %d commands applying k8s/knative, want at least 2 (README, k8s/knative/kustomization.yaml): update this test", n)
	}
}
