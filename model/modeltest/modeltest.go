// Package modeltest helps tests that put model folders where a registry or a script reads
// them.
package modeltest

import (
	"os"
	"testing"
)

// CopyFolder copies the model folder src (its files and subfolders, such as a Hugging Face
// export's onnx/) to dst, creating dst, or fails the test. It is os.CopyFS: a file that is
// already in dst, or a symbolic link in src, fails the test rather than being overwritten or
// followed, so a test cannot copy over a folder it meant to start fresh.
func CopyFolder(t testing.TB, src, dst string) {
	t.Helper()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatalf("copying model folder %s: %v", src, err)
	}
}
