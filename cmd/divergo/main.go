// Command divergo runs Llama-2-family models and measures how compression
// changes them. Run `divergo help` for the commands.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/divergo/divergo/eval"
)

// A command is one subcommand of the CLI: it parses its flags, calls eval
// and prints.
type command struct {
	name    string
	summary string
	run     func(args []string) error
}

var commands []command

func register(name, summary string, run func(args []string) error) {
	commands = append(commands, command{name, summary, run})
}

// usageError marks errors in the command line (exit status 2).
type usageError struct{ error }

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

var stdout io.Writer = os.Stdout

func runMain(args []string, out, errw io.Writer) int {
	stdout = out
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(errw)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	sort.Slice(commands, func(i, j int) bool { return commands[i].name < commands[j].name })
	for _, c := range commands {
		if c.name != args[0] {
			continue
		}
		err := c.run(args[1:])
		if err == nil {
			return 0
		}
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(errw, "divergo %s: %s\n", c.name, oneLine(err.Error()))
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(errw, "divergo: unknown command %q (run 'divergo help')\n", args[0])
	return 2
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func usage(w io.Writer) {
	sort.Slice(commands, func(i, j int) bool { return commands[i].name < commands[j].name })
	fmt.Fprintf(w, "divergo: run Llama-2-family models and measure how compression changes them.\n\n")
	fmt.Fprintf(w, "Usage: divergo COMMAND [flags]   (divergo COMMAND -h for its flags)\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nWith no -m, commands use the stories260K model embedded in the binary.\n")
}

// common holds the flags every model command shares (DESIGN §4).
type common struct {
	model     string
	tokenizer string
	threads   int
	isa       string
	json      bool
	seed      uint64
	a8        bool
	kv        string
}

func newFlags(name, args string) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	c := &common{}
	fs.StringVar(&c.model, "m", "", "model: Hugging Face directory, .gguf file or llama2.c .bin (default: embedded stories260K)")
	fs.StringVar(&c.model, "model", "", "same as -m")
	fs.StringVar(&c.tokenizer, "tokenizer", "", "tokenizer file (tokenizer.model, tokenizer.json or llama2.c tokenizer.bin)")
	fs.IntVar(&c.threads, "t", 0, "threads (default: all cores)")
	fs.IntVar(&c.threads, "threads", 0, "same as -t")
	fs.StringVar(&c.isa, "isa", "auto", "kernel path: auto, generic, avx2, avx512, neon, cuda")
	fs.BoolVar(&c.json, "json", false, "print one JSON document on stdout")
	fs.Uint64Var(&c.seed, "seed", 42, "random seed")
	fs.BoolVar(&c.a8, "a8", false, "run every quantized matrix with int8 activations (W·A8, as llama.cpp)")
	fs.StringVar(&c.kv, "kv", "f32", "KV cache precision: f32, or f16 as llama.cpp's default cache")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: divergo %s %s\n\nFlags:\n", name, args)
		fs.PrintDefaults()
	}
	return fs, c
}

// parse parses flags and rejects stray arguments.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func (c *common) open(ctx int) (*eval.Env, error) {
	o, err := c.options(ctx)
	if err != nil {
		return nil, err
	}
	return eval.Open(o)
}

// options turns the common flags into model options.
func (c *common) options(ctx int) (eval.ModelOptions, error) {
	if c.kv != "f32" && c.kv != "f16" {
		return eval.ModelOptions{}, usageError{fmt.Errorf("--kv %q: want f32 or f16", c.kv)}
	}
	return eval.ModelOptions{Path: c.model, Tokenizer: c.tokenizer, Threads: c.threads,
		ISA: c.isa, Context: ctx, A8: c.a8, KVF16: c.kv == "f16"}, nil
}

// emit prints v as the command's one JSON document.
func emit(v any) error {
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printf(format string, a ...any) { fmt.Fprintf(stdout, format, a...) }

func sortedStrings(s []string) []string {
	sort.Strings(s)
	return s
}
