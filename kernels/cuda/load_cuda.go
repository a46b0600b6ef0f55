//go:build cuda && linux && (amd64 || arm64)

package cuda

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/ebitengine/purego"
)

// Built is whether this binary holds the GPU path (the cuda build tag).
const Built = true

// loadAPI finds, loads and binds the CUDA runtime and cuBLAS with purego
// (no cgo), cuBLAS of the runtime's major version first.
func loadAPI(libDir string) (a *api, libs []string, err error) {
	env := osSearchEnv(runtime.GOARCH)
	sp := newSearchPath(libDir, env)
	open := func(path string) (uintptr, error) {
		return purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	}
	rt, err := sp.find(cudartLib, "", open, env)
	if err != nil {
		return nil, nil, err
	}
	bl, err := sp.find(cublasLib, major(filepath.Base(rt.path)), open, env)
	if err != nil {
		return nil, nil, fmt.Errorf("found the CUDA runtime (%s), but %w", rt.path, err)
	}
	a = &api{}
	for _, s := range []struct {
		fn   any
		lib  found
		name string
	}{
		{&a.getDeviceCount, rt, "cudaGetDeviceCount"},
		{&a.setDevice, rt, "cudaSetDevice"},
		{&a.deviceGetAttribute, rt, "cudaDeviceGetAttribute"},
		{&a.memGetInfo, rt, "cudaMemGetInfo"},
		{&a.malloc, rt, "cudaMalloc"},
		{&a.free, rt, "cudaFree"},
		{&a.memcpyHtoD, rt, "cudaMemcpy"},
		{&a.memcpyDtoH, rt, "cudaMemcpy"},
		{&a.synchronize, rt, "cudaDeviceSynchronize"},
		{&a.errorString, rt, "cudaGetErrorString"},
		{&a.runtimeVersion, rt, "cudaRuntimeGetVersion"},
		{&a.driverVersion, rt, "cudaDriverGetVersion"},
		{&a.create, bl, "cublasCreate_v2"},
		{&a.destroy, bl, "cublasDestroy_v2"},
		{&a.setMathMode, bl, "cublasSetMathMode"},
		{&a.blasVersion, bl, "cublasGetVersion_v2"},
		{&a.sgemm, bl, "cublasSgemm_v2"},
		{&a.gemmEx, bl, "cublasGemmEx"},
	} {
		if err := bind(s.fn, s.lib, s.name); err != nil {
			return nil, nil, err
		}
	}
	a.deviceName = driverDeviceName(open)
	return a, []string{rt.path, bl.path}, nil
}

// bind points the Go function *fn at symbol name of lib.
func bind(fn any, lib found, name string) (err error) {
	addr, err := purego.Dlsym(lib.handle, name)
	if err != nil {
		return fmt.Errorf("%s has no %s: %w", lib.path, name, err)
	}
	defer func() {
		if r := recover(); r != nil { // purego rejects the signature
			err = fmt.Errorf("binding %s of %s: %v", name, lib.path, r)
		}
	}()
	purego.RegisterFunc(fn, addr)
	return nil
}

// driverDeviceName returns cuDeviceGetName from the driver library, which
// the runtime has loaded already, or nil. (The runtime has the name only
// inside cudaDeviceProp, a struct whose layout changes between versions.)
func driverDeviceName(open opener) func(int) string {
	h, err := open("libcuda.so.1")
	if err != nil {
		return nil
	}
	lib := found{"libcuda.so.1", h}
	var (
		cuInit          func(flags uint32) int32
		cuDeviceGet     func(device *int32, ordinal int32) int32
		cuDeviceGetName func(name *byte, length int32, device int32) int32
	)
	if bind(&cuInit, lib, "cuInit") != nil || bind(&cuDeviceGet, lib, "cuDeviceGet") != nil ||
		bind(&cuDeviceGetName, lib, "cuDeviceGetName") != nil {
		return nil
	}
	return func(ordinal int) string {
		var dev int32
		if cuInit(0) != 0 || cuDeviceGet(&dev, int32(ordinal)) != 0 {
			return ""
		}
		buf := make([]byte, 256)
		if cuDeviceGetName(&buf[0], int32(len(buf)), dev) != 0 {
			return ""
		}
		if i := bytes.IndexByte(buf, 0); i >= 0 {
			buf = buf[:i]
		}
		return string(buf)
	}
}

// osSearchEnv is the library search's view of this machine.
func osSearchEnv(goarch string) searchEnv {
	return searchEnv{
		getenv: os.Getenv,
		glob:   filepath.Glob,
		exists: func(p string) bool { _, err := os.Stat(p); return err == nil },
		goarch: goarch,
	}
}
