package safetensors

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
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
	seeds := map[string][]byte{
		"sample":       encode(t, sampleTensors(), map[string]string{"format": "pt"}),
		"one-tensor":   encode(t, sampleTensors()[:1], nil),
		"no-tensors":   encode(t, nil, map[string]string{"a": "b"}),
		"empty-object": rawFile("{}", nil),
	}
	for _, c := range hostileCases() {
		seeds["hostile-"+strings.NewReplacer(" ", "-", "^", "").Replace(c.name)] = c.in
	}
	for name, b := range seeds {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", b)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzParse checks that ParseBytes never panics, that the views of what it
// accepts stay inside the input, and that re-encoding is stable.
func FuzzParse(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		g, err := ParseBytes(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not marked ErrFormat: %v", err)
			}
			return
		}
		var ts []Tensor
		for _, ti := range g.Tensors() {
			data, err := g.Bytes(ti.Name)
			if err != nil || int64(len(data)) != ti.Size || ti.Size != ti.Elements()*ti.DType.Size() {
				t.Fatalf("tensor %q: %d bytes, size %d, %v", ti.Name, len(data), ti.Size, err)
			}
			if v, err := g.ToFloat32(ti.Name); err == nil && int64(len(v)) != ti.Elements() {
				t.Fatalf("ToFloat32(%q): %d values, want %d", ti.Name, len(v), ti.Elements())
			}
			ts = append(ts, Tensor{ti.Name, ti.DType, ti.Shape, data})
		}
		var buf bytes.Buffer
		if err := Encode(&buf, ts, g.Metadata); err != nil {
			if strings.Contains(err.Error(), "reserved or empty name") {
				return
			}
			t.Fatalf("encoding a parsed file: %v", err)
		}
		g2, err := ParseBytes(buf.Bytes())
		if err != nil {
			t.Fatalf("parsing an encoded file: %v", err)
		}
		if len(g.Metadata) == 0 {
			g.Metadata = nil
		}
		if !reflect.DeepEqual(g2.Metadata, g.Metadata) || len(g2.Tensors()) != len(ts) {
			t.Fatalf("round trip changed the file: %v vs %v", g2.Metadata, g.Metadata)
		}
		for _, want := range ts {
			got, _ := g2.Bytes(want.Name)
			if !bytes.Equal(got, want.Data) {
				t.Fatalf("tensor %q changed", want.Name)
			}
		}
	})
}
