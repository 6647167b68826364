package train

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
)

// EvalReport is what `tweetflow eval` prints.
type EvalReport struct {
	Model   string `json:"model"`
	Version string `json:"version"`
	Metrics
	// TweetsPerSecond is featurize+score throughput over the file, in
	// batches of EvalBatch, on however many threads the model was loaded with.
	TweetsPerSecond float64 `json:"tweets_per_second"`
}

// EvalBatch is the batch size Eval scores with (the pipeline's micro-batch
// order of magnitude).
const EvalBatch = 64

// Eval scores the label<TAB>text rows of r (named name in errors) with m and
// compares with the labels, which must be m's labels.
func Eval(ctx context.Context, m *scorer.Model, r io.Reader, name string) (*EvalReport, error) {
	ex, err := ParseTSV(r, name, m.Labels())
	if err != nil {
		return nil, err
	}
	if len(ex) == 0 {
		return nil, fmt.Errorf("%s: no rows", name)
	}
	texts := make([]string, len(ex))
	gold := make([]int, len(ex))
	for i, e := range ex {
		texts[i], gold[i] = e.Text, e.Label
	}
	preds := make([]model.Prediction, len(ex))
	start := time.Now()
	for i := 0; i < len(texts); i += EvalBatch {
		j := min(i+EvalBatch, len(texts))
		if err := m.Score(ctx, texts[i:j], preds[i:j]); err != nil {
			return nil, err
		}
	}
	elapsed := time.Since(start)
	pred := make([]int, len(preds))
	for i, p := range preds {
		pred[i] = indexOf(m.Labels(), p.Label)
	}
	return &EvalReport{
		Model: m.Name(), Version: m.Version(),
		Metrics:         Evaluate(m.Labels(), gold, pred),
		TweetsPerSecond: float64(len(ex)) / elapsed.Seconds(),
	}, nil
}
