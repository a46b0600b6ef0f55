package cuda

import "testing"

// NewFakeBackend starts a backend on the fake device of fake_test.go, for
// the external tests: they run the GPU tests' own checks on it.
func NewFakeBackend(t *testing.T, o Options) *Backend { return fakeBackend(t, newFake(t), o) }
