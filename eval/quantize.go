package eval

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/divergo/divergo/engine"
	"github.com/divergo/divergo/kernels"
	"github.com/divergo/divergo/quant"
)

// QuantizeOptions say what `divergo quantize` writes.
type QuantizeOptions struct {
	// Plan compresses the components it selects (DESIGN §3).
	Plan *quant.Plan
	// Output is a .gguf file or a Hugging Face checkpoint directory.
	Output string
	// Format is "gguf" or "hf"; "" chooses from Output (see OutputFormat).
	Format string
	// A8 marks every quantized matrix of the written model to run with
	// int8 activations (--a8).
	A8 bool
	// ShardBytes caps a safetensors shard (engine.WriteOptions).
	ShardBytes int64
	// Progress, when set, is called after each tensor written.
	Progress func(done, total int)
}

// QuantizeResult is what `divergo quantize` reports.
type QuantizeResult struct {
	Written string          `json:"written"`
	Format  string          `json:"format"` // "gguf" or "hf"
	Bytes   int64           `json:"bytes"`  // size of the file, or of every file of the directory
	Plan    string          `json:"plan"`
	Changes []engine.Change `json:"changes"`
	// Params is the number of weights the plan compressed, and
	// BitsPerWeight their nominal storage per weight (scales included).
	Params        int64   `json:"params"`
	BitsPerWeight float64 `json:"bits_per_weight"`
	// ModelParams counts every weight of the written model (norms and the
	// tied embedding once), and FileBitsPerWeight is Bytes·8/ModelParams,
	// llama.cpp's "BPW".
	ModelParams       int64       `json:"model_params"`
	FileBitsPerWeight float64     `json:"file_bits_per_weight"`
	A8Matrices        int         `json:"a8_matrices"`
	Unused            []string    `json:"unused_rules,omitempty"`
	Timing            WriteTiming `json:"timing"`
}

// WriteTiming holds the wall-clock time of a command that writes a model,
// kept apart so that the rest of its result is byte-identical between runs.
type WriteTiming struct {
	Seconds float64 `json:"seconds"`
}

// writeBlueprint writes b in the format OutputFormat chose: "gguf" as one
// GGUF file, "hf" as a Hugging Face directory.
func writeBlueprint(b *engine.Blueprint, format, path string, opt engine.WriteOptions) error {
	if format == "gguf" {
		return b.WriteGGUF(path, opt)
	}
	return b.WriteSafetensors(path, opt)
}

// OutputFormat returns the format a model written to path gets: "gguf" for
// a name ending in .gguf, "hf" (a checkpoint directory) otherwise. A name
// ending in .safetensors is refused: a checkpoint is a directory (config,
// weights, tokenizer), and Load would read such a path as a file inside
// one.
func OutputFormat(path, format string) (string, error) {
	switch format {
	case "gguf", "hf":
		if format == "hf" && strings.HasSuffix(path, ".safetensors") {
			break
		}
		return format, nil
	case "", "auto":
		if strings.HasSuffix(strings.ToLower(path), ".gguf") {
			return "gguf", nil
		}
		if !strings.HasSuffix(path, ".safetensors") {
			return "hf", nil
		}
	default:
		return "", fmt.Errorf("--format %q: want gguf or hf", format)
	}
	return "", fmt.Errorf("-o %s: a Hugging Face checkpoint is a directory (config.json, model.safetensors, tokenizer.model); name the directory, or use a .gguf file", path)
}

// Quantize compresses the loaded model with a plan and writes it. The plan
// is applied while the file is written, one matrix at a time, so a model
// needs no more memory than its mapping and its largest matrix; the file is
// the one writing the ApplyPlan variant would give.
func Quantize(e *Env, o QuantizeOptions) (QuantizeResult, error) {
	start := time.Now()
	if o.Plan == nil {
		return QuantizeResult{}, fmt.Errorf("quantize: no plan")
	}
	format, err := OutputFormat(o.Output, o.Format)
	if err != nil {
		return QuantizeResult{}, err
	}
	m := e.Model
	b, changes, err := m.Blueprint(o.Plan)
	if err != nil {
		return QuantizeResult{}, err
	}
	if o.A8 {
		// Every quantized matrix that multiplies runs W·A8: not the
		// embedding (looked up) unless it is also the tied LM head.
		inner, tied := b.Format, b.Tied
		b.Format = func(c string) (*kernels.Format, bool, error) {
			f, _, err := inner(c)
			return f, err == nil && f.Act != nil && (c != "embed" || tied), err
		}
	}
	r := QuantizeResult{Written: o.Output, Format: format, Plan: o.Plan.String(), Changes: changes}
	var names []string
	for _, c := range m.Components() {
		names = append(names, c.Name)
		f, a8, err := b.Format(c.Name)
		if err != nil {
			return QuantizeResult{}, err
		}
		if format == "gguf" && f.GGML < 0 {
			return QuantizeResult{}, fmt.Errorf("quantize: %s: %s has no GGUF type; write a Hugging Face directory (-o DIR)", c.Name, f.Name)
		}
		// A tied head is counted once, as lm_head (its flag is the embedding's).
		if c.Name == "lm_head" && b.Tied {
			if _, a8, _ = b.Format("embed"); a8 {
				r.A8Matrices++
			}
		} else if a8 && c.Name != "embed" {
			r.A8Matrices++
		}
	}
	for _, u := range o.Plan.Unused(names) {
		r.Unused = append(r.Unused, u.String())
	}
	var bits int64
	for _, c := range changes {
		r.Params += c.Params
		bits += c.Bits
	}
	if r.Params > 0 {
		r.BitsPerWeight = float64(bits) / float64(r.Params)
	}
	err = writeBlueprint(b, format, o.Output, engine.WriteOptions{ShardBytes: o.ShardBytes, Progress: o.Progress})
	if err != nil {
		return QuantizeResult{}, err
	}
	if r.Bytes, err = pathBytes(o.Output); err != nil {
		return QuantizeResult{}, err
	}
	r.ModelParams = writtenParams(m, b.Tied)
	if r.ModelParams > 0 {
		r.FileBitsPerWeight = float64(r.Bytes) * 8 / float64(r.ModelParams)
	}
	r.Timing.Seconds = time.Since(start).Seconds()
	return r, nil
}

// writtenParams counts the weights of a written model: every component,
// the LM head only when it is not the embedding, and the norms.
func writtenParams(m *engine.Model, tied bool) int64 {
	var n int64
	for _, c := range m.Components() {
		if c.Name == "lm_head" && tied {
			continue
		}
		n += c.Params()
	}
	return n + int64(m.Config.Dim)*int64(2*m.Config.Layers+1)
}

// pathBytes is the size of a file, or the total size of the files in a
// directory.
func pathBytes(path string) (int64, error) {
	var n int64
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
