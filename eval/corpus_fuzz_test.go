package eval

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzCorpus reads arbitrary bytes as a text corpus (.txt) or a JSONL one
// (.jsonl) through ReadCorpus and ReadText: either both fail, with one
// line naming the file, or the documents are non-empty paragraphs (text)
// whose blank-line join is what ReadText gives (JSONL), and no "\r\n" is
// left in either.
func FuzzCorpus(f *testing.F) {
	f.Add([]byte(strings.Join(DefaultCorpus()[:3], "\n\n")), false)
	f.Add([]byte("Once upon a time.\r\n\r\n  \t\r\nThe end.\n"), false)
	f.Add([]byte("{\"text\": \"one\\r\\ntwo\"}\n\n{\"text\": \"\"}\n{\"text\": \"three\", \"meta\": 1}\n"), true)
	f.Add([]byte("{\"text\": 1}\n"), true)
	f.Add([]byte("{\"title\": \"no text\"}\n"), true)
	f.Add([]byte("  {\"text\": \"sniffed as JSONL by its first byte\"}"), false)
	f.Add([]byte("\xff\xfe\x00 not UTF-8 \n\n<s> </s>"), false)
	f.Fuzz(func(t *testing.T, data []byte, jsonl bool) {
		name := "corpus.txt"
		if jsonl {
			name = "corpus.jsonl"
		}
		path := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		docs, err := ReadCorpus(path)
		text, terr := ReadText(path)
		if (err == nil) != (terr == nil) {
			t.Fatalf("ReadCorpus: %v; ReadText: %v", err, terr)
		}
		if err != nil {
			if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, path) {
				t.Fatalf("error not one line naming the file: %q", msg)
			}
			return
		}
		if strings.Contains(text, "\r\n") {
			t.Fatalf("ReadText left a CRLF: %q", text)
		}
		if isJSONL(path, data) {
			if joined := strings.Join(docs, "\n\n"); joined != text {
				t.Fatalf("ReadText %q, documents joined %q", text, joined)
			}
			return
		}
		for _, d := range docs {
			if d == "" || d != strings.TrimSpace(d) || strings.Contains(d, "\r\n") {
				t.Fatalf("document %q", d)
			}
			for _, line := range strings.Split(d, "\n") {
				if strings.TrimSpace(line) == "" {
					t.Fatalf("document %q holds a blank line", d)
				}
			}
		}
		if again := SplitDocuments(text); strings.Join(again, "\x00") != strings.Join(docs, "\x00") {
			t.Fatalf("ReadText split again gives %q, ReadCorpus %q", again, docs)
		}
	})
}
