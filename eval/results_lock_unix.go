//go:build unix

package eval

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// resultsLock takes an exclusive advisory lock (flock) on an open results
// file, failing at once when another process holds it. The lock goes with
// the file descriptor: closing the file, or the process dying, releases it.
func resultsLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return fmt.Errorf("locked by another divergo process (one writer per results file)")
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}
