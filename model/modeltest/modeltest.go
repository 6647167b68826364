// Package modeltest helps tests that put model folders where a registry or a script reads
// them.
package modeltest

import (
	"os"
	"path/filepath"
	"testing"
)

// CopyFolder copies the model folder src (its files and subfolders, such as a Hugging Face
// export's onnx/) to dst, creating dst, or fails the test.
func CopyFolder(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatalf("copying model folder %s: %v", src, err)
	}
}
