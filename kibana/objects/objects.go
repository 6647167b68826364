// Package objects holds the committed Kibana saved objects (the data view,
// the visualizations and the dashboard, as NDJSON) and alerting rules,
// generated from the model registry by
//
//	tweetflow kibana export --models-dir models --out-dir kibana/objects
//
// and embedded so that `tweetflow kibana import` (and the Kubernetes import
// Job) needs no source tree. A test fails when they are out of date.
package objects

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
)

// File names inside this folder.
const (
	SavedObjectsFile = "tweetflow.ndjson"
	RulesFile        = "tweetflow-rules.json"
)

//go:embed tweetflow.ndjson
var savedObjects []byte

//go:embed tweetflow-rules.json
var rules []byte

// SavedObjects returns a copy of the committed saved objects (NDJSON).
func SavedObjects() []byte { return append([]byte(nil), savedObjects...) }

// Rules returns a copy of the committed alerting rules (JSON).
func Rules() []byte { return append([]byte(nil), rules...) }

// WriteDir writes the saved objects (NDJSON) and the rules (JSON) into dir
// under the names above, creating dir (and its parents) when it does not
// exist yet, and returns the two paths.
func WriteDir(dir string, ndjson, rulesJSON []byte) (objectsPath, rulesPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("kibana export: create the output folder: %w", err)
	}
	objectsPath, rulesPath = filepath.Join(dir, SavedObjectsFile), filepath.Join(dir, RulesFile)
	if err := os.WriteFile(objectsPath, ndjson, 0o644); err != nil {
		return "", "", fmt.Errorf("kibana export: %w", err)
	}
	if err := os.WriteFile(rulesPath, rulesJSON, 0o644); err != nil {
		return "", "", fmt.Errorf("kibana export: %w", err)
	}
	return objectsPath, rulesPath, nil
}
