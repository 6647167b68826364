// Package scorer is tweetflow's ONNX Runtime binding: it loads a model
// folder's model.onnx for a spec read by package model, checks the graph
// against the spec, and scores batches of texts in one ONNX Runtime call.
// It is the only package that links ONNX Runtime (cgo); everything that
// only needs to know which models exist reads package model instead.
package scorer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tweetflow/tweetflow/featurize"
	"github.com/tweetflow/tweetflow/model"
)

// Options for loading models.
type Options struct {
	// LibraryPath overrides where the ONNX Runtime library is; empty means
	// $ONNXRUNTIME_LIB, else lib/onnxruntime/ found relative to the
	// executable or by walking up from the working directory.
	LibraryPath string
	// IntraOpThreads is ONNX Runtime's intra-op thread count (default 1: the
	// pipeline scales by running more scorers, not wider ones).
	IntraOpThreads int
}

// Metadata keys written into model.onnx by the trainer and checked at load.
const (
	MetaFeaturizer = "tweetflow.featurizer"
	MetaBuckets    = "tweetflow.buckets"
)

// maxChunkRows and maxChunkCells bound one ONNX Runtime call: a huge batch
// (or one with a very long text, which widens every row) is split so the
// padded [rows, features] inputs stay small.
const (
	maxChunkRows  = 512
	maxChunkCells = 1 << 20
)

// Model is one loaded model. It is safe for concurrent use by many
// goroutines; Close releases the session.
type Model struct {
	dir     string
	spec    *model.Spec
	fz      *featurize.Featurizer
	session *ort.DynamicAdvancedSession
	classes int
	deriver model.Deriver
	// free holds idle scratches. Not a sync.Pool: a scratch owns ONNX
	// Runtime tensors (C memory) that must be released, never dropped by GC.
	freeMu sync.Mutex
	free   []*scratch
	once   sync.Once
	mu     sync.RWMutex // guards session against Close during Score
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

func (m *Model) getScratch() *scratch {
	m.freeMu.Lock()
	defer m.freeMu.Unlock()
	if n := len(m.free); n > 0 {
		s := m.free[n-1]
		m.free = m.free[:n-1]
		return s
	}
	return &scratch{}
}

func (m *Model) putScratch(s *scratch) {
	m.freeMu.Lock()
	defer m.freeMu.Unlock()
	if len(m.free) < maxFree {
		m.free = append(m.free, s)
		return
	}
	s.destroyTensors()
}

// Load opens dir (model.yaml + model.onnx), checks the ONNX graph's inputs and
// output against the spec and starts an ONNX Runtime session. Errors name the
// file and the field at fault.
func Load(dir string, opts Options) (*Model, error) {
	spec, err := model.LoadSpec(dir)
	if err != nil {
		return nil, err
	}
	return LoadSpec(spec, opts)
}

// LoadSpec loads the model of a spec read from its folder (model.LoadSpec,
// or a model.Registry's).
func LoadSpec(spec *model.Spec, opts Options) (*Model, error) {
	dir := spec.Dir()
	if dir == "" {
		return nil, fmt.Errorf("model %s: spec has no folder (read it with model.LoadSpec or model.Open)", spec.Name)
	}
	specPath := filepath.Join(dir, model.SpecFile)
	if k := spec.ModelKind(); k != model.KindHashed {
		return nil, fmt.Errorf("%s: field kind: %q models are not scored by this build (want %s)", specPath, k, model.KindHashed)
	}
	if spec.Featurizer.Name != featurize.Name {
		return nil, fmt.Errorf("%s: field featurizer.name: %q is not a featurizer this build has (want %q)", specPath, spec.Featurizer.Name, featurize.Name)
	}
	cfg, err := featurize.ConfigFromParams(spec.Featurizer.Params)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", specPath, err)
	}
	fz, err := featurize.New(cfg, dir)
	if err != nil {
		return nil, fmt.Errorf("%s: featurizer: %w", specPath, err)
	}
	onnxPath := filepath.Join(dir, model.ModelFile)
	if _, err := os.Stat(onnxPath); err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	lib, err := FindLibrary(opts.LibraryPath)
	if err != nil {
		return nil, err
	}
	if err := ortRuntime.acquire(lib); err != nil {
		return nil, err
	}
	m := &Model{dir: dir, spec: spec, fz: fz, classes: len(spec.Labels), deriver: model.NewDeriver(spec)}
	if err := m.open(onnxPath, opts, cfg); err != nil {
		_ = ortRuntime.release()
		return nil, err
	}
	return m, nil
}

func (m *Model) open(onnxPath string, opts Options, cfg featurize.Config) error {
	data, err := os.ReadFile(onnxPath)
	if err != nil {
		return fmt.Errorf("model file: %w", err)
	}
	info, err := ReadGraphInfo(data)
	if err != nil {
		return fmt.Errorf("%s: not a valid ONNX model: %w", onnxPath, err)
	}
	if err := checkGraph(m.spec, info); err != nil {
		return fmt.Errorf("%s: %w", onnxPath, err)
	}
	if err := checkMetadata(info.Metadata, cfg); err != nil {
		return fmt.Errorf("%s: %w", onnxPath, err)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	threads := opts.IntraOpThreads
	if threads <= 0 {
		threads = 1
	}
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return fmt.Errorf("session options: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return fmt.Errorf("session options: %w", err)
	}
	// Spinning threads would burn the cores the rest of the pipeline needs.
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return fmt.Errorf("session options: %w", err)
	}
	m.session, err = ort.NewDynamicAdvancedSessionWithONNXData(data,
		[]string{m.spec.Inputs.Indices, m.spec.Inputs.Values}, []string{m.spec.Output}, so)
	if err != nil {
		return fmt.Errorf("%s: creating ONNX Runtime session: %w", onnxPath, err)
	}
	return nil
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

// Spec returns the model's spec; callers must not modify it.
func (m *Model) Spec() *model.Spec { return m.spec }

// Name is the model name.
func (m *Model) Name() string { return m.spec.Name }

// Version is the model version.
func (m *Model) Version() string { return m.spec.Version }

// Labels are the labels in output order; callers must not modify them.
func (m *Model) Labels() []string { return m.spec.Labels }

// Dir is the model folder.
func (m *Model) Dir() string { return m.dir }

// ErrClosed is returned by Score after Close.
var ErrClosed = errors.New("scorer: model closed")

// Score featurizes and scores texts in one ONNX Runtime call (several if the
// batch is huge); out must have len(texts). Any text is accepted: empty,
// huge, invalid UTF-8 or control characters all get a valid prediction.
// out[i].Probs is reused when it has room, so a caller that keeps out across
// calls allocates nothing per text.
func (m *Model) Score(ctx context.Context, texts []string, out []model.Prediction) error {
	if len(out) != len(texts) {
		return fmt.Errorf("scorer %s: out has %d slots for %d texts", m.spec.Name, len(out), len(texts))
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return ErrClosed
	}
	s := m.getScratch()
	defer m.putScratch(s)
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
			s.idx, s.val = m.fz.Featurize(&s.fs, texts[end], s.idx, s.val)
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
		if err := m.run(s, s.rows, width, out[start:end]); err != nil {
			return fmt.Errorf("scorer %s: %w", m.spec.Name, err)
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
func (m *Model) run(s *scratch, rows []int, width int, out []model.Prediction) error {
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
		p := &out[r]
		if cap(p.Probs) >= m.classes {
			p.Probs = p.Probs[:m.classes]
		} else {
			p.Probs = make([]float32, m.classes)
		}
		copy(p.Probs, s.out[k*m.classes:(k+1)*m.classes])
		if err := m.deriver.Derive(p); err != nil {
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

// Close releases the session. Score calls in flight finish first; later
// calls return ErrClosed. Close is idempotent.
func (m *Model) Close() error {
	var err error
	m.once.Do(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.session != nil {
			err = m.session.Destroy()
			m.session = nil
		}
		m.freeMu.Lock()
		for _, s := range m.free {
			s.destroyTensors()
		}
		m.free = nil
		m.freeMu.Unlock()
		if rerr := ortRuntime.release(); err == nil {
			err = rerr
		}
	})
	return err
}

// LoadAll loads the models named (model names in the registry under root);
// names empty means every model there, in folder order. On error no model
// stays open.
func LoadAll(root string, names []string, opts Options) ([]*Model, error) {
	specs, err := model.Select(root, names)
	if err != nil {
		return nil, err
	}
	return LoadSpecs(specs, opts)
}

// LoadSpecs loads the models of specs read from their folders. On error no
// model stays open.
func LoadSpecs(specs []*model.Spec, opts Options) ([]*Model, error) {
	var models []*Model
	for _, s := range specs {
		m, err := LoadSpec(s, opts)
		if err != nil {
			for _, l := range models {
				_ = l.Close()
			}
			return nil, fmt.Errorf("model %s: %w", s.Name, err)
		}
		models = append(models, m)
	}
	return models, nil
}
