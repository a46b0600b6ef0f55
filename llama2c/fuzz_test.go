package llama2c

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the seed corpus in testdata/fuzz/FuzzParse")

func TestUpdateSeeds(t *testing.T) {
	if !*updateSeeds {
		t.Skip("run with -update-seeds to rewrite testdata/fuzz/FuzzParse")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParse")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	tiny := func(version int, shared bool) Config {
		c := Config{Dim: 4, HiddenDim: 6, Layers: 2, Heads: 2, KVHeads: 1, Vocab: 3, SeqLen: 2, SharedClassifier: shared, Version: version}
		if version == 2 {
			c.GroupSize = 2
		}
		return c
	}
	seeds := map[string][]byte{
		"legacy-shared":   build(tiny(0, true), true).buf.Bytes(),
		"legacy-unshared": build(tiny(0, false), true).buf.Bytes(),
		"legacy-no-freq":  build(tiny(0, false), false).buf.Bytes(),
		"v1":              build(tiny(1, false), false).buf.Bytes(),
		"v2":              build(tiny(2, false), false).buf.Bytes(),
	}
	for _, c := range hostileCases() {
		if len(c.in) <= 1<<12 {
			seeds["hostile-"+strings.ReplaceAll(c.name, " ", "-")] = c.in
		}
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParse checks that ParseBytes never panics and that the tensors of a
// file it accepts cover the file exactly, header aside.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseBytes(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not marked ErrFormat: %v", err)
			}
			return
		}
		covered := int64(legacyHeaderSize)
		if c.Config.Version > 0 {
			covered = headerSize
		}
		for _, tensor := range c.Tensors() {
			covered += int64(len(tensor.Data) + len(tensor.Scales))
			layer := tensor.Layer
			got, err := c.Tensor(tensor.Name, layer)
			if err != nil || got.Offset != tensor.Offset {
				t.Fatalf("Tensor(%s, %d): %v", tensor.Name, layer, err)
			}
			if v := tensor.ToFloat32(); len(v) != tensor.Elements() {
				t.Fatalf("%s: %d values, want %d", tensor.Name, len(v), tensor.Elements())
			}
		}
		if covered != int64(len(b)) {
			t.Fatalf("tensors cover %d bytes of %d", covered, len(b))
		}
		if _, err := c.Tensor("wcls", -1); err != nil {
			t.Fatal(err)
		}
	})
}
