package kernels

import (
	"errors"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
)

func TestSetISA(t *testing.T) {
	av := Available()
	if len(av) == 0 || av[0] != Generic {
		t.Fatalf("Available() = %v, want generic first", av)
	}
	orig := CurrentISA()
	defer SetISA(orig)
	for _, isa := range av {
		if err := SetISA(isa); err != nil {
			t.Errorf("SetISA(%s): %v", isa, err)
		}
		if CurrentISA() != isa {
			t.Errorf("CurrentISA() = %s after SetISA(%s)", CurrentISA(), isa)
		}
	}
	for _, bad := range []ISA{"", "sse", "cuda", "AVX2"} {
		if err := SetISA(bad); err == nil {
			t.Errorf("SetISA(%q) succeeded", bad)
		}
	}
	foreign := NEON
	if runtime.GOARCH == "arm64" {
		foreign = AVX2
	}
	if err := SetISA(foreign); err == nil {
		t.Errorf("SetISA(%s) succeeded on %s", foreign, runtime.GOARCH)
	}
	if f := Features(); !strings.Contains(f, "isa=") || !strings.Contains(f, "available=") {
		t.Errorf("Features() = %q", f)
	}
}

func TestISAChain(t *testing.T) {
	if got := isaChain(AVX512); !slices.Equal(got, []ISA{AVX2, AVX512}) {
		t.Errorf("isaChain(avx512) = %v", got)
	}
	if got := isaChain(Generic); len(got) != 0 {
		t.Errorf("isaChain(generic) = %v", got)
	}
}

// TestISAEnv runs this test binary again with DIVERGO_ISA set and checks
// the path init installs.
func TestISAEnv(t *testing.T) {
	if os.Getenv("DIVERGO_ISA_CHILD") != "" {
		t.Skip("child")
	}
	av := Available()
	best := av[len(av)-1]
	for _, tt := range []struct{ env, want, note string }{
		{"generic", "generic", ""},
		{"", string(best), ""},
		{"auto", string(best), ""},
		{"bogus", string(best), "DIVERGO_ISA=bogus ignored"},
	} {
		args := []string{os.Args[0], "-test.run=^TestISAEnvChild$", "-test.v"}
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DIVERGO_ISA="+tt.env, "DIVERGO_ISA_CHILD=1")
		out, err := cmd.CombinedOutput()
		if errors.Is(err, syscall.ENOEXEC) && runtime.GOARCH == "arm64" {
			// A cross-built test binary run by qemu-aarch64 without
			// binfmt_misc: run the child through the emulator too.
			emu, lerr := exec.LookPath("qemu-aarch64-static")
			if lerr != nil {
				t.Skipf("cannot run the test binary again: %v", err)
			}
			cmd = exec.Command(emu, args...)
			cmd.Env = append(os.Environ(), "DIVERGO_ISA="+tt.env, "DIVERGO_ISA_CHILD=1")
			out, err = cmd.CombinedOutput()
		}
		if err != nil {
			t.Fatalf("DIVERGO_ISA=%s: %v\n%s", tt.env, err, out)
		}
		if !strings.Contains(string(out), "isa="+tt.want+" ") || !strings.Contains(string(out), tt.note) {
			t.Errorf("DIVERGO_ISA=%q: child reported\n%s\nwant isa=%s %s", tt.env, out, tt.want, tt.note)
		}
	}
}

func TestISAEnvChild(t *testing.T) {
	if os.Getenv("DIVERGO_ISA_CHILD") == "" {
		t.Skip("run by TestISAEnv")
	}
	t.Log(Features())
}
