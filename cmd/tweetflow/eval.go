package main

import (
	"encoding/json"
	"os"

	"github.com/spf13/cobra"

	"github.com/tweetflow/tweetflow/scorer"
	"github.com/tweetflow/tweetflow/train"
)

func newEvalCmd() *cobra.Command {
	var model, data, lib string
	cmd := &cobra.Command{
		Use:   "eval --model models/<name> --data FILE.tsv",
		Short: "Score a label<TAB>text file and print accuracy, macro recall/F1, per-class figures and speed as JSON",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m, err := scorer.Load(model, scorer.Options{LibraryPath: lib})
			if err != nil {
				return err
			}
			defer m.Close()
			f, err := os.Open(data)
			if err != nil {
				return err
			}
			defer f.Close()
			rep, err := train.Eval(cmd.Context(), m, f, data)
			if err != nil {
				return err
			}
			return json.NewEncoder(cmd.OutOrStdout()).Encode(rep)
		},
	}
	cmd.Flags().StringVar(&model, "model", "", "model folder (models/<name>)")
	cmd.Flags().StringVar(&data, "data", "", "label<TAB>text file, labels as in shared/data")
	cmd.Flags().StringVar(&lib, "onnxruntime-lib", "", "ONNX Runtime library (default $ONNXRUNTIME_LIB or lib/onnxruntime/)")
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("data")
	return cmd
}
