package scorer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// LibraryEnv names the environment variable that overrides where the ONNX
// Runtime shared library is.
const LibraryEnv = "ONNXRUNTIME_LIB"

// libraryNames are where `make ort` installs the library, relative to the
// repository root (or to the folder holding bin/).
func libraryNames() []string {
	return []string{"lib/onnxruntime/libonnxruntime.so.1.24.1", "lib/onnxruntime/libonnxruntime.so"}
}

// installHint ends every "library missing" error: it says exactly how to fix it.
const installHint = "install it with `make ort` (scripts/install-onnxruntime.sh, ONNX Runtime 1.24.1) " +
	"in the tweetflow repository, or set " + LibraryEnv + " to the path of libonnxruntime.so (>= 1.24.1)"

// FindLibrary returns the ONNX Runtime library path: explicit (if not
// empty), else $ONNXRUNTIME_LIB, else lib/onnxruntime/ next to the executable
// (or its parent, for bin/tweetflow), else lib/onnxruntime/ in the working
// directory or any of its parents.
func FindLibrary(explicit string) (string, error) {
	check := func(p, from string) (string, error) {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("ONNX Runtime library %s (from %s): %w; %s", p, from, err, installHint)
		}
		return p, nil
	}
	if explicit != "" {
		return check(explicit, "Options.LibraryPath")
	}
	if env := os.Getenv(LibraryEnv); env != "" {
		return check(env, "$"+LibraryEnv)
	}
	var tried []string
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		d := filepath.Dir(exe)
		dirs = append(dirs, d, filepath.Dir(d))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		for _, name := range libraryNames() {
			p := filepath.Join(d, name)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			tried = append(tried, p)
		}
	}
	return "", fmt.Errorf("ONNX Runtime library not found (looked for %s in %d folders, first %s); %s",
		strings.Join(libraryNames(), ", "), len(dirs), firstOr(tried, "none"), installHint)
}

func firstOr(s []string, def string) string {
	if len(s) == 0 {
		return def
	}
	return s[0]
}

// runtimeHandle reference-counts onnxruntime_go's environment.
//
// Why package-level state: onnxruntime_go keeps ONE environment per process
// in its own globals (InitializeEnvironment fails if called twice, and
// DestroyEnvironment tears it down for everyone). Several models, loaded and
// closed independently by different components, must share it, so the count
// of users has to be as process-wide as the thing it counts. It is unexported
// and only touched under its mutex.
type runtimeHandle struct {
	mu   sync.Mutex
	refs int
	lib  string
}

var ortRuntime runtimeHandle

// acquire initializes the environment on first use with library lib; later
// users must ask for the same library.
func (r *runtimeHandle) acquire(lib string) error {
	// The same file named two ways (relative, absolute, through the
	// libonnxruntime.so symlink) is the same library.
	if abs, err := filepath.Abs(lib); err == nil {
		lib = abs
	}
	if real, err := filepath.EvalSymlinks(lib); err == nil {
		lib = real
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs > 0 {
		if lib != r.lib {
			return fmt.Errorf("ONNX Runtime is already initialized from %s; cannot also use %s in the same process", r.lib, lib)
		}
		r.refs++
		return nil
	}
	if ort.IsInitialized() {
		// Someone outside this package initialized it; share it without
		// owning it.
		return errors.New("ONNX Runtime environment was initialized outside package scorer; load models through scorer only")
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("initializing ONNX Runtime from %s: %w; %s", lib, err, installHint)
	}
	r.refs, r.lib = 1, lib
	return nil
}

func (r *runtimeHandle) release() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.refs == 0 {
		return nil
	}
	r.refs--
	if r.refs > 0 {
		return nil
	}
	r.lib = ""
	if err := ort.DestroyEnvironment(); err != nil {
		return fmt.Errorf("destroying ONNX Runtime environment: %w", err)
	}
	return nil
}
