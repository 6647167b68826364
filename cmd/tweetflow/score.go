package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/scorer"
)

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
			if len(args) > 0 {
				return m.ScoreTexts(cmd.Context(), args, cmd.OutOrStdout())
			}
			if err := m.ScoreLines(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout()); err != nil {
				return fmt.Errorf("stdin: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "model", "", "model folder (models/<name>)")
	cmd.Flags().StringVar(&lib, "onnxruntime-lib", "", "ONNX Runtime library (default $ONNXRUNTIME_LIB or lib/onnxruntime/)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}
