package model_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/tweetflow/tweetflow/model"
)

// FuzzParseSpec: any bytes give a spec or an error, never a panic; a spec
// that parses passes Check, and its Deriver handles any probabilities of
// the right length.
func FuzzParseSpec(f *testing.F) {
	for _, dir := range []string{"../models/sentiment", "../models/offense"} {
		b, err := os.ReadFile(filepath.Join(dir, model.SpecFile))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(append(b, "deploy:\n  memory_request: 512Mi\n  memory_limit: 1Gi\n  scale_target: 4\n  container_concurrency: 16\n"...))
	}
	f.Add([]byte("name: x\nversion: 1\nkind: transformer\n"))
	f.Add([]byte("name: x\nversion: 1\nkind: transformer\ndeploy:\n  memory_request: 512Mi\n  memory_limit: 1Gi\n  scale_target: 4\n  container_concurrency: 16\n"))
	f.Add([]byte("deploy: {memory_request: 99999999999Gi, scale_target: -1}\n"))
	f.Add([]byte("name: [oops\n"))
	f.Add([]byte("{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := model.ParseSpec(b)
		if err != nil {
			return
		}
		if err := s.Check(); err != nil {
			t.Fatalf("ParseSpec accepted a spec Check refuses: %v", err)
		}
		probs := make([]float32, len(s.Labels))
		for i := range probs {
			probs[i] = 1 / float32(len(probs))
		}
		p := model.Prediction{Probs: probs}
		if err := model.NewDeriver(s).Derive(&p); err != nil {
			t.Fatalf("Derive of a checked spec: %v", err)
		}
		_ = model.ViewOf(s)
	})
}
