package scorer

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tweetflow/tweetflow/featurize"
	"github.com/tweetflow/tweetflow/model"
)

// hashed scores a KindHashed model: tweetflow's featurizer feeds the
// graph's ids and weights.
type hashed struct {
	fz *featurize.Featurizer
	// free holds idle scratches. Not a sync.Pool: a scratch owns ONNX
	// Runtime tensors (C memory) that must be released, never dropped by GC.
	freeMu sync.Mutex
	free   []*scratch
}

// scratch is one Score call's reusable buffers.
type scratch struct {
	fs   featurize.Scratch
	idx  []int64
	val  []float32
	off  []int
	rows []int // the chunk's rows in run order
	// Padded tensor data and the tensors over it, kept while the next call
	// has the same shape (batch-1 scoring mostly does, widths being rounded
	// up): creating and destroying three tensors per call is a measurable
	// part of a 20 µs call.
	pidx     []int64
	pval     []float32
	out      []float32
	n, width int
	tiIdx    *ort.Tensor[int64]
	tv, to   *ort.Tensor[float32]
	inputs   [2]ort.Value
	outputs  [1]ort.Value
}

// maxFree bounds the idle scratches kept (each is a few tens of KB).
const maxFree = 64

func (s *scratch) destroyTensors() {
	if s.tiIdx != nil {
		_ = s.tiIdx.Destroy()
		_ = s.tv.Destroy()
		_ = s.to.Destroy()
		s.tiIdx, s.tv, s.to = nil, nil, nil
	}
	s.n, s.width = 0, 0
}

// tensors returns input and output tensors of shape [n, width] and
// [n, classes], reusing the previous ones when the shape is unchanged.
func (s *scratch) tensors(n, width, classes int) error {
	if s.tiIdx != nil && s.n == n && s.width == width {
		return nil
	}
	s.destroyTensors()
	cells := n * width
	// The old tensors are gone, so their memory can back the new ones.
	s.pidx = grow(s.pidx, cells)
	s.pval = grow(s.pval, cells)
	s.out = grow(s.out, n*classes)
	shape := ort.NewShape(int64(n), int64(width))
	ti, err := ort.NewTensor(shape, s.pidx)
	if err != nil {
		return err
	}
	tv, err := ort.NewTensor(shape, s.pval)
	if err != nil {
		_ = ti.Destroy()
		return err
	}
	to, err := ort.NewTensor(ort.NewShape(int64(n), int64(classes)), s.out)
	if err != nil {
		_ = ti.Destroy()
		_ = tv.Destroy()
		return err
	}
	s.tiIdx, s.tv, s.to, s.n, s.width = ti, tv, to, n, width
	s.inputs = [2]ort.Value{ti, tv}
	s.outputs = [1]ort.Value{to}
	return nil
}

func (h *hashed) getScratch() *scratch {
	h.freeMu.Lock()
	defer h.freeMu.Unlock()
	if n := len(h.free); n > 0 {
		s := h.free[n-1]
		h.free = h.free[:n-1]
		return s
	}
	return &scratch{}
}

func (h *hashed) putScratch(s *scratch) {
	h.freeMu.Lock()
	defer h.freeMu.Unlock()
	if len(h.free) < maxFree {
		h.free = append(h.free, s)
		return
	}
	s.destroyTensors()
}

func (h *hashed) release() {
	h.freeMu.Lock()
	defer h.freeMu.Unlock()
	for _, s := range h.free {
		s.destroyTensors()
	}
	h.free = nil
}

// prepareHashed checks a hashed model's featurizer and graph against its
// spec.
func prepareHashed(m *Model) (sessionPlan, error) {
	spec, dir := m.spec, m.dir
	specPath := filepath.Join(dir, model.SpecFile)
	if spec.Featurizer.Name != featurize.Name {
		return sessionPlan{}, fmt.Errorf("%s: field featurizer.name: %q is not a featurizer this build has (want %q)", specPath, spec.Featurizer.Name, featurize.Name)
	}
	cfg, err := featurize.ConfigFromParams(spec.Featurizer.Params)
	if err != nil {
		return sessionPlan{}, fmt.Errorf("%s: %w", specPath, err)
	}
	fz, err := featurize.New(cfg, dir)
	if err != nil {
		return sessionPlan{}, fmt.Errorf("%s: featurizer: %w", specPath, err)
	}
	onnxPath := filepath.Join(dir, model.ModelFile)
	info, err := readGraph(onnxPath)
	if err != nil {
		return sessionPlan{}, err
	}
	if err := checkGraph(spec, info); err != nil {
		return sessionPlan{}, fmt.Errorf("%s: %w", onnxPath, err)
	}
	if err := checkMetadata(info.Metadata, cfg); err != nil {
		return sessionPlan{}, fmt.Errorf("%s: %w", onnxPath, err)
	}
	m.impl = &hashed{fz: fz}
	return sessionPlan{path: onnxPath,
		inputs: []string{spec.Inputs.Indices, spec.Inputs.Values}, outputs: []string{spec.Output}}, nil
}

// checkGraph compares the ONNX inputs and output with the spec.
func checkGraph(spec *model.Spec, info *GraphInfo) error {
	names := func(infos []TensorInfo) string {
		var s []string
		for _, i := range infos {
			s = append(s, strconv.Quote(i.Name))
		}
		return strings.Join(s, ", ")
	}
	find := func(infos []TensorInfo, name string) *TensorInfo {
		for i := range infos {
			if infos[i].Name == name {
				return &infos[i]
			}
		}
		return nil
	}
	ins, outs := info.Inputs, info.Outputs
	if len(ins) != 2 {
		return fmt.Errorf("graph has %d inputs (%s), the spec's inputs.indices and inputs.values need exactly 2", len(ins), names(ins))
	}
	for _, want := range []struct {
		field, name string
		typ         int
	}{
		{"inputs.indices", spec.Inputs.Indices, onnxInt64},
		{"inputs.values", spec.Inputs.Values, onnxFloat},
	} {
		in := find(ins, want.name)
		switch {
		case in == nil:
			return fmt.Errorf("model.yaml field %s: graph has no input %q (inputs: %s)", want.field, want.name, names(ins))
		case in.ElemType != want.typ:
			return fmt.Errorf("model.yaml field %s: input %q is %s, want %s", want.field, want.name, elemTypeName(in.ElemType), elemTypeName(want.typ))
		case len(in.Dims) != 2:
			return fmt.Errorf("model.yaml field %s: input %q has %d dimensions %v, want [batch, features]", want.field, want.name, len(in.Dims), in.Dims)
		}
	}
	out := find(outs, spec.Output)
	switch {
	case out == nil:
		return fmt.Errorf("model.yaml field output: graph has no output %q (outputs: %s)", spec.Output, names(outs))
	case out.ElemType != onnxFloat:
		return fmt.Errorf("model.yaml field output: output %q is %s, want float", spec.Output, elemTypeName(out.ElemType))
	case len(out.Dims) != 2 || out.Dims[1] != int64(len(spec.Labels)):
		return fmt.Errorf("model.yaml field labels: output %q has shape %v, want [batch, %d] for %d labels",
			spec.Output, out.Dims, len(spec.Labels), len(spec.Labels))
	}
	return nil
}

// checkMetadata compares the featurizer recorded in the ONNX file, when there
// is one, with the spec's: a table trained with other hashing would score
// nonsense without any error.
func checkMetadata(md map[string]string, cfg featurize.Config) error {
	if b, ok := md[MetaBuckets]; ok && b != strconv.Itoa(cfg.Buckets) {
		return fmt.Errorf("metadata %s is %s but model.yaml featurizer.params.buckets is %d", MetaBuckets, b, cfg.Buckets)
	}
	if f, ok := md[MetaFeaturizer]; ok {
		if want := FeaturizerFingerprint(cfg); f != want {
			return fmt.Errorf("metadata %s is %q but model.yaml's featurizer is %q: retrain, or restore the matching model.yaml", MetaFeaturizer, f, want)
		}
	}
	return nil
}

// FeaturizerFingerprint is the featurizer identity the trainer records in
// model.onnx: its name and parameters as canonical JSON (zero-valued optional
// parameters are omitted, so adding one keeps old fingerprints valid).
func FeaturizerFingerprint(cfg featurize.Config) string {
	b, _ := json.Marshal(cfg) // plain fields: cannot fail
	return featurize.Name + " " + string(b)
}

// score featurizes texts and scores them in chunks of bounded size.
func (h *hashed) score(ctx context.Context, m *Model, texts []string, out []model.Prediction) error {
	s := h.getScratch()
	defer h.putScratch(s)
	for start := 0; start < len(texts); {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Featurize rows until the chunk is full.
		s.idx, s.val, s.off = s.idx[:0], s.val[:0], append(s.off[:0], 0)
		width := 1 // widest row so far
		end := start
		for end < len(texts) && end-start < maxChunkRows {
			before := len(s.idx)
			s.idx, s.val = h.fz.Featurize(&s.fs, texts[end], s.idx, s.val)
			w := len(s.idx) - before
			if end > start && max(width, w)*(end-start+1) > maxChunkCells {
				s.idx, s.val = s.idx[:before], s.val[:before] // next chunk
				break
			}
			width = max(width, w)
			s.off = append(s.off, len(s.idx))
			end++
		}
		n := end - start
		s.rows = s.rows[:0]
		for r := range n {
			s.rows = append(s.rows, r)
		}
		if err := h.run(m, s, s.rows, width, out[start:end]); err != nil {
			return err
		}
		start = end
	}
	return nil
}

// widthQuantum rounds the padded width up, so consecutive calls often share
// a shape and reuse their tensors; padding costs little (weight 0).
const widthQuantum = 32

// run pads the given rows of the chunk into [len(rows), width] tensors, runs
// the session and fills out[row] for each.
func (h *hashed) run(m *Model, s *scratch, rows []int, width int, out []model.Prediction) error {
	n := len(rows)
	width = (width + widthQuantum - 1) / widthQuantum * widthQuantum
	if err := s.tensors(n, width, m.classes); err != nil {
		return err
	}
	for k, r := range rows {
		row := s.off[r+1] - s.off[r]
		copy(s.pidx[k*width:], s.idx[s.off[r]:s.off[r+1]])
		copy(s.pval[k*width:], s.val[s.off[r]:s.off[r+1]])
		clear(s.pidx[k*width+row : (k+1)*width])
		clear(s.pval[k*width+row : (k+1)*width])
	}
	if err := m.session.Run(s.inputs[:], s.outputs[:]); err != nil {
		return err
	}
	for k, r := range rows {
		if err := m.setProbs(&out[r], s.out[k*m.classes:(k+1)*m.classes]); err != nil {
			return err
		}
	}
	return nil
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}
