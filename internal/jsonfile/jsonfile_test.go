package jsonfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.json")
	// The second Write replaces the first, longer file whole.
	if err := Write(path, map[string]string{"old": strings.Repeat("x", 100)}); err != nil {
		t.Fatal(err)
	}
	v := struct {
		N    int      `json:"n"`
		Tags []string `json:"tags"`
	}{3, []string{"a"}}
	if err := Write(path, v); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "{\n  \"n\": 3,\n  \"tags\": [\n    \"a\"\n  ]\n}\n"; string(got) != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

// A value JSON cannot hold, and a folder that does not exist, fail naming
// the file.
func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	if err := Write(bad, map[string]any{"c": make(chan int)}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("a channel: %v, want an error naming %s", err, bad)
	}
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Errorf("the failed marshal left a file: %v", err)
	}
	missing := filepath.Join(dir, "no", "such", "r.json")
	if err := Write(missing, 1); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("a missing folder: %v, want an error naming %s", err, missing)
	}
}
