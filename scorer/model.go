// Package scorer is tweetflow's ONNX Runtime binding: it loads a model
// folder's model.onnx for a spec read by package model, checks the graph
// against the spec, and scores batches of texts in one ONNX Runtime call.
// It is the only package that links ONNX Runtime (cgo); everything that
// only needs to know which models exist reads package model instead.
package scorer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"

	ort "github.com/yalue/onnxruntime_go"

	"github.com/tweetflow/tweetflow/model"
)

// Options for loading models.
type Options struct {
	// LibraryPath overrides where the ONNX Runtime library is; empty means
	// $ONNXRUNTIME_LIB, else lib/onnxruntime/ found relative to the
	// executable or by walking up from the working directory.
	LibraryPath string
	// IntraOpThreads is ONNX Runtime's intra-op thread count per model (the
	// ORT_THREADS variable). Zero derives it from the process's CPU
	// allowance: see IntraOpThreads.
	IntraOpThreads int
	// sharedBy is how many models LoadSpecs loads into this process at once;
	// their derived thread counts split one allowance.
	sharedBy int
}

// IntraOpThreads is the intra-op thread count each of models sessions gets:
// explicit when positive (ORT_THREADS), else procs split evenly among the
// models, at least 1. procs is runtime.GOMAXPROCS(0), which since Go 1.25
// defaults to the container's cgroup CPU limit (a function with a 2-CPU limit
// gets 2), so a function's single model uses the CPUs it is given and a
// process loading several models never runs more intra-op threads than its
// allowance in total. Concurrent Score calls on one model (WORKERS) share
// that model's pool; they add their calling threads, not new pools.
func IntraOpThreads(explicit, procs, models int) int {
	if explicit > 0 {
		return explicit
	}
	return max(1, procs/max(1, models))
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

// Model is one loaded model of any kind. It is safe for concurrent use by
// many goroutines; Close releases the session.
type Model struct {
	dir     string
	spec    *model.Spec
	session *ort.DynamicAdvancedSession
	classes int
	deriver model.Deriver
	// impl scores one call's texts by the model's kind; it only runs while
	// mu is read-locked and session is open.
	impl kindScorer
	once sync.Once
	mu   sync.RWMutex // guards session against Close during Score
}

// kindScorer is what differs between model kinds: turning texts into the
// graph's inputs and its output into probabilities.
type kindScorer interface {
	score(ctx context.Context, m *Model, texts []string, out []model.Prediction) error
	// release frees what the kind keeps between calls (C memory).
	release()
}

// Load opens dir (model.yaml + model.onnx, or a Hugging Face folder),
// checks the ONNX graph's inputs and output against the spec and starts an
// ONNX Runtime session. Errors name the file and the field at fault.
func Load(dir string, opts Options) (*Model, error) {
	spec, err := model.LoadSpec(dir)
	if err != nil {
		return nil, err
	}
	return LoadSpec(spec, opts)
}

// LoadSpec loads the model of a spec read from its folder (model.LoadSpec,
// or a model.Registry's), with the scorer of its kind.
func LoadSpec(spec *model.Spec, opts Options) (*Model, error) {
	dir := spec.Dir()
	if dir == "" {
		return nil, fmt.Errorf("model %s: spec has no folder (read it with model.LoadSpec or model.Open)", spec.Name)
	}
	m := &Model{dir: dir, spec: spec, classes: len(spec.Labels), deriver: model.NewDeriver(spec)}
	var prepare func() (sessionPlan, error)
	switch k := spec.ModelKind(); k {
	case model.KindHashed:
		prepare = func() (sessionPlan, error) { return prepareHashed(m) }
	case model.KindTransformer:
		prepare = func() (sessionPlan, error) { return prepareTransformer(m) }
	case model.KindText:
		prepare = func() (sessionPlan, error) { return prepareText(m) }
	default:
		return nil, fmt.Errorf("%s: field kind: %q models are not scored by this build", filepath.Join(dir, model.SpecFile), k)
	}
	// Everything that can be checked without ONNX Runtime is, first: a bad
	// folder fails the same way on a machine without the library.
	plan, err := prepare()
	if err != nil {
		return nil, err
	}
	lib, err := FindLibrary(opts.LibraryPath)
	if err != nil {
		return nil, err
	}
	if err := ortRuntime.acquire(lib); err != nil {
		return nil, err
	}
	m.session, err = newSession(plan, opts)
	if err != nil {
		_ = ortRuntime.release()
		return nil, err
	}
	// One text scored now: a graph that loads but cannot run (an op that
	// fails at run time, such as StringNormalizer without its locale)
	// fails here, at load, naming the file, not on the first tweet.
	probe := make([]model.Prediction, 1)
	if err := m.impl.score(context.Background(), m, []string{"load check"}, probe); err != nil {
		_ = m.Close()
		return nil, fmt.Errorf("%s: scoring a first text: %w", plan.path, err)
	}
	return m, nil
}

// sessionPlan is a checked graph file and the tensors a kind feeds and
// reads.
type sessionPlan struct {
	path            string
	inputs, outputs []string
}

// readGraph reads what Load checks in an ONNX file. The file is mapped, not
// read onto the heap, and the session is then built from the path: a
// transformer's graph is hundreds of MB, and a heap copy would be alive
// beside ONNX Runtime's own while the session is built.
func readGraph(path string) (*GraphInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("model file: %w", err)
	}
	if st.Size() == 0 {
		return nil, fmt.Errorf("%s: not a valid ONNX model: empty file", path)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("model file %s: %w", path, err)
	}
	// GraphInfo holds copies (string conversions), never views of data.
	defer syscall.Munmap(data)
	info, err := ReadGraphInfo(data)
	if err != nil {
		return nil, fmt.Errorf("%s: not a valid ONNX model: %w", path, err)
	}
	return info, nil
}

func newSession(p sessionPlan, opts Options) (*ort.DynamicAdvancedSession, error) {
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	defer so.Destroy()
	threads := IntraOpThreads(opts.IntraOpThreads, runtime.GOMAXPROCS(0), opts.sharedBy)
	if err := so.SetIntraOpNumThreads(threads); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := so.SetInterOpNumThreads(1); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	// Spinning threads would burn the cores the rest of the pipeline needs.
	if err := so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	if err := so.SetGraphOptimizationLevel(ort.GraphOptimizationLevelEnableAll); err != nil {
		return nil, fmt.Errorf("session options: %w", err)
	}
	s, err := ort.NewDynamicAdvancedSession(p.path, p.inputs, p.outputs, so)
	if err != nil {
		return nil, fmt.Errorf("%s: creating ONNX Runtime session: %w", p.path, err)
	}
	return s, nil
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

// Score scores texts, in one ONNX Runtime call when the batch is small
// (several if it is huge, or, for a transformer, one per length bucket);
// out must have len(texts). Any text is accepted: empty, huge, invalid
// UTF-8 or control characters all get a valid prediction. out[i].Probs is
// reused when it has room, so a caller that keeps out across calls
// allocates no probabilities per text.
func (m *Model) Score(ctx context.Context, texts []string, out []model.Prediction) error {
	if len(out) != len(texts) {
		return fmt.Errorf("scorer %s: out has %d slots for %d texts", m.spec.Name, len(out), len(texts))
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.session == nil {
		return ErrClosed
	}
	if err := m.impl.score(ctx, m, texts, out); err != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(err, cerr) {
			return err // the caller's own cancellation, as it knows it
		}
		return fmt.Errorf("scorer %s: %w", m.spec.Name, err)
	}
	return nil
}

// setProbs copies probs into p (reusing its slice) and derives its label
// and value.
func (m *Model) setProbs(p *model.Prediction, probs []float32) error {
	if cap(p.Probs) >= m.classes {
		p.Probs = p.Probs[:m.classes]
	} else {
		p.Probs = make([]float32, m.classes)
	}
	copy(p.Probs, probs)
	return m.deriver.Derive(p)
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
		m.impl.release()
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
	opts.sharedBy = len(specs)
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
