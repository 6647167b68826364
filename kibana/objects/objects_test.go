package objects_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/kibana"
	"github.com/tweetflow/tweetflow/kibana/objects"
	"github.com/tweetflow/tweetflow/model"
)

// TestUpToDate regenerates the saved objects and rules from the model
// registry (../../models) with the export defaults and compares them with the
// committed files. On failure: go run ./cmd/tweetflow kibana export --out-dir kibana/objects
func TestUpToDate(t *testing.T) {
	specs, err := model.Select("../../models", nil)
	if err != nil {
		t.Fatal(err)
	}
	o, err := kibana.FromViews(model.Views(specs), elastic.DefaultIndex, nil)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kibana.SavedObjects(o)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(kibana.NDJSON(objs), objects.SavedObjects()) {
		t.Errorf("%s is out of date: run go run ./cmd/tweetflow kibana export --out-dir kibana/objects", objects.SavedObjectsFile)
	}
	if !bytes.Equal(kibana.RulesJSON(kibana.Rules(o)), objects.Rules()) {
		t.Errorf("%s is out of date: run go run ./cmd/tweetflow kibana export --out-dir kibana/objects", objects.RulesFile)
	}
	// The committed file passes the structural check against the mapping
	// generated from the same registry.
	fields, err := elastic.MappedFields(model.Views(specs))
	if err != nil {
		t.Fatal(err)
	}
	if err := kibana.Check(objects.SavedObjects(), fields); err != nil {
		t.Error(err)
	}
	rules, err := kibana.ParseRules(objects.Rules())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if f, ok := r.Params["aggField"].(string); ok && fields[f] == "" {
			t.Errorf("rule %q: aggField %q not in the mapping", r.Name, f)
		}
	}
	if len(rules) < 3 {
		t.Errorf("%d rules, want at least rate, sentiment and offense", len(rules))
	}
}

// TestWriteDirCreatesTheFolder: `tweetflow kibana export --out-dir DIR`
// writes into a DIR that does not exist yet (#14 break 11), and a DIR that
// cannot be created is an error naming it.
func TestWriteDirCreatesTheFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "deeper")
	op, rp, err := objects.WriteDir(dir, []byte("{}\n"), []byte("[]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{op: "{}\n", rp: "[]\n"} {
		got, err := os.ReadFile(path)
		if err != nil || string(got) != want {
			t.Errorf("%s: %q, %v; want %q", path, got, err, want)
		}
	}
	if filepath.Dir(op) != dir || filepath.Base(op) != objects.SavedObjectsFile || filepath.Base(rp) != objects.RulesFile {
		t.Errorf("paths %s, %s", op, rp)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := objects.WriteDir(filepath.Join(file, "sub"), nil, nil); err == nil || !strings.Contains(err.Error(), "a-file") {
		t.Errorf("WriteDir under a file: %v, want an error naming the path", err)
	}
}
