// Command divergo runs Llama-2-family models and measures how compression
// changes them.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "divergo: no commands yet")
	os.Exit(2)
}
