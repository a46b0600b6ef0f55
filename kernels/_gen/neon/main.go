// Command neon generates divergo's arm64 NEON kernels (kernels/*_neon_arm64.s).
//
// The Go assembler lacks most Advanced SIMD arithmetic (SDOT, SMULL, FMUL,
// FCVTL, … — ENGINE-NOTES §3.3), so those instructions are emitted as WORD
// encodings with their GNU spelling in a comment; generating the files lets
// one description produce the SDOT and the SMULL/SADALP variant of every
// int8 kernel, and row-count variants, without copies kept in step by hand.
//
//	go run .          rewrite the .s files in ../..
//	go run . -check   fail if the committed files differ from the output
//	go run . -verify  also assemble every WORD's GNU spelling with llvm-mc
//	                  and compare the encodings
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// files lists the generated files and their generators.
var files = []struct {
	name string
	gen  func() *Asm
}{
	{"ops_neon_arm64.s", genOps},
	{"matmul_neon_arm64.s", genGemm},
	{"float_neon_arm64.s", genFloat},
	{"quant_neon_arm64.s", genQuant},
	{"q32_neon_arm64.s", genQ32},
	{"kquant_neon_arm64.s", genKQuant},
	{"int_neon_arm64.s", genInt},
}

func main() {
	dir := flag.String("dir", "../..", "kernels directory")
	check := flag.Bool("check", false, "compare with the files on disk instead of writing")
	verify := flag.Bool("verify", false, "check WORD encodings with llvm-mc")
	flag.Parse()
	failed := false
	for _, f := range files {
		a := f.gen()
		out := []byte(a.String())
		path := filepath.Join(*dir, f.name)
		if *check {
			old, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(old, out) {
				fmt.Fprintf(os.Stderr, "%s is not what the generator writes (run go generate in kernels/_gen/neon)\n", path)
				failed = true
			}
		} else if err := os.WriteFile(path, out, 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if *verify {
			if err := verifyWords(a.words); err != nil {
				fmt.Fprintf(os.Stderr, "%s: %v\n", f.name, err)
				failed = true
			}
		}
	}
	if failed {
		os.Exit(1)
	}
}

var encRe = regexp.MustCompile(`encoding: \[0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2}),0x([0-9a-f]{2})\]`)

// verifyWords assembles the GNU spelling of every distinct word with
// llvm-mc and compares the encodings.
func verifyWords(words []word) error {
	seen := map[string]uint32{}
	var src strings.Builder
	var order []string
	for _, w := range words {
		if e, ok := seen[w.gnu]; ok {
			if e != w.enc {
				return fmt.Errorf("%q encoded two ways", w.gnu)
			}
			continue
		}
		seen[w.gnu] = w.enc
		order = append(order, w.gnu)
		src.WriteString(w.gnu + "\n")
	}
	cmd := exec.Command("llvm-mc", "-triple=aarch64", "-mattr=+dotprod,+fullfp16", "-show-encoding")
	cmd.Stdin = strings.NewReader(src.String())
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("llvm-mc: %v\n%s", err, out)
	}
	var encs []uint32
	for _, l := range strings.Split(string(out), "\n") {
		m := encRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		var v uint32
		for i := 4; i >= 1; i-- {
			b, _ := strconv.ParseUint(m[i], 16, 8)
			v = v<<8 | uint32(b)
		}
		encs = append(encs, v)
	}
	if len(encs) != len(order) {
		return fmt.Errorf("llvm-mc returned %d encodings for %d instructions", len(encs), len(order))
	}
	bad := 0
	for i, gnu := range order {
		if encs[i] != seen[gnu] {
			fmt.Fprintf(os.Stderr, "  %s: generator %#08x, llvm-mc %#08x\n", gnu, seen[gnu], encs[i])
			bad++
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d wrong encodings", bad)
	}
	fmt.Fprintf(os.Stderr, "verified %d distinct encodings\n", len(order))
	return nil
}
