// Package objects holds the committed Kibana saved objects (the data view,
// the visualizations and the dashboard, as NDJSON) and alerting rules,
// generated from the model registry by
//
//	tweetflow kibana export --models-dir models --out-dir kibana/objects
//
// and embedded so that `tweetflow kibana import` (and the Kubernetes import
// Job) needs no source tree. A test fails when they are out of date.
package objects

import _ "embed"

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
