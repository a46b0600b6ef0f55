//go:build unix

package eval

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// resultsLock takes an exclusive advisory lock (flock) on an open results
// file, failing at once when another process holds it. The lock goes with
// the file descriptor: closing the file, or the process dying, releases it.
func resultsLock(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		if pid := lockHolder(f); pid > 0 {
			return fmt.Errorf("locked by another divergo process (pid %d; one writer per results file)", pid)
		}
		return fmt.Errorf("locked by another divergo process (one writer per results file)")
	}
	if err != nil {
		return fmt.Errorf("lock: %w", err)
	}
	return nil
}

// lockHolder returns the process holding a flock on f as Linux lists it in
// /proc/locks ("1: FLOCK  ADVISORY  WRITE 4242 08:02:131 0 EOF": the pid,
// then the device numbers in hex and the inode), or 0 where it cannot tell.
func lockHolder(f *os.File) int {
	var st unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil {
		return 0
	}
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	file := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	for _, line := range strings.Split(string(data), "\n") {
		fs := strings.Fields(line)
		// Waiting requests read "1: -> FLOCK …"; only holders have the
		// type second.
		if len(fs) < 6 || fs[1] != "FLOCK" || fs[5] != file {
			continue
		}
		if pid, err := strconv.Atoi(fs[4]); err == nil {
			return pid
		}
	}
	return 0
}
