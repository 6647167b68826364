package scorer

import (
	"context"
	"fmt"
	"strings"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tweetflow/tweetflow/model"
)

// text scores a KindText model: a graph whose input is the texts
// themselves, a string tensor [batch] (or [batch, 1], as skl2onnx may
// declare it).
type text struct {
	column     bool // the input is [batch, 1]
	activation string
	preprocess string
}

func prepareText(m *Model) (sessionPlan, error) {
	spec := m.spec
	path := spec.ONNXPath()
	info, err := readGraph(path)
	if err != nil {
		return sessionPlan{}, err
	}
	if len(info.Inputs) != 1 {
		return sessionPlan{}, fmt.Errorf("%s: graph has %d inputs (%s), a text model takes exactly one, the texts", path, len(info.Inputs), tensorNames(info.Inputs))
	}
	in := info.Inputs[0]
	switch {
	case in.Name != spec.Inputs.Text:
		return sessionPlan{}, fmt.Errorf("%s: model.yaml field inputs.text: graph has no input %q (inputs: %s)", path, spec.Inputs.Text, tensorNames(info.Inputs))
	case in.ElemType != onnxString:
		return sessionPlan{}, fmt.Errorf("%s: model.yaml field inputs.text: input %q is %s, want string", path, in.Name, elemTypeName(in.ElemType))
	case len(in.Dims) != 1 && (len(in.Dims) != 2 || in.Dims[1] != 1):
		return sessionPlan{}, fmt.Errorf("%s: model.yaml field inputs.text: input %q has shape %v, want [batch] or [batch, 1]", path, in.Name, in.Dims)
	}
	out, err := pickOutput(info, spec, nil)
	if err != nil {
		return sessionPlan{}, fmt.Errorf("%s: %w", path, err)
	}
	m.impl = &text{column: len(in.Dims) == 2, activation: resolveActivation(spec.Activation, out), preprocess: spec.Preprocess}
	return sessionPlan{path: path, inputs: []string{in.Name}, outputs: []string{out}}, nil
}

func (*text) release() {}

// cleanText makes a text safe to hand to ONNX Runtime as a C string: NUL
// would end it early (the rest of the text silently dropped), and string
// ops such as StringNormalizer fail the whole call on invalid UTF-8.
func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", " ")
	}
	return s
}

func (t *text) score(ctx context.Context, m *Model, texts []string, out []model.Prediction) error {
	clean := make([]string, len(texts))
	for i, s := range texts {
		clean[i] = cleanText(model.PreprocessText(t.preprocess, s))
	}
	for start := 0; start < len(clean); start += maxChunkRows {
		if err := ctx.Err(); err != nil {
			return err
		}
		end := min(start+maxChunkRows, len(clean))
		if err := t.run(m, clean[start:end], out[start:end]); err != nil {
			return err
		}
	}
	return nil
}

func (t *text) run(m *Model, texts []string, out []model.Prediction) error {
	n := int64(len(texts))
	shape := ort.NewShape(n)
	if t.column {
		shape = ort.NewShape(n, 1)
	}
	in, err := ort.NewStringTensor(shape)
	if err != nil {
		return err
	}
	defer in.Destroy()
	if err := in.SetContents(texts); err != nil {
		return err
	}
	probs := make([]float32, len(texts)*m.classes)
	o, err := ort.NewTensor(ort.NewShape(n, int64(m.classes)), probs)
	if err != nil {
		return err
	}
	defer o.Destroy()
	if err := m.session.Run([]ort.Value{in}, []ort.Value{o}); err != nil {
		return err
	}
	for k := range texts {
		row := probs[k*m.classes : (k+1)*m.classes]
		activate(t.activation, row)
		if err := m.setProbs(&out[k], row); err != nil {
			return err
		}
	}
	return nil
}
