package validate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/tweetflow/tweetflow/internal/jsonpointer"
)

// KubeconformVersion is the version `make kubeconform` installs and the schemas in
// k8s/schemas were checked with.
const KubeconformVersion = "v0.8.0"

// FindKubeconform returns the kubeconform binary to use: $KUBECONFORM (the Makefile exports
// it), else <root>/bin/kubeconform-<version> (where `make kubeconform` installs it), else
// kubeconform on PATH.
func FindKubeconform(root string) (string, error) {
	if p := os.Getenv("KUBECONFORM"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("KUBECONFORM=%s: %w", p, err)
		}
		return p, nil
	}
	local := filepath.Join(root, "bin", "kubeconform-"+KubeconformVersion)
	if _, err := os.Stat(local); err == nil {
		return local, nil
	}
	if p, err := exec.LookPath("kubeconform"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("kubeconform not found (not in $KUBECONFORM, %s or PATH): run `make kubeconform`, which runs `go install github.com/yannh/kubeconform/cmd/kubeconform@%s`", local, KubeconformVersion)
}

// kubeconformResult is the part of `kubeconform -output json` that is read here.
type kubeconformResult struct {
	Resources []struct {
		Filename         string `json:"filename"`
		Kind             string `json:"kind"`
		Name             string `json:"name"`
		Version          string `json:"version"`
		Status           string `json:"status"`
		Msg              string `json:"msg"`
		ValidationErrors []struct {
			Path string `json:"path"`
			Msg  string `json:"msg"`
		} `json:"validationErrors"`
	} `json:"resources"`
}

// Kubeconform validates files with kubeconform against the strict schemas in schemaDir
// (file names {{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json). A resource whose kind has
// no schema is a problem too (no -ignore-missing-schemas: it would also hide a schema that
// fails to compile). docs maps each file's documents, so problems carry the document's line.
// Paths in problems are made relative to root.
func Kubeconform(ctx context.Context, bin, root, schemaDir string, files []string, docs []Document) ([]Problem, error) {
	if len(files) == 0 {
		return nil, nil
	}
	args := []string{
		"-strict", "-output", "json",
		"-schema-location", filepath.Join(schemaDir, "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"),
		"-ignore-filename-pattern", `kustomization\.ya?ml$`,
	}
	args = append(args, files...)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var res kubeconformResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return nil, fmt.Errorf("kubeconform: unreadable output (%v; run error %v): %s %s", err, runErr, stdout.String(), stderr.String())
	}
	var out []Problem
	for _, r := range res.Resources {
		if r.Status == "statusValid" || r.Status == "statusSkipped" {
			continue
		}
		rel := relTo(root, r.Filename)
		p := Problem{File: rel, Object: strings.TrimSpace(r.Kind + " " + r.Name)}
		p.Line = lineOf(docs, rel, r.Kind, r.Name)
		if len(r.ValidationErrors) == 0 {
			p.Msg = "kubeconform: " + r.Msg
			out = append(out, p)
			continue
		}
		for _, ve := range r.ValidationErrors {
			q := p
			q.Field = jsonpointer.Dotted(ve.Path)
			q.Msg = ve.Msg
			out = append(out, q)
		}
	}
	var exitErr *exec.ExitError
	if runErr != nil && !errors.As(runErr, &exitErr) {
		return out, fmt.Errorf("kubeconform: %w: %s", runErr, stderr.String())
	}
	if runErr != nil && len(out) == 0 {
		return nil, fmt.Errorf("kubeconform failed without naming a resource: %v: %s", runErr, stderr.String())
	}
	return out, nil
}

func relTo(root, file string) string {
	if rel, err := filepath.Rel(root, file); err == nil && !strings.HasPrefix(rel, "..") {
		return filepath.ToSlash(rel)
	}
	return file
}

func lineOf(docs []Document, file, kind, name string) int {
	for _, d := range docs {
		if d.File == file && d.Kind == kind && d.Name == name {
			return d.Line
		}
	}
	return 0
}
