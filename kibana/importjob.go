package kibana

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/tweetflow/tweetflow/kibana/objects"
)

// ImportJob is one `tweetflow kibana import`: what to import (Generate's
// output when Generate is set, else the files in Dir when it is set, else
// the committed objects built into the binary), whether to leave the rules
// out, and what to do first (EnsureIndex: the index template and mapping;
// nil for nothing).
type ImportJob struct {
	Generate    *GenerateOptions
	Dir         string
	NoRules     bool
	EnsureIndex func(ctx context.Context) error
	// Out is told each step's result (nil: nothing).
	Out io.Writer
}

// Import runs j against c: the objects are read or generated and the rules
// parsed before anything is sent, then EnsureIndex, the saved objects, and
// the rules.
func (c *Client) ImportJob(ctx context.Context, j ImportJob) error {
	out := j.Out
	if out == nil {
		out = io.Discard
	}
	nd, rulesJSON, err := j.bundle()
	if err != nil {
		return err
	}
	rules, err := ParseRules(rulesJSON)
	if err != nil {
		return err
	}
	if j.EnsureIndex != nil {
		if err := j.EnsureIndex(ctx); err != nil {
			return err
		}
	}
	res, err := c.Import(ctx, nd)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "imported %d saved objects\n", res.SuccessCount)
	if j.NoRules {
		return nil
	}
	if err := c.PutRules(ctx, rules); err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "created or updated %d alerting rules\n", len(rules))
	return err
}

// bundle is the job's saved objects (NDJSON) and rules (JSON).
func (j ImportJob) bundle() (nd, rulesJSON []byte, err error) {
	switch {
	case j.Generate != nil:
		nd, rules, err := Generate(*j.Generate)
		if err != nil {
			return nil, nil, err
		}
		return nd, RulesJSON(rules), nil
	case j.Dir != "":
		if nd, err = os.ReadFile(filepath.Join(j.Dir, objects.SavedObjectsFile)); err != nil {
			return nil, nil, err
		}
		if rulesJSON, err = os.ReadFile(filepath.Join(j.Dir, objects.RulesFile)); err != nil {
			return nil, nil, err
		}
		return nd, rulesJSON, nil
	}
	return objects.SavedObjects(), objects.Rules(), nil
}
