package eval

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A Task is a multiple-choice benchmark turned into log-likelihood requests
// the way lm-evaluation-harness builds them (docs/mc.md lists each prompt).
type Task struct {
	Name  string // canonical task name (TaskNames)
	Path  string // the file or directory it was read from
	Shots int    // few-shot examples in every prompt (MMLU only)
	// Rule is the task's default decision rule for flips: "acc" or
	// "acc_norm" (docs/mc.md says why per task).
	Rule  string
	Items []Item
}

// An Item is one question: its options as (context, continuation) pairs
// whose log-likelihoods are compared, and the index of the gold option.
type Item struct {
	ID      string // where the question comes from, "FILE:LINE"
	Subset  string // MMLU subject or BBQ category; "" for other tasks
	Choices []Choice
	Gold    int
	BBQ     *BBQInfo // BBQ only
}

// A Choice is one option of an item. The model scores
// log p(Continuation | Context), summed over the continuation's tokens.
type Choice struct {
	Context      string
	Continuation string // usually " " + the option text (lm-eval's target_delimiter)
	// Text is the option as lm-eval's doc_to_choice gives it; acc_norm
	// divides the log-likelihood by its length in characters.
	Text string
}

// BBQInfo is what BBQ's bias scores need to know about an item (METRICS.md
// §4.3).
type BBQInfo struct {
	Ambiguous bool // context_condition == "ambig"
	Negative  bool // question_polarity == "neg"
	Unknown   int  // the UNKNOWN option ("Can't be determined", …)
	// Target is the option naming the stereotyped group
	// (additional_metadata.stereotyped_groups matched against answer_info),
	// or −1 when no option matches: such items are left out of the
	// official bias score.
	Target int
	Labels []string // answer_info category label of each option ("old", "nonOld", "unknown")
}

// TaskOptions adjust how a task file is read.
type TaskOptions struct {
	// Shots is the number of few-shot examples (MMLU: the first Shots rows
	// of the subject's dev file, lm-eval's first_n sampler; at most 5).
	// Other tasks are zero-shot, as the papers evaluate them, and reject
	// Shots > 0.
	Shots int
	// Limit keeps only the first Limit items (0: all), in file order
	// (MMLU: subjects in alphabetical order; BBQ: files in alphabetical
	// order).
	Limit int
}

// TaskNames lists the task names LoadTask accepts. "arc" takes ARC-Easy or
// ARC-Challenge from the file name.
func TaskNames() []string {
	return []string{"hellaswag", "mmlu", "arc", "arc-easy", "arc-challenge", "piqa", "winogrande", "obqa", "bbq"}
}

// taskAliases maps other spellings (lm-eval's task names, the file names of
// the LLM-Adapters data) to the canonical names.
var taskAliases = map[string]string{
	"arc_easy": "arc-easy", "arce": "arc-easy", "arc-e": "arc-easy",
	"arc_challenge": "arc-challenge", "arcc": "arc-challenge", "arc-c": "arc-challenge",
	"openbookqa": "obqa", "hendrycks_test": "mmlu",
}

// CanonicalTask returns the canonical name of a task, or an error listing
// the known names.
func CanonicalTask(name string) (string, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if a, ok := taskAliases[n]; ok {
		n = a
	}
	for _, t := range TaskNames() {
		if n == t {
			return n, nil
		}
	}
	return "", fmt.Errorf("unknown task %q (known: %s)", name, strings.Join(TaskNames(), ", "))
}

// taskRule is the decision rule each task's flips use by default: acc_norm
// where lm-eval reports it and the literature quotes it (HellaSwag, ARC,
// OpenBookQA, PIQA), acc where the options are single letters (MMLU,
// where acc = acc_norm), where the continuation is shared (WinoGrande),
// and for BBQ, whose bias scores are defined on the unnormalised sum.
func taskRule(name string) string {
	switch name {
	case "hellaswag", "arc", "arc-easy", "arc-challenge", "piqa", "obqa":
		return "acc_norm"
	}
	return "acc"
}

// LoadTask reads a benchmark file (or directory) in the formats of
// MANIFEST §4 and builds its items: HellaSwag in llama.cpp's text format,
// MMLU CSVs (a directory holding dev/ and test/, a directory of *_test.csv
// files, or one subject's test CSV with its dev CSV beside it or in
// ../dev), ARC-Easy, ARC-Challenge, PIQA, WinoGrande and OpenBookQA in the
// LLM-Adapters JSON format, and BBQ JSONL (one file or a directory of
// category files). A malformed row is an error naming its file and line.
func LoadTask(name, path string, o TaskOptions) (*Task, error) {
	task, err := CanonicalTask(name)
	if err != nil {
		return nil, err
	}
	if o.Shots < 0 || o.Limit < 0 {
		return nil, fmt.Errorf("%s: negative shots or limit", task)
	}
	if o.Shots > 0 && task != "mmlu" {
		return nil, fmt.Errorf("%s: few-shot prompts are only built for mmlu (got --shots %d)", task, o.Shots)
	}
	if task == "arc" {
		task = arcFromName(path)
	}
	t := &Task{Name: task, Path: path, Shots: o.Shots, Rule: taskRule(task)}
	switch task {
	case "hellaswag":
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("hellaswag: %w", err)
		}
		t.Items, err = parseHellaSwag(path, data, o.Limit)
		if err != nil {
			return nil, err
		}
	case "mmlu":
		t.Items, err = loadMMLU(path, o.Shots, o.Limit)
		if err != nil {
			return nil, err
		}
	case "arc", "arc-easy", "arc-challenge", "piqa", "winogrande", "obqa":
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", task, err)
		}
		t.Items, err = parseAdapters(path, task, data, o.Limit)
		if err != nil {
			return nil, err
		}
	case "bbq":
		t.Items, err = loadBBQ(path, o.Limit)
		if err != nil {
			return nil, err
		}
	}
	if len(t.Items) == 0 {
		return nil, fmt.Errorf("%s: %s: no items", task, path)
	}
	return t, nil
}

// arcFromName tells ARC-Easy from ARC-Challenge by the file name.
func arcFromName(path string) string {
	base := strings.ToLower(filepath.Base(path))
	switch {
	case strings.Contains(base, "challenge"):
		return "arc-challenge"
	case strings.Contains(base, "easy"):
		return "arc-easy"
	}
	return "arc"
}

// mcFiles lists the regular files of dir whose names end in
// suffix, sorted by name.
func mcFiles(dir, suffix string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), suffix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// mcLineAt returns the 1-based line number of byte offset off in data.
func mcLineAt(data []byte, off int) int {
	off = min(max(off, 0), len(data))
	return 1 + bytes.Count(data[:off], []byte{'\n'})
}
