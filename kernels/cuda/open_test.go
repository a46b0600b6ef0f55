package cuda

import (
	"strings"
	"testing"
)

func TestOpenMinWorkEnv(t *testing.T) {
	for _, v := range []string{"lots", "-3"} {
		t.Setenv("DIVERGO_CUDA_MIN_WORK", v)
		_, err := Open(Options{})
		if err == nil || !strings.Contains(err.Error(), `DIVERGO_CUDA_MIN_WORK="`+v+`"`) {
			t.Fatalf("Open = %v, want the bad DIVERGO_CUDA_MIN_WORK named", err)
		}
	}
}
