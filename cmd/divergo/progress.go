package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// stderrIsTerminal reports whether progress lines can redraw in place.
var stderrIsTerminal = func() bool {
	_, err := unix.IoctlGetTermios(int(os.Stderr.Fd()), unix.TCGETS)
	return err == nil
}()

var progressShown bool

// progressLine returns a callback that redraws "label done/total" on
// stderr when it is a terminal.
func progressLine(label string) func(done, total int) {
	if !stderrIsTerminal {
		return nil
	}
	return func(done, total int) {
		progressShown = true
		fmt.Fprintf(os.Stderr, "\r%s %d/%d", label, done, total)
	}
}

// endProgress ends a progress line.
func endProgress() {
	if progressShown {
		fmt.Fprintln(os.Stderr)
		progressShown = false
	}
}
