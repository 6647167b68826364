package scorer

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/tokenize"
)

// Input names of a Hugging Face text-classification export.
const (
	inputIDs      = "input_ids"
	attentionMask = "attention_mask"
	tokenTypeIDs  = "token_type_ids"
)

// maxBucketRows and maxBucketTokens bound one transformer call: its
// attention is rows x heads x cols^2, so a bucket of long texts holds fewer
// rows. maxPadShare bounds the share of a bucket's cells that are padding:
// padded cells cost as much as real ones (a BERT-base-shaped graph scored a
// batch of 32 tweets padded to the longest at 9 tweets/cpu-s, one at a time
// at 15).
const (
	maxBucketRows   = 64
	maxBucketTokens = 4096
	maxPadShare     = 0.25
)

// transformer scores a KindTransformer folder: its tokenizer.json feeds the
// graph input_ids, attention_mask and (when the graph has it)
// token_type_ids; the output is logits or probabilities per label.
type transformer struct {
	tok        *tokenize.Tokenizer
	maxLen     int
	types      bool // the graph has token_type_ids (fed third)
	activation string
	preprocess string
}

// prepareTransformer loads the tokenizer (once per model) and checks it and
// the graph against each other and the spec.
func prepareTransformer(m *Model) (sessionPlan, error) {
	spec := m.spec
	tok, err := tokenize.LoadDir(spec.TokenizerDir())
	if err != nil {
		return sessionPlan{}, err
	}
	path := spec.ONNXPath()
	info, err := readGraph(path)
	if err != nil {
		return sessionPlan{}, err
	}
	t := &transformer{tok: tok, maxLen: spec.MaxLength, preprocess: spec.Preprocess}
	inputs, err := t.checkInputs(info, spec)
	if err != nil {
		return sessionPlan{}, fmt.Errorf("%s: %w", path, err)
	}
	out, err := pickOutput(info, spec, []string{"logits", "probabilities"})
	if err != nil {
		return sessionPlan{}, fmt.Errorf("%s: %w", path, err)
	}
	t.activation = resolveActivation(spec.Activation, out)
	m.impl = t
	return sessionPlan{path: path, inputs: inputs, outputs: []string{out}}, nil
}

// checkInputs checks that every graph input is one the tokenizer fills, as
// int64 [batch, sequence], and that every id the tokenizer can give indexes
// the word embedding (config.json vocab_size and, where the graph shows it,
// the embedding the input_ids feed). It returns the inputs in feed order.
func (t *transformer) checkInputs(info *GraphInfo, spec *model.Spec) ([]string, error) {
	have := map[string]bool{}
	for _, in := range info.Inputs {
		switch in.Name {
		case inputIDs, attentionMask, tokenTypeIDs:
		default:
			return nil, fmt.Errorf("graph input %q is not one the tokenizer gives (%s, %s, %s)", in.Name, inputIDs, attentionMask, tokenTypeIDs)
		}
		switch {
		case in.ElemType != onnxInt64:
			return nil, fmt.Errorf("graph input %q is %s, want int64", in.Name, elemTypeName(in.ElemType))
		case len(in.Dims) != 2:
			return nil, fmt.Errorf("graph input %q has %d dimensions %v, want [batch, sequence]", in.Name, len(in.Dims), in.Dims)
		case in.Dims[1] >= 0 && in.Dims[1] < int64(t.maxLen):
			return nil, fmt.Errorf("graph input %q has a fixed sequence length %d below max_length %d (export with a dynamic sequence axis)", in.Name, in.Dims[1], t.maxLen)
		}
		have[in.Name] = true
	}
	for _, need := range []string{inputIDs, attentionMask} {
		if !have[need] {
			return nil, fmt.Errorf("graph has no input %q (inputs: %s): not a Hugging Face text-classification export", need, tensorNames(info.Inputs))
		}
	}
	t.types = have[tokenTypeIDs]
	n := t.tok.VocabSize()
	tokPath := filepath.Join(spec.TokenizerDir(), model.TokenizerFile)
	if v := spec.ConfigVocabSize(); v > 0 && n > v {
		return nil, fmt.Errorf("%s gives ids up to %d, but %s vocab_size is %d: not this model's tokenizer",
			tokPath, n-1, filepath.Join(spec.Dir(), model.ConfigFile), v)
	}
	if rows, ok := info.GatherRows[inputIDs]; ok && int64(n) > rows {
		return nil, fmt.Errorf("%s gives ids up to %d, but the graph's word embedding (fed by %s) has %d rows: not this model's tokenizer",
			tokPath, n-1, inputIDs, rows)
	}
	inputs := []string{inputIDs, attentionMask}
	if t.types {
		inputs = append(inputs, tokenTypeIDs)
	}
	return inputs, nil
}

// pickOutput returns the output the spec names or, when it names none, the
// first of prefer that the graph has; it must be float [batch, labels].
func pickOutput(info *GraphInfo, spec *model.Spec, prefer []string) (string, error) {
	find := func(name string) *TensorInfo {
		for i := range info.Outputs {
			if info.Outputs[i].Name == name {
				return &info.Outputs[i]
			}
		}
		return nil
	}
	var out *TensorInfo
	if spec.Output != "" {
		if out = find(spec.Output); out == nil {
			return "", fmt.Errorf("model.yaml field output: graph has no output %q (outputs: %s)", spec.Output, tensorNames(info.Outputs))
		}
	} else {
		for _, p := range prefer {
			if out = find(p); out != nil {
				break
			}
		}
		if out == nil {
			return "", fmt.Errorf("graph has no output named %s (outputs: %s); name the one to read in model.yaml field output",
				strings.Join(prefer, " or "), tensorNames(info.Outputs))
		}
	}
	switch {
	case out.ElemType != onnxFloat:
		return "", fmt.Errorf("output %q is %s, want float", out.Name, elemTypeName(out.ElemType))
	case len(out.Dims) != 2:
		return "", fmt.Errorf("output %q has shape %v, want [batch, %d]", out.Name, out.Dims, len(spec.Labels))
	case out.Dims[1] >= 0 && out.Dims[1] != int64(len(spec.Labels)):
		return "", fmt.Errorf("output %q has %d columns, but the model has %d labels (%s)", out.Name, out.Dims[1], len(spec.Labels), strings.Join(spec.Labels, ", "))
	}
	return out.Name, nil
}

func tensorNames(infos []TensorInfo) string {
	var s []string
	for _, i := range infos {
		s = append(s, fmt.Sprintf("%q", i.Name))
	}
	return strings.Join(s, ", ")
}

// resolveActivation turns the spec's activation into the one applied:
// auto means softmax over an output named logits, none otherwise.
func resolveActivation(a, output string) string {
	if a != model.ActivationAuto {
		return a
	}
	if output == "logits" {
		return model.ActivationSoftmax
	}
	return model.ActivationNone
}

// activate applies the activation to one row of outputs, in place.
func activate(activation string, row []float32) {
	switch activation {
	case model.ActivationSoftmax:
		hi := row[0]
		for _, v := range row[1:] {
			hi = max(hi, v)
		}
		var sum float64
		for i, v := range row {
			e := math.Exp(float64(v - hi))
			row[i] = float32(e)
			sum += e
		}
		for i := range row {
			row[i] = float32(float64(row[i]) / sum)
		}
	case model.ActivationSigmoid:
		for i, v := range row {
			row[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

func (t *transformer) release() {}

// score tokenizes each text once, sorts the batch by length so each ONNX
// Runtime call pads only to the longest text of its bucket, and runs the
// buckets.
func (t *transformer) score(ctx context.Context, m *Model, texts []string, out []model.Prediction) error {
	opt := tokenize.Options{MaxLength: t.maxLen}
	encs := make([]tokenize.Encoding, len(texts))
	order := make([]int, len(texts))
	for i, s := range texts {
		encs[i] = t.tok.Encode(model.PreprocessText(t.preprocess, s), opt)
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(encs[a].IDs), len(encs[b].IDs)) })
	for start := 0; start < len(order); {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := bucketEnd(encs, order, start)
		if err := t.run(m, encs, order[start:end], out); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// bucketEnd returns the end of the bucket that starts at order[start]
// (order sorts encs by length): rows are added while the bucket stays within
// maxBucketRows, maxBucketTokens and maxPadShare.
func bucketEnd(encs []tokenize.Encoding, order []int, start int) int {
	end, real := start+1, len(encs[order[start]].IDs)
	for ; end < len(order) && end-start < maxBucketRows; end++ {
		n := len(encs[order[end]].IDs)
		cells := (end - start + 1) * n // padded to the new longest
		if cells > maxBucketTokens || float64(cells-real-n) > maxPadShare*float64(cells) {
			break
		}
		real += n
	}
	return end
}

// run scores the rows of one bucket (rows are indexes into encs and out;
// the last is the longest).
func (t *transformer) run(m *Model, encs []tokenize.Encoding, rows []int, out []model.Prediction) error {
	n, cols := len(rows), max(1, len(encs[rows[len(rows)-1]].IDs))
	ids := make([]int64, n*cols)
	mask := make([]int64, n*cols)
	var types []int64
	if t.types {
		types = make([]int64, n*cols)
	}
	pad := t.tok.PadID()
	for k, r := range rows {
		e := encs[r]
		row := ids[k*cols : (k+1)*cols]
		copy(row, e.IDs)
		for j := len(e.IDs); j < cols; j++ {
			row[j] = pad
		}
		copy(mask[k*cols:], e.AttentionMask)
		if t.types {
			copy(types[k*cols:], e.TypeIDs)
		}
	}
	shape := ort.NewShape(int64(n), int64(cols))
	var values []ort.Value
	defer func() {
		for _, v := range values {
			_ = v.Destroy()
		}
	}()
	for _, data := range [][]int64{ids, mask, types} {
		if data == nil {
			continue
		}
		tensor, err := ort.NewTensor(shape, data)
		if err != nil {
			return err
		}
		values = append(values, tensor)
	}
	probs := make([]float32, n*m.classes)
	outT, err := ort.NewTensor(ort.NewShape(int64(n), int64(m.classes)), probs)
	if err != nil {
		return err
	}
	values = append(values, outT)
	if err := m.session.Run(values[:len(values)-1], values[len(values)-1:]); err != nil {
		return err
	}
	for k, r := range rows {
		row := probs[k*m.classes : (k+1)*m.classes]
		activate(t.activation, row)
		if err := m.setProbs(&out[r], row); err != nil {
			return err
		}
	}
	return nil
}
