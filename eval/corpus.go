package eval

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// ReadCorpus reads a corpus file and splits it into documents (DESIGN §4):
// a JSONL file (name ending in .jsonl, or content whose first non-blank
// byte is '{') gives the "text" field of each line; a text file gives its
// blank-line-separated paragraphs. Line endings are normalised to "\n".
func ReadCorpus(path string) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	if isJSONL(path, data) {
		return parseJSONL(path, data)
	}
	return SplitDocuments(string(data)), nil
}

// ReadText returns a corpus as one text for perplexity: a text file as it
// is (CRLF normalised to LF), a JSONL file as its documents joined by a
// blank line (the "\n\n".join convention of GPTQ/AWQ evaluation scripts).
func ReadText(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("corpus: %w", err)
	}
	if isJSONL(path, data) {
		docs, err := parseJSONL(path, data)
		if err != nil {
			return "", err
		}
		return strings.Join(docs, "\n\n"), nil
	}
	return strings.ReplaceAll(string(data), "\r\n", "\n"), nil
}

func isJSONL(path string, data []byte) bool {
	if strings.HasSuffix(path, ".jsonl") {
		return true
	}
	t := bytes.TrimLeft(data, " \t\r\n")
	return len(t) > 0 && t[0] == '{'
}

func parseJSONL(path string, data []byte) ([]string, error) {
	var docs []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	for line := 1; sc.Scan(); line++ {
		raw := bytes.TrimSpace(sc.Bytes())
		if len(raw) == 0 {
			continue
		}
		var rec struct {
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil {
			return nil, fmt.Errorf("corpus %s:%d: %w", path, line, err)
		}
		if rec.Text == nil {
			return nil, fmt.Errorf("corpus %s:%d: no \"text\" field", path, line)
		}
		docs = append(docs, strings.ReplaceAll(*rec.Text, "\r\n", "\n"))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("corpus %s: %w", path, err)
	}
	return docs, nil
}

// SplitDocuments splits text at blank lines (one or more lines holding only
// whitespace); documents keep their inner single newlines, lose surrounding
// whitespace, and empty ones are dropped.
func SplitDocuments(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var docs []string
	var cur []string
	flush := func() {
		if d := strings.TrimSpace(strings.Join(cur, "\n")); d != "" {
			docs = append(docs, d)
		}
		cur = cur[:0]
	}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()
	return docs
}
