//go:build !cuda

package cuda

import (
	"strings"
	"testing"
)

func TestOpenWithoutTheTag(t *testing.T) {
	_, err := Open(Options{LibDir: t.TempDir()})
	if err == nil || !strings.HasPrefix(err.Error(), "cuda: ") || !strings.Contains(err.Error(), "-tags cuda") ||
		strings.Contains(err.Error(), "\n") {
		t.Fatalf("Open = %v, want one line saying to build with -tags cuda", err)
	}
	if Built {
		t.Fatal("Built is true without the cuda tag")
	}
}
