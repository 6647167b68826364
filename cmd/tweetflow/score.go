package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/scorer"
)

// scoreLine is one line of `tweetflow score` output.
type scoreLine struct {
	Model         string             `json:"model"`
	Version       string             `json:"version"`
	Text          string             `json:"text"`
	Label         string             `json:"label"`
	Value         float64            `json:"value"`
	Probabilities map[string]float64 `json:"probabilities"`
}

func newScoreCmd() *cobra.Command {
	var dir, lib string
	cmd := &cobra.Command{
		Use:   "score --model models/<name> [TEXT...]",
		Short: "Score texts (arguments, or stdin lines) and print one JSON line each",
		RunE: func(cmd *cobra.Command, args []string) error {
			m, err := scorer.Load(dir, scorer.Options{LibraryPath: lib})
			if err != nil {
				return err
			}
			defer m.Close()
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetEscapeHTML(false)
			score := func(texts []string) error {
				preds := make([]model.Prediction, len(texts))
				if err := m.Score(cmd.Context(), texts, preds); err != nil {
					return err
				}
				for i, p := range preds {
					probs := make(map[string]float64, len(p.Probs))
					for c, l := range m.Labels() {
						probs[l] = float64(p.Probs[c])
					}
					if err := enc.Encode(scoreLine{m.Name(), m.Version(), texts[i], p.Label, p.Value, probs}); err != nil {
						return err
					}
				}
				return nil
			}
			if len(args) > 0 {
				return score(args)
			}
			return scoreLines(cmd.InOrStdin(), score)
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "model folder (models/<name>)")
	cmd.Flags().StringVar(&lib, "onnxruntime-lib", "", "ONNX Runtime library (default $ONNXRUNTIME_LIB or lib/onnxruntime/)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}

// scoreLines scores stdin in batches of 64 lines, so a long stream starts
// printing at once and memory stays flat.
func scoreLines(r io.Reader, score func([]string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	var batch []string
	line := 0
	for sc.Scan() {
		line++
		batch = append(batch, sc.Text())
		if len(batch) == 64 {
			if err := score(batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stdin line %d: %w", line+1, err)
	}
	if len(batch) > 0 {
		return score(batch)
	}
	return nil
}
