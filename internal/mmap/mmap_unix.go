//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package mmap

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Map maps the file at path read-only. It falls back to reading the
// file into memory when mapping fails (an empty file, a file system that
// cannot map, a file larger than the address space allows); unmap is nil
// then.
func Map(path string) (data []byte, unmap func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s: not a regular file", path)
	}
	size := st.Size()
	if size > 0 && int64(int(size)) == size {
		m, err := unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
		if err == nil {
			return m, func() error { return unix.Munmap(m) }, nil
		}
	}
	data, err = readAll(f, size)
	return data, nil, err
}

// readAll reads exactly size bytes from f.
func readAll(f *os.File, size int64) ([]byte, error) {
	if int64(int(size)) != size {
		return nil, fmt.Errorf("%s: %d bytes do not fit in memory", f.Name(), size)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, err
	}
	return b, nil
}
