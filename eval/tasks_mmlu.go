package eval

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// mmluMaxShots is the number of dev rows per subject in MMLU.
const mmluMaxShots = 5

// mmluRow is one CSV record: question, four options, answer letter.
type mmluRow struct {
	line     int
	question string
	options  [4]string
	answer   int
}

// loadMMLU reads MMLU from path: a directory with test/ and dev/
// subdirectories (the layout of Hendrycks' data), a directory of
// *_test.csv (or *_val.csv) files with the dev files in the same directory
// or in ../dev, or one subject's CSV. Subjects are taken in alphabetical
// order.
func loadMMLU(path string, shots, limit int) ([]Item, error) {
	if shots > mmluMaxShots {
		return nil, fmt.Errorf("mmlu: --shots %d: the dev split has %d examples per subject", shots, mmluMaxShots)
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("mmlu: %w", err)
	}
	var tests []string
	if st.IsDir() {
		dir := path
		if sub := filepath.Join(path, "test"); mcIsDir(sub) {
			dir = sub
		}
		if tests, err = mcFiles(dir, "_test.csv"); err != nil {
			return nil, fmt.Errorf("mmlu: %w", err)
		}
		if len(tests) == 0 {
			if tests, err = mcFiles(dir, "_val.csv"); err != nil {
				return nil, fmt.Errorf("mmlu: %w", err)
			}
		}
		if len(tests) == 0 {
			return nil, fmt.Errorf("mmlu: %s: no *_test.csv or *_val.csv files (nor a test/ directory)", path)
		}
	} else {
		tests = []string{path}
	}
	var items []Item
	for _, test := range tests {
		subject := mmluSubject(test)
		data, err := os.ReadFile(test)
		if err != nil {
			return nil, fmt.Errorf("mmlu: %w", err)
		}
		var devPath string
		var dev []byte
		if shots > 0 {
			if devPath, err = mmluDevFile(test, subject); err != nil {
				return nil, err
			}
			if dev, err = os.ReadFile(devPath); err != nil {
				return nil, fmt.Errorf("mmlu: %w", err)
			}
		}
		got, err := parseMMLU(test, devPath, subject, data, dev, shots, limit-len(items))
		if err != nil {
			return nil, err
		}
		items = append(items, got...)
		if limit > 0 && len(items) >= limit {
			break
		}
	}
	return items, nil
}

func mcIsDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// mmluSubject returns the subject of a CSV file name
// ("abstract_algebra_test.csv" → "abstract_algebra").
func mmluSubject(path string) string {
	base := strings.TrimSuffix(filepath.Base(path), ".csv")
	for _, split := range []string{"_test", "_val", "_dev"} {
		if s, ok := strings.CutSuffix(base, split); ok {
			return s
		}
	}
	return base
}

// mmluDevFile finds a subject's dev CSV beside its test CSV or in ../dev.
func mmluDevFile(test, subject string) (string, error) {
	dir := filepath.Dir(test)
	name := subject + "_dev.csv"
	for _, p := range []string{filepath.Join(dir, name), filepath.Join(dir, "..", "dev", name), filepath.Join(dir, "dev", name)} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("mmlu: %s: few-shot examples need %s beside it or in ../dev", test, name)
}

// parseMMLU builds the items of one subject in lm-eval's default MMLU format:
//
//	The following are multiple choice questions (with answers) about {subject}.\n\n
//	{shot 1}\n\n … {shot K}\n\n
//	{question}\nA. {A}\nB. {B}\nC. {C}\nD. {D}\nAnswer:
//
// with the subject's underscores as spaces, the question stripped, each shot
// formatted the same way and followed by " " + its answer letter, and the
// continuations " A" … " D". Shots are the first K dev rows (first_n).
func parseMMLU(testName, devName, subject string, test, dev []byte, shots, limit int) ([]Item, error) {
	rows, err := readMMLURows(testName, test)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("The following are multiple choice questions (with answers) about ")
	b.WriteString(strings.ReplaceAll(subject, "_", " "))
	b.WriteString(".\n\n")
	if shots > 0 {
		devRows, err := readMMLURows(devName, dev)
		if err != nil {
			return nil, err
		}
		if len(devRows) < shots {
			return nil, fmt.Errorf("mmlu %s: %d rows, fewer than the %d shots asked for", devName, len(devRows), shots)
		}
		for _, r := range devRows[:shots] {
			b.WriteString(mmluQuery(r))
			b.WriteString(" ")
			b.WriteString(mmluLetters[r.answer])
			b.WriteString("\n\n")
		}
	}
	prefix := b.String()
	var items []Item
	for _, r := range rows {
		if limit > 0 && len(items) >= limit {
			break
		}
		ctx := prefix + mmluQuery(r)
		it := Item{ID: fmt.Sprintf("%s:%d", testName, r.line), Subset: subject, Gold: r.answer}
		for _, l := range mmluLetters {
			it.Choices = append(it.Choices, Choice{Context: ctx, Continuation: " " + l, Text: l})
		}
		items = append(items, it)
	}
	return items, nil
}

var mmluLetters = [4]string{"A", "B", "C", "D"}

// mmluQuery is lm-eval's doc_to_text for MMLU.
func mmluQuery(r mmluRow) string {
	return strings.TrimSpace(r.question) + "\nA. " + r.options[0] + "\nB. " + r.options[1] +
		"\nC. " + r.options[2] + "\nD. " + r.options[3] + "\nAnswer:"
}

// readMMLURows parses a headerless MMLU CSV: question,A,B,C,D,answer.
func readMMLURows(name string, data []byte) ([]mmluRow, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 6
	r.LazyQuotes = true // as Python's csv and pandas: a stray quote inside an unquoted field is text
	var rows []mmluRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("mmlu %s:%d: %w (want 6 fields: question,A,B,C,D,answer)", name, pe.StartLine, pe.Err)
			}
			return nil, fmt.Errorf("mmlu %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		for _, f := range rec {
			if !utf8.ValidString(f) {
				return nil, fmt.Errorf("mmlu %s:%d: not valid UTF-8", name, line)
			}
		}
		if strings.TrimSpace(rec[0]) == "" {
			return nil, fmt.Errorf("mmlu %s:%d: empty question", name, line)
		}
		ans := strings.TrimSpace(rec[5])
		if len(ans) != 1 || ans[0] < 'A' || ans[0] > 'D' {
			return nil, fmt.Errorf("mmlu %s:%d: answer %q is not A–D", name, line, rec[5])
		}
		row := mmluRow{line: line, question: rec[0], answer: int(ans[0] - 'A')}
		copy(row.options[:], rec[1:5])
		rows = append(rows, row)
	}
	return rows, nil
}
