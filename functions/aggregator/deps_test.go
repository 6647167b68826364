package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The aggregator never scores, so it must not link ONNX Runtime: func's own
// builders build Go with CGO_ENABLED=0, and onnxruntime_go does not compile
// without cgo. These tests keep an import of the scorer (or of anything
// reaching it) from creeping back into the aggregator's build.

// forbidden are the packages the aggregator's build must not contain.
var forbidden = []string{"github.com/yalue/onnxruntime_go", "github.com/tweetflow/tweetflow/scorer"}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to check the aggregator's imports: %v", err)
	}
	return p
}

// goCmd runs the go command in this folder with CGO_ENABLED=0.
func goCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(goTool(t), args...)
	// -race needs cgo: a GOFLAGS=-race set for the test run must not reach
	// the cgo-free build.
	var flags []string
	for _, f := range strings.Fields(os.Getenv("GOFLAGS")) {
		if f != "-race" {
			flags = append(flags, f)
		}
	}
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="+strings.Join(flags, " "))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		return out.String(), &cmdError{args, err, errb.String()}
	}
	return out.String(), nil
}

type cmdError struct {
	args   []string
	err    error
	stderr string
}

func (e *cmdError) Error() string {
	return "go " + strings.Join(e.args, " ") + ": " + e.err.Error() + "\n" + e.stderr
}

// forbiddenDeps lists, for each forbidden package in pkg's dependencies
// (CGO_ENABLED=0), the packages of the build that import it directly: the
// place to fix.
func forbiddenDeps(t *testing.T, pkg string) map[string][]string {
	t.Helper()
	// -e: with cgo off onnxruntime_go has no Go files to build, which go
	// list reports as an error; the listing is still complete.
	out, err := goCmd(t, "list", "-e", "-deps", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, pkg)
	if err != nil {
		t.Fatal(err)
	}
	found := map[string][]string{}
	for line := range strings.Lines(out) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		for _, imp := range fields[1:] {
			for _, f := range forbidden {
				if imp == f {
					found[f] = append(found[f], fields[0])
				}
			}
		}
	}
	return found
}

func TestAggregatorDepsHaveNoONNXRuntime(t *testing.T) {
	for pkg, importers := range forbiddenDeps(t, ".") {
		t.Errorf("the aggregator's build contains %s, imported by %v: keep model loading out of its imports (use package model for specs)", pkg, importers)
	}
}

// The check itself can fail: the model function does link ONNX Runtime.
func TestForbiddenDepsFindsTheModelFunctionsRuntime(t *testing.T) {
	found := forbiddenDeps(t, "../model")
	if len(found["github.com/yalue/onnxruntime_go"]) == 0 {
		t.Fatalf("forbiddenDeps(../model) = %v, want onnxruntime_go (imported by scorer)", found)
	}
}

func TestAggregatorBuildsWithoutCgo(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "aggregator")
	if _, err := goCmd(t, "build", "-o", bin, "."); err != nil {
		t.Fatalf("CGO_ENABLED=0 build of the aggregator: %v", err)
	}
}
