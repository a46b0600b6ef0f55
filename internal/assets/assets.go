// Package assets locates the shared test assets (models, tokenizers, text,
// benchmark data) that live beside the repository in ../shared/assets, so
// tests can use them when present and skip with a clear message when not.
package assets

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir returns the shared assets directory: $DIVERGO_ASSETS if set, else
// ../shared/assets relative to the repository root. It returns "" when the
// directory does not exist.
func Dir() string {
	if d := os.Getenv("DIVERGO_ASSETS"); d != "" {
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			return d
		}
		return ""
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return ""
	}
	root := filepath.Join(filepath.Dir(file), "..", "..")
	d := filepath.Join(root, "..", "shared", "assets")
	if st, err := os.Stat(d); err == nil && st.IsDir() {
		return d
	}
	return ""
}

// Path returns the path of rel inside the shared assets directory, or skips
// the test with a message naming the missing file.
func Path(t testing.TB, rel string) string {
	t.Helper()
	d := Dir()
	if d == "" {
		t.Skipf("shared assets not found (../shared/assets or $DIVERGO_ASSETS); skipping test that needs %s", rel)
	}
	p := filepath.Join(d, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("shared asset %s not present: %v", rel, err)
	}
	return p
}

// RepoRoot returns the repository root directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
