package cuda

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// A library is a shared library the backend loads, by its sonames in order
// of preference (newest CUDA first; the bare .so is the toolkit's
// development link) and the directory pip's nvidia wheels put it in.
type library struct {
	what  string
	names []string
	// pip is the directory under site-packages of pip's CUDA 12 wheel
	// (nvidia-cuda-runtime-cu12, nvidia-cublas-cu12); CUDA 13 wheels put
	// every library in nvidia/cu13/lib.
	pip string
	// deps are libraries this one needs that lie beside it (cuBLAS needs
	// cuBLASLt): loaded first from the same directory, so that a library
	// found outside the loader's path still resolves them.
	deps []string
}

var (
	cudartLib = library{
		what:  "CUDA runtime",
		names: []string{"libcudart.so.13", "libcudart.so.12", "libcudart.so.11.0", "libcudart.so"},
		pip:   "nvidia/cuda_runtime/lib",
	}
	cublasLib = library{
		what:  "cuBLAS",
		names: []string{"libcublas.so.13", "libcublas.so.12", "libcublas.so.11", "libcublas.so"},
		pip:   "nvidia/cublas/lib",
		deps:  []string{"libcublasLt"},
	}
)

// major returns the CUDA major version in a soname ("libcudart.so.11.0" →
// "11"), "" for an unversioned name.
func major(soname string) string {
	_, v, ok := strings.Cut(soname, ".so.")
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, ".")
	return v
}

// searchEnv is what the search depends on outside the program: the
// environment, the file system and the architecture. Tests replace it.
type searchEnv struct {
	getenv func(string) string
	glob   func(pattern string) ([]string, error)
	exists func(path string) bool
	goarch string
}

// A searchPath is where a library is looked for, in order. An empty dir is
// the dynamic loader's own search (LD_LIBRARY_PATH, the ld.so cache, the
// system directories), which dlopen does for a bare soname.
type searchPath struct {
	libDir string   // DIVERGO_CUDA_LIB_DIR as given, for messages
	libs   []string // its directories, first
	system []string // toolkit and distribution directories
	pip    []string // site-packages directories holding nvidia/…
	conda  []string // $CONDA_PREFIX/lib
}

// newSearchPath lists the places to look: the directories of libDir
// (DIVERGO_CUDA_LIB_DIR, a list separated by colons), the dynamic loader, $CUDA_HOME and $CUDA_PATH, /usr/local/cuda and the
// versioned toolkits beside it, the distribution's library directories,
// the site-packages of pip's nvidia wheels (virtualenv, conda, user and
// system Pythons) and conda's lib.
func newSearchPath(libDir string, e searchEnv) searchPath {
	triplet, target := "x86_64-linux-gnu", "x86_64-linux"
	if e.goarch == "arm64" {
		triplet, target = "aarch64-linux-gnu", "sbsa-linux"
	}
	sp := searchPath{libDir: libDir}
	add := func(dirs *[]string, d ...string) {
		for _, d := range d {
			if d != "" && !slices.Contains(*dirs, d) {
				*dirs = append(*dirs, d)
			}
		}
	}
	add(&sp.libs, filepath.SplitList(libDir)...)
	for _, v := range []string{"CUDA_HOME", "CUDA_PATH"} {
		if root := e.getenv(v); root != "" {
			add(&sp.system, filepath.Join(root, "lib64"), filepath.Join(root, "lib"))
		}
	}
	add(&sp.system, "/usr/local/cuda/lib64", "/usr/local/cuda/targets/"+target+"/lib")
	versioned, _ := e.glob("/usr/local/cuda-*/lib64")
	slices.Sort(versioned)
	slices.Reverse(versioned) // newest toolkit first
	add(&sp.system, versioned...)
	add(&sp.system, "/usr/lib/"+triplet, "/usr/lib64", "/opt/cuda/lib64")

	var patterns []string
	if v := e.getenv("VIRTUAL_ENV"); v != "" {
		patterns = append(patterns, v+"/lib/python3*/site-packages")
	}
	if c := e.getenv("CONDA_PREFIX"); c != "" {
		patterns = append(patterns, c+"/lib/python3*/site-packages")
		add(&sp.conda, filepath.Join(c, "lib"))
	}
	if h := e.getenv("HOME"); h != "" {
		patterns = append(patterns, h+"/.local/lib/python3*/site-packages")
	}
	patterns = append(patterns,
		"/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
		"/usr/lib/python3/dist-packages", "/usr/lib/python3*/site-packages",
		"/opt/*/lib/python3*/site-packages")
	if h := e.getenv("HOME"); h != "" {
		patterns = append(patterns, h+"/.pyenv/versions/*/lib/python3*/site-packages")
	}
	for _, p := range patterns {
		sites, _ := e.glob(p)
		slices.Sort(sites)
		for _, s := range sites {
			if e.exists(filepath.Join(s, "nvidia")) {
				add(&sp.pip, s)
			}
		}
	}
	return sp
}

// dirs returns the directories to search for lib, in order ("" is the
// dynamic loader).
func (sp searchPath) dirs(lib library) []string {
	d := append(slices.Clone(sp.libs), "")
	d = append(d, sp.system...)
	for _, s := range sp.pip {
		d = append(d, filepath.Join(s, lib.pip), filepath.Join(s, "nvidia/cu13/lib"))
	}
	return append(d, sp.conda...)
}

// describe says where lib was looked for, in one line.
func (sp searchPath) describe(lib library, getenv func(string) string) string {
	var where []string
	if sp.libDir != "" {
		where = append(where, "DIVERGO_CUDA_LIB_DIR="+sp.libDir)
	} else {
		where = append(where, "DIVERGO_CUDA_LIB_DIR (unset)")
	}
	ld := "unset"
	if v := getenv("LD_LIBRARY_PATH"); v != "" {
		ld = v
	}
	where = append(where, "the dynamic loader's path (LD_LIBRARY_PATH "+ld+", ld.so.cache)")
	where = append(where, sp.system...)
	if len(sp.pip) == 0 {
		where = append(where, "pip's site-packages/"+lib.pip+" (no Python site-packages with nvidia/ found)")
	}
	for _, s := range sp.pip {
		where = append(where, filepath.Join(s, lib.pip))
	}
	where = append(where, sp.conda...)
	return fmt.Sprintf("no %s (%s) in %s", lib.what, strings.Join(lib.names, ", "), strings.Join(where, ", "))
}

// opener loads a shared library by path or bare soname (dlopen).
type opener func(path string) (handle uintptr, err error)

// A found library is the path (or soname) that loaded and its handle.
type found struct {
	path   string
	handle uintptr
}

// find loads the first of lib's sonames found along sp, trying every
// directory for each soname in turn, with the sonames of CUDA major version
// want first when it is set (cuBLAS of the runtime's version). It returns
// the library, or an error saying where it looked and why a file that was
// there did not load.
func (sp searchPath) find(lib library, want string, open opener, e searchEnv) (found, error) {
	names := slices.Clone(lib.names)
	if want != "" {
		slices.SortStableFunc(names, func(a, b string) int {
			am, bm := major(a) == want, major(b) == want
			switch {
			case am && !bm:
				return -1
			case bm && !am:
				return 1
			}
			return 0
		})
	}
	var problems []string
	for _, dir := range sp.dirs(lib) {
		for _, name := range names {
			path := name
			if dir != "" {
				path = filepath.Join(dir, name)
				if !e.exists(path) {
					continue
				}
				for _, dep := range lib.deps {
					// libcublas.so.12 → libcublasLt.so.12
					if d := filepath.Join(dir, dep+name[strings.Index(name, ".so"):]); e.exists(d) {
						open(d) // best effort: the library's own error says more
					}
				}
			}
			h, err := open(path)
			if err == nil {
				return found{path, h}, nil
			}
			// The loader reports a soname it cannot find as "NAME: cannot
			// open shared object file"; anything else (a missing
			// dependency, a wrong architecture) is worth reporting.
			if msg := err.Error(); dir != "" || !strings.HasPrefix(msg, name+":") {
				problems = append(problems, path+": "+msg)
			}
		}
	}
	msg := sp.describe(lib, e.getenv)
	if len(problems) > 0 {
		msg += "; found but not loadable: " + strings.Join(problems, "; ")
	}
	return found{}, fmt.Errorf("%s; set DIVERGO_CUDA_LIB_DIR to the directory holding it", msg)
}
