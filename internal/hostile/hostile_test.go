package hostile

import (
	"bytes"
	"testing"
)

// TestCases: names are unique, each case holds its model, generation is
// deterministic, and each format has its valid base first.
func TestCases(t *testing.T) {
	seen := map[string]bool{}
	again := Cases()
	for i, c := range Cases() {
		if seen[c.Name] {
			t.Errorf("case %s twice", c.Name)
		}
		seen[c.Name] = true
		if _, ok := c.Files[c.Model]; !ok && c.Model != "." {
			t.Errorf("%s: model %s not among its files", c.Name, c.Model)
		}
		for name, b := range c.Files {
			if !bytes.Equal(b, again[i].Files[name]) {
				t.Errorf("%s: %s differs between two generations", c.Name, name)
			}
		}
		if c.Want == "" && c.OK != nil {
			t.Errorf("%s: a valid case lists commands that succeed", c.Name)
		}
	}
	for _, base := range []string{"gguf-valid", "hf-valid", "llama2c-valid"} {
		if !seen[base] {
			t.Errorf("no %s case", base)
		}
	}
}
