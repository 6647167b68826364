// Package jsonfile writes the JSON files that people read and runs are
// compared by: the run summary (`run --summary-json`), the alerts bench's
// reports (`alerts bench --json`) and the campaigns' ground truth. One writer
// keeps their layout the same: indented by two spaces, ending in a newline.
package jsonfile

import (
	"encoding/json"
	"fmt"
	"os"
)

// Write writes v to path as indented JSON and a newline, replacing the file.
func Write(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// os.WriteFile's error names path already.
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
