//go:build cuda && !(linux && (amd64 || arm64))

package cuda

import (
	"fmt"
	"runtime"
)

// Built is whether this binary holds the GPU path (the cuda build tag).
const Built = false

func loadAPI(string) (*api, []string, error) {
	return nil, nil, fmt.Errorf("not supported on this platform (%s/%s): the GPU path needs linux/amd64 or linux/arm64",
		runtime.GOOS, runtime.GOARCH)
}
