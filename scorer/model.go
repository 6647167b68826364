package scorer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tweetflow/tweetflow/featurize"
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
	spec    *Spec
	fz      *featurize.Featurizer
	session *ort.DynamicAdvancedSession
	classes int
	pos     int // label index of Value.Positive, -1 if none
	neg     int
	pool    sync.Pool // *scratch
	once    sync.Once
	mu      sync.RWMutex // guards session against Close during Score
}

// scratch is one Score call's reusable buffers.
type scratch struct {
	fs  featurize.Scratch
	idx []int64
	val []float32
	off []int
	// Padded tensor data.
	pidx []int64
	pval []float32
	out  []float32
}

// Load opens dir (model.yaml + model.onnx), checks the ONNX graph's inputs and
// output against the spec and starts an ONNX Runtime session. Errors name the
// file and the field at fault.
func Load(dir string, opts Options) (*Model, error) {
	spec, err := LoadSpec(dir)
	if err != nil {
		return nil, err
	}
	specPath := filepath.Join(dir, SpecFile)
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
	onnxPath := filepath.Join(dir, ModelFile)
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
	m := &Model{dir: dir, spec: spec, fz: fz, classes: len(spec.Labels)}
	m.pos = slices.Index(spec.Labels, spec.Value.Positive)
	m.neg = slices.Index(spec.Labels, spec.Value.Negative)
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
	ins, outs, err := ort.GetInputOutputInfoWithONNXData(data)
	if err != nil {
		return fmt.Errorf("%s: not a valid ONNX model: %w", onnxPath, err)
	}
	if err := checkGraph(m.spec, ins, outs); err != nil {
		return fmt.Errorf("%s: %w", onnxPath, err)
	}
	if err := checkMetadata(data, cfg); err != nil {
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

// checkGraph compares the ONNX inputs and outputs with the spec.
func checkGraph(spec *Spec, ins, outs []ort.InputOutputInfo) error {
	names := func(infos []ort.InputOutputInfo) string {
		var s []string
		for _, i := range infos {
			s = append(s, strconv.Quote(i.Name))
		}
		return strings.Join(s, ", ")
	}
	find := func(infos []ort.InputOutputInfo, name string) *ort.InputOutputInfo {
		for i := range infos {
			if infos[i].Name == name {
				return &infos[i]
			}
		}
		return nil
	}
	if len(ins) != 2 {
		return fmt.Errorf("graph has %d inputs (%s), the spec's inputs.indices and inputs.values need exactly 2", len(ins), names(ins))
	}
	for _, want := range []struct {
		field, name string
		typ         ort.TensorElementDataType
	}{
		{"inputs.indices", spec.Inputs.Indices, ort.TensorElementDataTypeInt64},
		{"inputs.values", spec.Inputs.Values, ort.TensorElementDataTypeFloat},
	} {
		in := find(ins, want.name)
		switch {
		case in == nil:
			return fmt.Errorf("model.yaml field %s: graph has no input %q (inputs: %s)", want.field, want.name, names(ins))
		case in.OrtValueType != ort.ONNXTypeTensor || in.DataType != want.typ:
			return fmt.Errorf("model.yaml field %s: input %q is %s, want a %s tensor", want.field, want.name, in, want.typ)
		case len(in.Dimensions) != 2:
			return fmt.Errorf("model.yaml field %s: input %q has shape %s, want [batch, features]", want.field, want.name, in.Dimensions)
		}
	}
	out := find(outs, spec.Output)
	switch {
	case out == nil:
		return fmt.Errorf("model.yaml field output: graph has no output %q (outputs: %s)", spec.Output, names(outs))
	case out.OrtValueType != ort.ONNXTypeTensor || out.DataType != ort.TensorElementDataTypeFloat:
		return fmt.Errorf("model.yaml field output: output %q is %s, want a float tensor", spec.Output, out)
	case len(out.Dimensions) != 2 || out.Dimensions[1] != int64(len(spec.Labels)):
		return fmt.Errorf("model.yaml field labels: output %q has shape %s, want [batch, %d] for %d labels",
			spec.Output, out.Dimensions, len(spec.Labels), len(spec.Labels))
	}
	return nil
}

// checkMetadata compares the featurizer recorded in the ONNX file, when there
// is one, with the spec's: a table trained with other hashing would score
// nonsense without any error.
func checkMetadata(data []byte, cfg featurize.Config) error {
	md, err := ort.GetModelMetadataWithONNXData(data)
	if err != nil {
		return fmt.Errorf("reading metadata: %w", err)
	}
	defer md.Destroy()
	if b, ok, err := md.LookupCustomMetadataMap(MetaBuckets); err == nil && ok {
		if b != strconv.Itoa(cfg.Buckets) {
			return fmt.Errorf("metadata %s is %s but model.yaml featurizer.params.buckets is %d", MetaBuckets, b, cfg.Buckets)
		}
	}
	if f, ok, err := md.LookupCustomMetadataMap(MetaFeaturizer); err == nil && ok {
		if want := FeaturizerFingerprint(cfg); f != want {
			return fmt.Errorf("metadata %s is %q but model.yaml's featurizer is %q: retrain or restore the matching model.yaml", MetaFeaturizer, f, want)
		}
	}
	return nil
}

// FeaturizerFingerprint is the featurizer identity the trainer records in
// model.onnx.
func FeaturizerFingerprint(cfg featurize.Config) string {
	return fmt.Sprintf("%s/v%d buckets=%d words=%d chars=%d-%d neg=%t vader=%s cuss=%s max_tokens=%d",
		featurize.Name, cfg.Version, cfg.Buckets, cfg.WordNgrams, cfg.CharMin, cfg.CharMax, cfg.Negation, cfg.VADER, cfg.Cuss, cfg.MaxTokens)
}

// Spec returns the model's spec; callers must not modify it.
func (m *Model) Spec() *Spec { return m.spec }

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
func (m *Model) Score(ctx context.Context, texts []string, out []Prediction) error {
	if len(out) != len(texts) {
		return fmt.Errorf("scorer %s: out has %d slots for %d texts", m.spec.Name, len(out), len(texts))
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return ErrClosed
	}
	s, _ := m.pool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	defer m.pool.Put(s)
	for start := 0; start < len(texts); {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Featurize rows until the chunk is full.
		s.idx, s.val, s.off = s.idx[:0], s.val[:0], append(s.off[:0], 0)
		width := 1
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
		if err := m.run(s, end-start, width, out[start:end]); err != nil {
			return fmt.Errorf("scorer %s: %w", m.spec.Name, err)
		}
		start = end
	}
	return nil
}

// run pads rows into [n, width] tensors, runs the session and fills out.
func (m *Model) run(s *scratch, n, width int, out []Prediction) error {
	cells := n * width
	s.pidx = grow(s.pidx, cells)
	s.pval = grow(s.pval, cells)
	for r := range n {
		row := s.off[r+1] - s.off[r]
		copy(s.pidx[r*width:], s.idx[s.off[r]:s.off[r+1]])
		copy(s.pval[r*width:], s.val[s.off[r]:s.off[r+1]])
		clear(s.pidx[r*width+row : (r+1)*width])
		clear(s.pval[r*width+row : (r+1)*width])
	}
	s.out = grow(s.out, n*m.classes)
	shape := ort.NewShape(int64(n), int64(width))
	ti, err := ort.NewTensor(shape, s.pidx[:cells])
	if err != nil {
		return err
	}
	defer ti.Destroy()
	tv, err := ort.NewTensor(shape, s.pval[:cells])
	if err != nil {
		return err
	}
	defer tv.Destroy()
	to, err := ort.NewTensor(ort.NewShape(int64(n), int64(m.classes)), s.out[:n*m.classes])
	if err != nil {
		return err
	}
	defer to.Destroy()
	if err := m.session.Run([]ort.Value{ti, tv}, []ort.Value{to}); err != nil {
		return err
	}
	for r := range n {
		p := &out[r]
		if cap(p.Probs) >= m.classes {
			p.Probs = p.Probs[:m.classes]
		} else {
			p.Probs = make([]float32, m.classes)
		}
		copy(p.Probs, s.out[r*m.classes:(r+1)*m.classes])
		m.derive(p)
	}
	return nil
}

// derive sets Label and Value from Probs as the spec's value section says.
func (m *Model) derive(p *Prediction) {
	best := 0
	for c, v := range p.Probs {
		if v > p.Probs[best] {
			best = c
		}
	}
	p.Label = m.spec.Labels[best]
	switch m.spec.Value.Derive {
	case DeriveProbability:
		p.Value = float64(p.Probs[m.pos])
	case DeriveDifference:
		p.Value = float64(p.Probs[m.pos]) - float64(p.Probs[m.neg])
	case DeriveArgmax:
		p.Value = float64(best)
	}
	if math.IsNaN(p.Value) {
		p.Value = 0
	}
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
		if rerr := ortRuntime.release(); err == nil {
			err = rerr
		}
	})
	return err
}

// LoadAll loads the models named (folders under root); names empty means
// every folder under root that has a model.yaml, in sorted order. On error no
// model stays open.
func LoadAll(root string, names []string, opts Options) ([]*Model, error) {
	if len(names) == 0 {
		specs, err := ListSpecs(root)
		if err != nil {
			return nil, err
		}
		if len(specs) == 0 {
			return nil, fmt.Errorf("no model folders (with %s) under %s", SpecFile, root)
		}
		for _, s := range specs {
			names = append(names, s.dirName)
		}
	}
	var models []*Model
	for _, n := range names {
		m, err := Load(filepath.Join(root, n), opts)
		if err != nil {
			for _, l := range models {
				_ = l.Close()
			}
			return nil, fmt.Errorf("model %s: %w", n, err)
		}
		models = append(models, m)
	}
	return models, nil
}

// ListSpecs reads every model.yaml in the folders directly under root,
// sorted by folder name, without loading ONNX Runtime (for generating
// mappings and dashboards).
func ListSpecs(root string) ([]*Spec, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("model folders: %w", err)
	}
	var specs []*Spec
	for _, e := range entries { // ReadDir sorts by name
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(root, e.Name())
		if _, err := os.Stat(filepath.Join(dir, SpecFile)); err != nil {
			continue
		}
		s, err := LoadSpec(dir)
		if err != nil {
			return nil, err
		}
		s.dirName = e.Name()
		specs = append(specs, s)
	}
	return specs, nil
}
