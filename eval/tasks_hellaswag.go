package eval

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// parseHellaSwag reads HellaSwag in llama.cpp's text format (the file
// `llama-perplexity --hellaswag` reads): six lines per question — the
// context "activity_label: ctx", the gold ending 0–3, and the four endings.
//
// lm-eval builds the context as preprocess(activity_label + ": " + ctx_a +
// " " + ctx_b.capitalize()) and each choice as preprocess(ending), with " "
// between them. The file holds ctx_a + " " + ctx_b with ctx_b as it is in
// the data set (lower case: "… on a roof. he"), and its text has already
// lost most WikiHow bracket tags. So we apply lm-eval's preprocess to the
// context and the endings (idempotent on text already cleaned, and it
// removes the few brackets left), and capitalise ctx_b, which the file does
// not delimit: when the context ends in an unfinished sentence that starts
// with a lower-case letter, that letter is upper-cased (hellaswagCapitalize).
func parseHellaSwag(name string, data []byte, limit int) ([]Item, error) {
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	if len(lines)%6 != 0 {
		n := len(lines) / 6
		return nil, fmt.Errorf("hellaswag %s:%d: question %d is cut short (%d of 6 lines: context, label, 4 endings)",
			name, 6*n+1, n+1, len(lines)%6)
	}
	var items []Item
	for q := 0; q < len(lines)/6 && (limit <= 0 || q < limit); q++ {
		at := 6 * q
		for k := range 6 {
			if strings.TrimSpace(lines[at+k]) == "" {
				return nil, fmt.Errorf("hellaswag %s:%d: empty line in question %d (6 lines per question, no blank lines)", name, at+k+1, q+1)
			}
			if !utf8.ValidString(lines[at+k]) {
				return nil, fmt.Errorf("hellaswag %s:%d: not valid UTF-8", name, at+k+1)
			}
		}
		label := strings.TrimSpace(lines[at+1])
		if len(label) != 1 || label[0] < '0' || label[0] > '3' {
			return nil, fmt.Errorf("hellaswag %s:%d: gold ending %q is not 0–3", name, at+2, label)
		}
		ctx := hellaswagPreprocess(hellaswagCapitalize(lines[at]))
		it := Item{ID: fmt.Sprintf("%s:%d", name, at+1), Gold: int(label[0] - '0')}
		for k := range 4 {
			end := hellaswagPreprocess(lines[at+2+k])
			if end == "" {
				return nil, fmt.Errorf("hellaswag %s:%d: ending %d is empty after preprocessing", name, at+3+k, k)
			}
			it.Choices = append(it.Choices, Choice{Context: ctx, Continuation: " " + end, Text: end})
		}
		items = append(items, it)
	}
	return items, nil
}

var hellaswagBrackets = regexp.MustCompile(`\[.*?\]`)

// hellaswagPreprocess is lm-eval's hellaswag preprocess: strip, " [title]"
// → ". ", drop "[…]" tags, one pass of "  " → " ".
func hellaswagPreprocess(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, " [title]", ". ")
	s = hellaswagBrackets.ReplaceAllString(s, "")
	return strings.ReplaceAll(s, "  ", " ")
}

// hellaswagCapitalize stands in for lm-eval's ctx_b.capitalize(): ctx_b is
// the unfinished sentence the endings complete ("the man"). When the text
// after the activity label ends without closing punctuation, the words
// after its last sentence end (". ", "! ", "? ") are taken as ctx_b and
// their first letter is upper-cased. (capitalize() also lower-cases the
// rest of ctx_b, which in HellaSwag is already lower case.)
func hellaswagCapitalize(line string) string {
	s := strings.TrimRightFunc(line, unicode.IsSpace)
	body := 0
	if i := strings.Index(s, ": "); i >= 0 {
		body = i + 2
	}
	if s == "" || strings.ContainsRune(".!?\"')", rune(s[len(s)-1])) {
		return line
	}
	start := body
	for _, sep := range []string{". ", "! ", "? "} {
		if i := strings.LastIndex(s[body:], sep); i >= 0 {
			start = max(start, body+i+len(sep))
		}
	}
	r, size := utf8.DecodeRuneInString(s[start:])
	if !unicode.IsLower(r) {
		return line
	}
	return line[:start] + string(unicode.ToUpper(r)) + line[start+size:]
}
