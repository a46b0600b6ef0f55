package eval

import "testing"

// embeddedEnv opens the embedded stories260K model on a pool of threads
// workers, closed when the test ends.
func embeddedEnv(t testing.TB, threads int) *Env {
	t.Helper()
	e, err := Open(ModelOptions{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}
