//go:build !cuda

package cuda

import "errors"

// Built is whether this binary holds the GPU path (the cuda build tag).
const Built = false

// loadAPI reports that the GPU path was left out of the build: purego's
// dlopen makes a binary dynamically linked against the C library, which
// the default, fully static divergo is not.
func loadAPI(string) (*api, []string, error) {
	return nil, nil, errors.New("this divergo was built without the GPU path, to stay a static binary: " +
		"build with `CGO_ENABLED=0 go build -tags cuda ./cmd/divergo` (docs/gpu.md)")
}
