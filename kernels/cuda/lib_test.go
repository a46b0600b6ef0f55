package cuda

import (
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeEnv is an environment and a file system of the listed paths, for
// the library search.
func fakeEnv(env map[string]string, files []string, goarch string) searchEnv {
	return searchEnv{
		getenv: func(k string) string { return env[k] },
		glob: func(pattern string) ([]string, error) {
			var out []string
			for _, f := range files {
				// Match the pattern against f and its parents.
				for p := f; p != "/" && p != "."; p = filepath.Dir(p) {
					if ok, _ := filepath.Match(pattern, p); ok && !slices.Contains(out, p) {
						out = append(out, p)
					}
				}
			}
			return out, nil
		},
		exists: func(path string) bool {
			for _, f := range files {
				if f == path || strings.HasPrefix(f, path+"/") {
					return true
				}
			}
			return false
		},
		goarch: goarch,
	}
}

func TestSearchOrder(t *testing.T) {
	files := []string{
		"/usr/local/cuda-12.4/lib64/libcudart.so.12",
		"/usr/local/cuda-11.8/lib64/libcudart.so.11.0",
		"/venv/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12",
		"/usr/lib/python3.12/site-packages/numpy/__init__.py", // no nvidia/: not listed
	}
	env := map[string]string{"CUDA_HOME": "/opt/cuda-home", "VIRTUAL_ENV": "/venv", "CONDA_PREFIX": "/conda"}
	sp := newSearchPath("/mine:/yours", fakeEnv(env, files, "amd64"))
	got := sp.dirs(cublasLib)
	want := []string{
		"/mine", "/yours", "",
		"/opt/cuda-home/lib64", "/opt/cuda-home/lib",
		"/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
		"/usr/local/cuda-12.4/lib64", "/usr/local/cuda-11.8/lib64",
		"/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/opt/cuda/lib64",
		"/venv/lib/python3.11/site-packages/nvidia/cublas/lib", "/venv/lib/python3.11/site-packages/nvidia/cu13/lib",
		"/conda/lib",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("search path\n got %q\nwant %q", got, want)
	}
	arm := newSearchPath("", fakeEnv(nil, nil, "arm64")).dirs(cudartLib)
	if !slices.Contains(arm, "/usr/local/cuda/targets/sbsa-linux/lib") || !slices.Contains(arm, "/usr/lib/aarch64-linux-gnu") || arm[0] != "" {
		t.Fatalf("arm64 search path %q", arm)
	}
}

// recordingOpener "loads" the paths in have (and bare sonames in loader)
// and records every attempt.
type recordingOpener struct {
	have, loader []string
	broken       map[string]string // path → dlerror
	tried        []string
}

func (o *recordingOpener) open(path string) (uintptr, error) {
	o.tried = append(o.tried, path)
	if msg, ok := o.broken[path]; ok {
		return 0, errors.New(msg)
	}
	if slices.Contains(o.have, path) || slices.Contains(o.loader, path) {
		return uintptr(len(o.tried)), nil
	}
	return 0, errors.New(path + ": cannot open shared object file: No such file or directory")
}

func TestFind(t *testing.T) {
	for _, c := range []struct {
		name   string
		libDir string
		files  []string
		loader []string
		broken map[string]string
		lib    library
		want   string // major version wanted
		found  string
		tried  []string // a prefix of the attempts, in order
		errHas []string
	}{
		{
			name: "DIVERGO_CUDA_LIB_DIR first", libDir: "/mine",
			files:  []string{"/mine/libcudart.so.11.0"},
			loader: []string{"libcudart.so.12"},
			lib:    cudartLib, found: "/mine/libcudart.so.11.0",
			tried: []string{"/mine/libcudart.so.11.0"},
		},
		{
			name:   "the loader, newest soname first",
			loader: []string{"libcudart.so.12", "libcudart.so.13"},
			lib:    cudartLib, found: "libcudart.so.13",
			tried: []string{"libcudart.so.13"},
		},
		{
			name:   "cuBLAS of the runtime's version first",
			loader: []string{"libcublas.so.13", "libcublas.so.12"},
			lib:    cublasLib, want: "12", found: "libcublas.so.12",
			tried: []string{"libcublas.so.12"},
		},
		{
			name:  "pip wheel, cuBLASLt loaded before cuBLAS",
			files: []string{"/usr/local/lib/python3.10/dist-packages/nvidia/cublas/lib/libcublas.so.12", "/usr/local/lib/python3.10/dist-packages/nvidia/cublas/lib/libcublasLt.so.12"},
			lib:   cublasLib, found: "/usr/local/lib/python3.10/dist-packages/nvidia/cublas/lib/libcublas.so.12",
		},
		{
			name: "nothing anywhere", libDir: "/mine",
			lib: cudartLib,
			errHas: []string{"no CUDA runtime (libcudart.so.13, libcudart.so.12, libcudart.so.11.0, libcudart.so)",
				"DIVERGO_CUDA_LIB_DIR=/mine", "the dynamic loader's path (LD_LIBRARY_PATH /ld/path, ld.so.cache)",
				"/usr/local/cuda/lib64", "/usr/lib/x86_64-linux-gnu", "no Python site-packages with nvidia/ found",
				"set DIVERGO_CUDA_LIB_DIR"},
		},
		{
			name:   "a file that does not load is reported",
			files:  []string{"/usr/local/cuda/lib64/libcudart.so.12"},
			broken: map[string]string{"/usr/local/cuda/lib64/libcudart.so.12": "wrong ELF class: ELFCLASS32", "libcudart.so.13": "libfoo.so: missing"},
			lib:    cudartLib,
			errHas: []string{"found but not loadable: libcudart.so.13: libfoo.so: missing; /usr/local/cuda/lib64/libcudart.so.12: wrong ELF class: ELFCLASS32"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := fakeEnv(map[string]string{"LD_LIBRARY_PATH": "/ld/path"}, c.files, "amd64")
			sp := newSearchPath(c.libDir, e)
			o := &recordingOpener{have: c.files, loader: c.loader, broken: c.broken}
			f, err := sp.find(c.lib, c.want, o.open, e)
			if len(c.errHas) > 0 {
				if err == nil {
					t.Fatalf("found %q, want an error", f.path)
				}
				for _, s := range c.errHas {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error lacks %q:\n%v", s, err)
					}
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error is not one line: %q", err)
				}
				return
			}
			if err != nil || f.path != c.found {
				t.Fatalf("found %q, %v; want %q", f.path, err, c.found)
			}
			if len(o.tried) < len(c.tried) || !slices.Equal(o.tried[len(o.tried)-len(c.tried):], c.tried) {
				// the wanted library is the last attempt
				t.Errorf("attempts %q, want them to end with %q", o.tried, c.tried)
			}
			if c.lib.what == "cuBLAS" && strings.Contains(f.path, "/") {
				lt := filepath.Join(filepath.Dir(f.path), "libcublasLt.so.12")
				i, j := slices.Index(o.tried, lt), slices.Index(o.tried, f.path)
				if i < 0 || i > j {
					t.Errorf("attempts %q: cuBLASLt was not loaded before cuBLAS", o.tried)
				}
			}
		})
	}
}

func TestMajor(t *testing.T) {
	for in, want := range map[string]string{"libcudart.so.11.0": "11", "libcudart.so.12": "12", "libcudart.so": "", "/a/libcublas.so.13": "13"} {
		if got := major(in); got != want {
			t.Errorf("major(%q) = %q, want %q", in, got, want)
		}
	}
}
