package main

import (
	"encoding/json"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/scorer"
	"github.com/tweetflow/tweetflow/train"
)

func newTrainCmd() *cobra.Command {
	var model, dataDir, out, lib string
	cmd := &cobra.Command{
		Use:   "train --model sentiment|offense",
		Short: "Train a model from shared/data and write its folder (model.onnx, model.yaml, MODEL_CARD.md)",
		Long: "Train a model from shared/data-style TSV files. Seeded and single-threaded: a rerun writes the\n" +
			"same model.onnx and reports the same validation metrics, measured through ONNX Runtime.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			r, err := train.LookupRecipe(model)
			if err != nil {
				return err
			}
			if out == "" {
				out = filepath.Join("models", r.Name)
			}
			command := "tweetflow train --model " + r.Name
			if dataDir != "../shared/data" {
				command += " --data-dir " + dataDir
			}
			if out != filepath.Join("models", r.Name) {
				command += " --out " + out
			}
			rep, err := train.Run(cmd.Context(), train.Options{
				Recipe: r, DataDir: dataDir, Out: out, Command: command,
				Scorer: scorer.Options{LibraryPath: lib}, Log: cmd.ErrOrStderr(),
			})
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			return enc.Encode(rep)
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model to train: "+strings.Join(train.RecipeNames(), ", "))
	cmd.Flags().StringVar(&dataDir, "data-dir", "../shared/data", "shared/data folder (train/val TSVs and lexicons)")
	cmd.Flags().StringVar(&out, "out", "", "model folder to write (default models/<model>)")
	cmd.Flags().StringVar(&lib, "onnxruntime-lib", "", "ONNX Runtime library (default $ONNXRUNTIME_LIB or lib/onnxruntime/)")
	_ = cmd.MarkFlagRequired("model")
	return cmd
}
