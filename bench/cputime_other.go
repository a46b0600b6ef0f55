//go:build !unix

package bench

import "time"

// processCPU is unknown here; rows then report no CPU share.
func processCPU() time.Duration { return 0 }
