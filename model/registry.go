package model

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Registry is a folder of model folders, each holding a model.yaml. It is
// read once by Open; a Registry never changes afterwards, so it is safe for
// concurrent use.
type Registry struct {
	dir   string
	specs []*Spec // sorted by folder name
}

// Open reads every model.yaml in the folders directly under dir, sorted by
// folder name, and every Hugging Face folder (config.json, model.yaml
// optional). Folders with neither are skipped; a model.yaml that
// does not parse or check is an error naming it, and so are two folders
// declaring the same model name. An empty registry is not an error here
// (Select and the callers that need a model say so).
func Open(dir string) (*Registry, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model registry: %w", err)
	}
	r := &Registry{dir: dir}
	byName := map[string]string{}
	for _, e := range entries { // ReadDir sorts by name
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		if _, err := os.Stat(filepath.Join(sub, SpecFile)); errors.Is(err, os.ErrNotExist) && !IsHFDir(sub) {
			continue
		}
		s, err := LoadSpec(sub)
		if err != nil {
			return nil, err
		}
		if prev, ok := byName[s.Name]; ok {
			return nil, fmt.Errorf("model registry %s: folders %s and %s both declare model %q", dir, prev, e.Name(), s.Name)
		}
		byName[s.Name] = e.Name()
		r.specs = append(r.specs, s)
	}
	return r, nil
}

// Dir is the registry's folder.
func (r *Registry) Dir() string { return r.dir }

// Specs returns every model's spec, sorted by folder name. The slice is the
// caller's; the specs are shared and must not be modified.
func (r *Registry) Specs() []*Spec { return append([]*Spec(nil), r.specs...) }

// Names returns every model name, in Specs' order.
func (r *Registry) Names() []string { return Names(r.specs) }

// Get returns the spec of the model called name.
func (r *Registry) Get(name string) (*Spec, bool) {
	for _, s := range r.specs {
		if s.Name == name {
			return s, true
		}
	}
	return nil, false
}

// Select returns the specs of the models names lists, in that order, or
// every model when names is empty. A name without a folder, a name listed
// twice and an empty result are errors naming the registry.
func (r *Registry) Select(names []string) ([]*Spec, error) {
	if len(names) == 0 {
		if len(r.specs) == 0 {
			return nil, fmt.Errorf("no model folders (with %s) in %s", SpecFile, r.dir)
		}
		return r.Specs(), nil
	}
	out := make([]*Spec, 0, len(names))
	seen := map[string]bool{}
	for _, n := range names {
		s, ok := r.Get(n)
		if !ok {
			return nil, fmt.Errorf("model %q has no folder in %s (models: %v)", n, r.dir, r.Names())
		}
		if seen[n] {
			return nil, fmt.Errorf("model %q is listed twice", n)
		}
		seen[n] = true
		out = append(out, s)
	}
	return out, nil
}

// Select opens the registry under dir and selects names from it: the one
// call most callers need.
func Select(dir string, names []string) ([]*Spec, error) {
	r, err := Open(dir)
	if err != nil {
		return nil, err
	}
	return r.Select(names)
}

// Names returns the specs' model names, in order.
func Names(specs []*Spec) []string {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.Name
	}
	return names
}
