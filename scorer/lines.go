package scorer

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/tweetflow/tweetflow/model"
)

// Line is one scored text as `tweetflow score` prints it: a JSON object
// per line.
type Line struct {
	Model         string             `json:"model"`
	Version       string             `json:"version"`
	Text          string             `json:"text"`
	Label         string             `json:"label"`
	Value         float64            `json:"value"`
	Probabilities map[string]float64 `json:"probabilities"`
}

// LineBatch is how many lines ScoreLines scores in one call: a long stream
// starts printing at once and memory stays flat.
const LineBatch = 64

// maxLine bounds one line of ScoreLines' input.
const maxLine = 16 << 20

// ScoreTexts scores texts in one call and writes a Line for each to w, in
// order.
func (m *Model) ScoreTexts(ctx context.Context, texts []string, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return m.writeLines(ctx, texts, enc)
}

// ScoreLines scores each line of r (one text per line) and writes a Line
// for each to w, in order, LineBatch lines per call. A read error names the
// line.
func (m *Model) ScoreLines(ctx context.Context, r io.Reader, w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), maxLine)
	batch := make([]string, 0, LineBatch)
	line := 0
	for sc.Scan() {
		line++
		batch = append(batch, sc.Text())
		if len(batch) == LineBatch {
			if err := m.writeLines(ctx, batch, enc); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	if len(batch) > 0 {
		return m.writeLines(ctx, batch, enc)
	}
	return nil
}

func (m *Model) writeLines(ctx context.Context, texts []string, enc *json.Encoder) error {
	preds := make([]model.Prediction, len(texts))
	if err := m.Score(ctx, texts, preds); err != nil {
		return err
	}
	for i, p := range preds {
		probs := make(map[string]float64, len(p.Probs))
		for c, l := range m.Labels() {
			probs[l] = float64(p.Probs[c])
		}
		if err := enc.Encode(Line{m.Name(), m.Version(), texts[i], p.Label, p.Value, probs}); err != nil {
			return err
		}
	}
	return nil
}
