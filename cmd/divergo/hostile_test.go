package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/divergo/divergo/internal/hostile"
)

var hostileTable = flag.String("hostile-table", "", "write the Markdown table of hostile cases and the error lines they produce into this file, between its hostile-table markers (../../docs/hardening.md)")

// hostileText is the text the suite's ppl runs read.
const hostileText = "Once upon a time there was a cat. The cat was on the mat.\n\nOnce upon a time, in a house, a cat sat on a hat.\n"

// hostileCommands are the commands run on every case: a load, a
// generation and a perplexity pass (-m and the model are appended).
func hostileCommands(text string) [][]string {
	return [][]string{
		{"info"},
		{"generate", "-p", "Once upon a time", "-n", "8", "-t", "1"},
		{"ppl", "-f", text, "-c", "16", "-t", "1"},
	}
}

// hostileAllocLimit bounds the bytes one command may allocate on a case
// (runtime.MemStats.TotalAlloc): the valid base model needs well under a
// megabyte, so anything near this was sized by a header field.
const hostileAllocLimit = 64 << 20

// checkHostileLine checks a failing command's stderr: exactly one line,
// "divergo CMD: ", naming the field at fault (and the model's path when the
// model does not load), and no trace of a panic.
func checkHostileLine(t *testing.T, cmd, model string, c hostile.Case, code int, stderr string) {
	t.Helper()
	line := strings.TrimSuffix(stderr, "\n")
	switch {
	case code != 1:
		t.Errorf("%s: exit %d, want 1; stderr:\n%s", cmd, code, stderr)
	case strings.Count(stderr, "\n") != 1 || line == "":
		t.Errorf("%s: stderr is not one line:\n%s", cmd, stderr)
	case !strings.HasPrefix(line, "divergo "+cmd+": "):
		t.Errorf("%s: stderr does not start with the command: %s", cmd, line)
	case strings.Contains(line, "panic") || strings.Contains(line, "goroutine "):
		t.Errorf("%s: a panic reached the user: %s", cmd, line)
	case c.Fails("info") && !strings.Contains(line, filepath.Dir(model)):
		// A load error names the file; a forward-pass error (the model
		// loads) names the component instead.
		t.Errorf("%s: the error does not name the model's path %s: %s", cmd, filepath.Dir(model), line)
	case !strings.Contains(line, c.Want):
		t.Errorf("%s: the error does not name %q: %s", cmd, c.Want, line)
	}
}

// TestHostileFiles runs info, generate and ppl in-process on every case of
// the hostile suite: valid models succeed; a model that loads but holds
// non-finite weights passes info and fails generate and ppl naming the
// component; every other case fails every command with one line naming
// the file and the field, allocating a bounded amount.
func TestHostileFiles(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(text, []byte(hostileText), 0o644); err != nil {
		t.Fatal(err)
	}
	var table strings.Builder
	table.WriteString("| case | fault | what divergo says (info, generate, ppl) |\n|---|---|---|\n")
	for _, c := range hostile.Cases() {
		model, err := c.Write(dir)
		if err != nil {
			t.Fatal(err)
		}
		var said [3]string
		t.Run(c.Name, func(t *testing.T) {
			for i, cmd := range hostileCommands(text) {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				code, stdout, stderr := runCLI(t, append(cmd, "-m", model)...)
				runtime.ReadMemStats(&after)
				if alloc := after.TotalAlloc - before.TotalAlloc; alloc > hostileAllocLimit {
					t.Errorf("%s: allocated %d MiB", cmd[0], alloc>>20)
				}
				said[i] = "ok"
				if code != 0 {
					line := strings.TrimPrefix(strings.TrimSpace(stderr), "divergo "+cmd[0]+": ")
					said[i] = "`" + strings.ReplaceAll(line, dir+string(filepath.Separator), "") + "`"
				}
				if cmd[0] == "info" && code == 0 && c.Fails("info") {
					// info describes a file it can parse but not run
					// (exit 0), saying why it is not a model.
					reason := ""
					for _, l := range strings.Split(stdout, "\n") {
						if strings.HasPrefix(l, hostileNotAModel) {
							reason = l
						}
					}
					if !strings.Contains(reason, c.Want) || strings.Contains(stderr, "panic") {
						t.Errorf("info: exit 0 without saying why the file is not a model (%q):\n%s%s", c.Want, stdout, stderr)
					}
					said[i] = "exit 0, `" + strings.ReplaceAll(reason, dir+string(filepath.Separator), "") + "`"
					continue
				}
				if !c.Fails(cmd[0]) {
					if code != 0 {
						t.Errorf("%s: exit %d: %s", cmd[0], code, stderr)
					}
					continue
				}
				checkHostileLine(t, cmd[0], model, c, code, stderr)
			}
		})
		result := said[0]
		switch {
		case said[1] == said[0] && said[2] == said[0]:
		case said[1] == said[2] && said[0] == "exit 0, `"+hostileNotAModel+strings.TrimPrefix(said[1], "`"):
			result = said[1] + "; info describes the file, exit 0, with the same line after `" + strings.TrimSpace(hostileNotAModel) + "`"
		default:
			result = fmt.Sprintf("info: %s; generate: %s; ppl: %s", said[0], said[1], said[2])
		}
		fmt.Fprintf(&table, "| %s | %s | %s |\n", c.Name, strings.ReplaceAll(c.What, "|", `\|`), strings.ReplaceAll(result, "|", `\|`))
	}
	if *hostileTable != "" {
		if err := writeHostileTable(*hostileTable, table.String()); err != nil {
			t.Fatal(err)
		}
	}
}

// hostileNotAModel starts the line in which info says why a file it can
// read is not a runnable model.
const hostileNotAModel = "not a runnable model: "

// Markers around the case table in docs/hardening.md.
const (
	hostileTableStart = "<!-- hostile-table: go test ./cmd/divergo -run TestHostileFiles -hostile-table ../../docs/hardening.md -->\n"
	hostileTableEnd   = "<!-- /hostile-table -->\n"
)

// writeHostileTable puts table between the markers of the file at path,
// or writes it alone when the file has no markers.
func writeHostileTable(path, table string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	doc := string(old)
	i, j := strings.Index(doc, hostileTableStart), strings.Index(doc, hostileTableEnd)
	if i < 0 || j < i {
		return os.WriteFile(path, []byte(table), 0o644)
	}
	doc = doc[:i+len(hostileTableStart)] + table + doc[j:]
	return os.WriteFile(path, []byte(doc), 0o644)
}
