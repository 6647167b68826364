package featurize_test

import (
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/featurize"
)

// loadSpecParams reads featurizer.params from a model folder's model.yaml
// (without importing scorer, which needs ONNX Runtime).
func loadSpecParams(tb testing.TB, dir string) featurize.Config {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "model.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	var spec struct {
		Featurizer struct {
			Params map[string]any `json:"params"`
		} `json:"featurizer"`
	}
	if err := yaml.Unmarshal(b, &spec); err != nil {
		tb.Fatal(err)
	}
	c, err := featurize.ConfigFromParams(spec.Featurizer.Params)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
