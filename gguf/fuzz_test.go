package gguf

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seed corpus in testdata/fuzz/FuzzParse")

// seeds returns small valid files made by Writer and the hostile cases.
func seeds(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	w := sampleWriter(t)
	out["sample-v3"] = encode(t, w)
	w.Version = 2
	w.Metadata.Set("general.alignment", uint32(8))
	out["sample-v2-align8"] = encode(t, w)
	empty := &Writer{}
	empty.Metadata.Set("general.architecture", "llama")
	empty.Metadata.Set("tokenizer.ggml.tokens", []string{"<unk>", "<s>", "</s>", "▁a"})
	out["no-tensors"] = encode(t, empty)
	for _, c := range hostileCases() {
		if len(c.in) <= 1<<14 {
			out["hostile-"+strings.NewReplacer(" ", "-", "^", "", ">", "gt").Replace(c.name)] = c.in
		}
	}
	return out
}

func TestUpdateSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz/FuzzParse")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range seeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParse checks that ParseBytes never panics, that what it accepts has
// tensor data inside the input, and that writing an accepted file and
// reading it back is stable.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseBytes(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not marked ErrFormat: %v", err)
			}
			return
		}
		for _, ti := range g.Tensors {
			d, err := g.TensorData(ti.Name)
			if err != nil || int64(len(d)) != ti.Size {
				t.Fatalf("tensor %q: %d bytes, size %d, %v", ti.Name, len(d), ti.Size, err)
			}
		}
		w, ok := rewriter(g)
		if !ok {
			return // a name the writer refuses (empty, or longer than 63 bytes)
		}
		var first bytes.Buffer
		if _, err := w.WriteTo(&first); err != nil {
			t.Fatalf("writing a parsed file: %v", err)
		}
		g2, err := ParseBytes(first.Bytes())
		if err != nil {
			t.Fatalf("reading a written file: %v", err)
		}
		w2, _ := rewriter(g2)
		var second bytes.Buffer
		if _, err := w2.WriteTo(&second); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatal("write(read(write(x))) differs from write(x)")
		}
	})
}

func rewriter(g *File) (*Writer, bool) {
	w := &Writer{Version: g.Version, Metadata: g.Metadata}
	for _, ti := range g.Tensors {
		d, _ := g.TensorData(ti.Name)
		if err := w.AddTensor(ti.Name, ti.Dims, ti.Type, d); err != nil {
			return nil, false
		}
	}
	return w, true
}
