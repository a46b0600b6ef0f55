//go:build ignore

// gen writes the SentencePiece reference fixtures of package tokenizer:
// ../spm_cases.json.gz (awkward strings, corpus samples and random id
// sequences with the ids and text SentencePiece gives for them) and
// ../spm_corpus.txt.gz (per-line id counts and hashes for the two corpora).
//
// It drives spmref, a 60-line wrapper over libsentencepiece (Debian package
// libsentencepiece-dev 0.1.97) that reads length-framed records, so strings
// with newlines can be encoded whole (spm_encode reads line by line):
//
//	g++ -O2 -std=c++17 -o /tmp/spmref spmref.cc -lsentencepiece
//	go run gen.go -spmref /tmp/spmref -assets ../../../../shared/assets
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"
)

var (
	spmref = flag.String("spmref", "/tmp/spmref", "spmref binary")
	assets = flag.String("assets", "../../../../shared/assets", "shared assets directory")
	out    = flag.String("out", "..", "output directory")
)

type model struct{ name, path string }

// Case is one string with its reference ids per model.
type Case struct {
	Name string           `json:"name"`
	Text string           `json:"text,omitempty"`
	Hex  string           `json:"hex,omitempty"` // the text, when it is not valid UTF-8
	IDs  map[string][]int `json:"ids"`
	// Decoded holds, per model, SentencePiece's decoding of IDs where it
	// differs from the text ("hex:" and the bytes in hex when not valid UTF-8).
	Decoded map[string]string `json:"decoded,omitempty"`
}

// Decoding is one id sequence with the text SentencePiece decodes it to.
type Decoding struct {
	IDs  []int  `json:"ids"`
	Text string `json:"text,omitempty"`
	Hex  string `json:"hex,omitempty"`
}

// Fixture is the content of spm_cases.json.gz.
type Fixture struct {
	Note    string                `json:"note"`
	Cases   []Case                `json:"cases"`
	Decodes map[string][]Decoding `json:"decodes"`
}

func main() {
	flag.Parse()
	models := []model{
		{"llama2", filepath.Join(*assets, "tokenizers/llama2/tokenizer.model")},
		{"tok105", filepath.Join(*assets, "models/babyllama-tok105/tok105.model")},
	}
	var names, texts []string
	add := func(name, s string) { names = append(names, name); texts = append(texts, s) }
	for i, s := range awkward() {
		add(fmt.Sprintf("awkward/%d", i), s)
	}
	inp, err := os.ReadFile(filepath.Join(*assets, "tokenizers/llama2/llamacpp-vocab-test/ggml-vocab-llama-spm.gguf.inp"))
	check(err)
	parts := strings.Split(string(inp), "\n__ggml_vocab_test__\n")
	for i, s := range parts[:len(parts)-1] {
		add(fmt.Sprintf("llamacpp/%d", i), s)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 600 {
		add(fmt.Sprintf("random/%d", i), randomText(rng))
	}
	wiki := readLines(filepath.Join(*assets, "text/wikitext2_test_hfrows_crlf.raw"))
	stories := readLines(filepath.Join(*assets, "text/tinystories_val_sample.txt"))
	for i := 0; i < 150; i++ {
		add(fmt.Sprintf("wikitext/line%d", i+1), wiki[i])
		add(fmt.Sprintf("tinystories/line%d", i+1), stories[i])
	}
	// Multi-line excerpts: several consecutive lines joined with their newlines.
	for range 40 {
		a := rng.IntN(len(wiki) - 6)
		add(fmt.Sprintf("wikitext/lines%d-%d", a+1, a+5), strings.Join(wiki[a:a+5], "\n"))
		b := rng.IntN(len(stories) - 12)
		add(fmt.Sprintf("tinystories/lines%d-%d", b+1, b+11), strings.Join(stories[b:b+11], "\n"))
	}

	fx := Fixture{
		Note:    "Reference ids and decodings from SentencePiece 0.1.97 (libsentencepiece) via testdata/spmref; see gen.go.",
		Decodes: map[string][]Decoding{},
	}
	fx.Cases = make([]Case, len(texts))
	for i := range texts {
		fx.Cases[i] = Case{Name: names[i], IDs: map[string][]int{}}
		if utf8.ValidString(texts[i]) {
			fx.Cases[i].Text = texts[i]
		} else {
			fx.Cases[i].Hex = hex.EncodeToString([]byte(texts[i]))
		}
	}
	var corpus bytes.Buffer
	fmt.Fprintf(&corpus, "# model corpus line count fnv64a(ids as decimal, space separated); line \"all\" is the whole file as one string\n")
	for _, m := range models {
		ids := encode(m.path, texts)
		back := decode(m.path, ids)
		for i := range texts {
			fx.Cases[i].IDs[m.name] = ids[i]
			if back[i] != texts[i] {
				if fx.Cases[i].Decoded == nil {
					fx.Cases[i].Decoded = map[string]string{}
				}
				d := back[i]
				if !utf8.ValidString(d) {
					d = "hex:" + hex.EncodeToString([]byte(d))
				}
				fx.Cases[i].Decoded[m.name] = d
			}
		}
		fx.Decodes[m.name] = decodings(m, rng)
		for _, c := range []struct {
			name  string
			file  string
			lines []string
		}{
			{"wikitext", "text/wikitext2_test_hfrows_crlf.raw", wiki},
			{"tinystories", "text/tinystories_val_sample.txt", stories},
		} {
			whole, err := os.ReadFile(filepath.Join(*assets, c.file))
			check(err)
			all := encode(m.path, append(append([]string(nil), c.lines...), string(whole)))
			for i := range c.lines {
				fmt.Fprintf(&corpus, "%s %s %d %d %016x\n", m.name, c.name, i+1, len(all[i]), hashIDs(all[i]))
			}
			w := all[len(all)-1]
			fmt.Fprintf(&corpus, "%s %s all %d %016x\n", m.name, c.name, len(w), hashIDs(w))
		}
	}
	js, err := json.Marshal(fx)
	check(err)
	writeGzip(filepath.Join(*out, "spm_cases.json.gz"), js)
	writeGzip(filepath.Join(*out, "spm_corpus.txt.gz"), corpus.Bytes())
}

// decodings returns random id sequences that mix byte, control, unknown
// and space pieces, with SentencePiece's decoding.
func decodings(m model, rng *rand.Rand) []Decoding {
	var seqs [][]int
	vocab := pieceCount(m.path)
	for range 1500 {
		n := 1 + rng.IntN(12)
		s := make([]int, n)
		for j := range s {
			switch r := rng.IntN(10); {
			case r < 3 && vocab > 259: // byte pieces, often UTF-8 lead and continuation bytes
				s[j] = 3 + []int{0x41, 0x0A, 0x20, 0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80, 0xFF, 0xC0, 0xED, 0xA0}[rng.IntN(16)]
			case r < 4:
				s[j] = rng.IntN(3) // <unk>, <s>, </s>
			case r < 5:
				s[j] = 3 // "▁" in tok105, <0x00> in llama2
				if vocab > 259 {
					s[j] = 29871 // "▁"
				}
			default:
				s[j] = rng.IntN(vocab)
			}
		}
		seqs = append(seqs, s)
	}
	texts := decode(m.path, seqs)
	ds := make([]Decoding, len(seqs))
	for i, s := range seqs {
		ds[i] = Decoding{IDs: s}
		if utf8.ValidString(texts[i]) {
			ds[i].Text = texts[i]
		} else {
			ds[i].Hex = hex.EncodeToString([]byte(texts[i]))
		}
	}
	return ds
}

func pieceCount(path string) int {
	out, err := exec.Command("spm_export_vocab", "--model", path).Output()
	check(err)
	return bytes.Count(out, []byte("\n"))
}

func encode(modelPath string, texts []string) [][]int {
	var in bytes.Buffer
	for _, s := range texts {
		binary.Write(&in, binary.LittleEndian, uint32(len(s)))
		in.WriteString(s)
	}
	cmd := exec.Command(*spmref, "encode", modelPath)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	if len(lines) != len(texts) {
		log.Fatalf("spmref gave %d lines for %d texts", len(lines), len(texts))
	}
	ids := make([][]int, len(lines))
	for i, l := range lines {
		ids[i] = []int{}
		for _, f := range strings.Fields(l) {
			id, err := strconv.Atoi(f)
			check(err)
			ids[i] = append(ids[i], id)
		}
	}
	return ids
}

func decode(modelPath string, seqs [][]int) []string {
	var in bytes.Buffer
	for _, s := range seqs {
		for j, id := range s {
			if j > 0 {
				in.WriteByte(' ')
			}
			in.WriteString(strconv.Itoa(id))
		}
		in.WriteByte('\n')
	}
	cmd := exec.Command(*spmref, "decode", modelPath)
	cmd.Stdin = &in
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	check(err)
	var texts []string
	for len(out) > 0 {
		n := binary.LittleEndian.Uint32(out)
		texts = append(texts, string(out[4:4+n]))
		out = out[4+n:]
	}
	if len(texts) != len(seqs) {
		log.Fatalf("spmref decoded %d of %d sequences", len(texts), len(seqs))
	}
	return texts
}

func hashIDs(ids []int) uint64 {
	h := fnv.New64a()
	for i, id := range ids {
		if i > 0 {
			h.Write([]byte{' '})
		}
		h.Write([]byte(strconv.Itoa(id)))
	}
	return h.Sum64()
}

// readLines splits a file at "\n" as spm_encode does (a "\r" stays in the
// line), dropping the empty string after a final newline.
func readLines(path string) []string {
	data, err := os.ReadFile(path)
	check(err)
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func writeGzip(path string, data []byte) {
	f, err := os.Create(path)
	check(err)
	w, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	check(err)
	_, err = w.Write(data)
	check(err)
	check(w.Close())
	check(f.Close())
	fmt.Printf("%s: %d bytes (%d uncompressed)\n", path, fileSize(path), len(data))
}

func fileSize(path string) int64 {
	st, err := os.Stat(path)
	check(err)
	return st.Size()
}

func check(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// awkward returns hand-written strings that exercise whitespace, Unicode,
// control characters, invalid UTF-8, long words and pieces that look like
// special tokens.
func awkward() []string {
	s := []string{
		"", " ", "  ", "   ", "    ", "\t", "\n", "\r\n", " \n ", "\n\n", "\t\t\n",
		"a", "a ", " a", "  a  ", "a  b", "a   b   c", "a \tb", "a\t b", "trailing space ", "two trailing  ",
		" leading", "  two leading", "hello\tworld", "line1\nline2\n\nline3", "line\r\nwith\r\ncrlf\r\n",
		"Hello, World!", "I'm", "don't", "you'll", "O'Neil's", "\"quoted\"", "(parenthesised)",
		"café", "naïve", "Ångström", "e\u0301", "a\u0300\u0301\u0302", "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
		"ﬁ ligature", "Ｆｕｌｌｗｉｄｔｈ", "ｶﾀｶﾅ", "①②③", "x²+y³", "½ ¼ ¾",
		"日本語のテキスト", "中文字符测试", "한국어 문장", "ภาษาไทย", "العربية", "עברית", "हिन्दी", "Русский текст", "Ελληνικά",
		"😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "❤️", "🦄🦄🦄", "a😀b", " 😀 ",
		"\x00", "a\x00b", "\x01\x02\x1f", "\x7f", "\u0085", "\u200b", "\ufeff", "\u00a0nbsp", "\u3000ideographic", "\u2028\u2029",
		"\U0001D11E", "\U000E0041", "\uE000", "\U0010FFFD", "\uFFFD", "\uFFFF", "\U0001F9EC",
		"\xff", "a\xc3", "\xe2\x82", "\xed\xa0\x80", "\xc0\x80", "\xf4\x90\x80\x80", "\x80\x80", "ok\xffok\xfe", "\xe2\x82\xac\xe2\x82",
		strings.Repeat("a", 1000), strings.Repeat("supercalifragilistic", 50), strings.Repeat("▁", 50),
		strings.Repeat(" ", 100), strings.Repeat("ab", 500), strings.Repeat("1234567890", 20), strings.Repeat("x ", 300),
		strings.Repeat("😀", 100), strings.Repeat("é", 200), strings.Repeat("\n", 50), strings.Repeat("\t ", 40),
		"3.14159", "1,000,000", "2024-01-01T12:00:00Z", "0x1F", "1e-10", "v1.2.3",
		"!!!???...,,,;;;", "----====", "''''''", "```", "$$$", "...", "—–-", "«»‹›", "•◦‣",
		"https://example.com/path?query=1&b=2#frag", "user@example.org", "C:\\Windows\\System32",
		"def f(x):\n    return x**2\n", "{\"key\": [1, 2, {\"a\": null}]}", "<html><body>hi</body></html>", "if (a && b) { c++; }",
		"<s>", "</s>", "<unk>", "<0x41>", "<s>hello</s>", "▁", "▁▁hello", "hello▁world", " ▁ ", "<pad>", "[INST] hi [/INST]",
		"The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "tHe QuIcK bRoWn",
		"Once upon a time, there was a little girl named Lily. She loved to play outside in the park.",
	}
	return s
}

// randomText draws a string from a pool that mixes ASCII, spaces, accents,
// CJK, emoji, control characters and invalid bytes.
func randomText(rng *rand.Rand) string {
	pool := []string{
		"a", "e", "t", "the", "ing", " ", " ", " ", "  ", "\t", "\n", "\r", ".", ",", "'", "\"", "-", "0", "7", "42",
		"é", "ü", "ß", "ñ", "ç", "\u0301", "日", "本", "語", "中", "한", "ا", "я", "Ω", "😀", "👍", "\u200d", "🏽",
		"\x00", "\x1b", "\x7f", "\xff", "\xc3", "\xe2\x82", "\u00a0", "▁", "<s>", "<0x41>", "Hello", "world", " the", "ation",
	}
	n := 1 + rng.IntN(40)
	var b strings.Builder
	for range n {
		b.WriteString(pool[rng.IntN(len(pool))])
	}
	return b.String()
}
