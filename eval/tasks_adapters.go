package eval

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// adaptersFormat describes how one task is embedded in the LLM-Adapters
// instruction text (MANIFEST §4d):
//
//	{Prefix}{question}\n\n{Key}1: {option 1}{sep}{Key}2: {option 2}…{sep}Answer format: {key}1/{key}2/…
//
// where sep is " " (ARC, OpenBookQA, WinoGrande) or "\n\n" (PIQA, and
// before "Answer format" in all but WinoGrande); the answer is "{key}N".
type adaptersFormat struct {
	Prefix string
	Key    string // "Answer", "Solution", "Option"
}

var adaptersFormats = map[string]adaptersFormat{
	"arc-easy":      {"Please choose the correct answer to the question: ", "Answer"},
	"arc-challenge": {"Please choose the correct answer to the question: ", "Answer"},
	"arc":           {"Please choose the correct answer to the question: ", "Answer"},
	"obqa":          {"Please choose the correct answer to the question: ", "Answer"},
	"piqa":          {"Please choose the correct solution to the question: ", "Solution"},
	"winogrande":    {"Please choose the correct answer to fill in the blank to complete the given sentence: ", "Option"},
}

// adaptersMaxOptions bounds the options of one question (ARC has up to 5).
const adaptersMaxOptions = 8

// parseAdapters reads ARC, OpenBookQA, PIQA or WinoGrande in the
// LLM-Adapters JSON format (an array of {instruction, input, output,
// answer}), parses the question and options back out of the instruction,
// and builds lm-eval's prompts:
//
//	ARC:        "Question: {question}\nAnswer:"  + " " + option
//	PIQA:       "Question: {goal}\nAnswer:"      + " " + solution
//	OpenBookQA: "{question_stem}"                + " " + option
//	WinoGrande: "{sentence up to _}{option}"     + " " + "{rest after _, stripped}"
//
// WinoGrande is lm-eval's partial scoring: the two options give two
// contexts and the continuation (the rest of the sentence) is shared.
func parseAdapters(name, task string, data []byte, limit int) ([]Item, error) {
	f, ok := adaptersFormats[task]
	if !ok {
		return nil, fmt.Errorf("%s: not an LLM-Adapters task", task)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return nil, fmt.Errorf("%s %s:1: not a JSON array of questions", task, name)
	}
	var items []Item
	for dec.More() {
		if limit > 0 && len(items) >= limit {
			return items, nil
		}
		off := int(dec.InputOffset())
		for off < len(data) && (data[off] == ',' || data[off] == ' ' || data[off] == '\n' || data[off] == '\r' || data[off] == '\t') {
			off++
		}
		line := mcLineAt(data, off)
		var rec struct {
			Instruction *string `json:"instruction"`
			Answer      *string `json:"answer"`
		}
		if err := dec.Decode(&rec); err != nil {
			return nil, fmt.Errorf("%s %s:%d: %w", task, name, line, mcJSONErr(err))
		}
		it, err := adaptersItem(f, task, rec.Instruction, rec.Answer)
		if err != nil {
			return nil, fmt.Errorf("%s %s:%d: %w", task, name, line, err)
		}
		it.ID = fmt.Sprintf("%s:%d", name, line)
		items = append(items, it)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("%s %s:%d: %w", task, name, mcLineAt(data, int(dec.InputOffset())), mcJSONErr(err))
	}
	return items, nil
}

// mcJSONErr turns an unexpected EOF into a clearer message.
func mcJSONErr(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of file")
	}
	return err
}

// adaptersItem parses one record's instruction and answer into an item.
func adaptersItem(f adaptersFormat, task string, instruction, answer *string) (Item, error) {
	if instruction == nil {
		return Item{}, errors.New(`no "instruction" field`)
	}
	if answer == nil {
		return Item{}, errors.New(`no "answer" field`)
	}
	ins := *instruction
	if !utf8.ValidString(ins) {
		return Item{}, errors.New("instruction is not valid UTF-8")
	}
	question, options, err := adaptersSplit(f, ins)
	if err != nil {
		return Item{}, err
	}
	key := strings.ToLower(f.Key)
	num, ok := strings.CutPrefix(*answer, key)
	gold, err := strconv.Atoi(num)
	if !ok || err != nil || gold < 1 || gold > len(options) || num != strconv.Itoa(gold) {
		return Item{}, fmt.Errorf("answer %q is not one of %s1…%s%d", *answer, key, key, len(options))
	}
	it := Item{Gold: gold - 1}
	switch task {
	case "winogrande":
		if len(options) != 2 {
			return Item{}, fmt.Errorf("%d options, want 2", len(options))
		}
		blank := strings.Index(question, "_")
		if blank < 0 {
			return Item{}, errors.New(`sentence has no blank "_"`)
		}
		rest := " " + strings.TrimSpace(question[blank+1:])
		for _, o := range options {
			ctx := question[:blank] + o
			it.Choices = append(it.Choices, Choice{Context: ctx, Continuation: rest, Text: ctx})
		}
	default:
		ctx := "Question: " + question + "\nAnswer:"
		if task == "obqa" {
			ctx = question
		}
		if task == "piqa" && len(options) != 2 {
			return Item{}, fmt.Errorf("%d solutions, want 2", len(options))
		}
		if len(options) < 2 {
			return Item{}, fmt.Errorf("%d options, want at least 2", len(options))
		}
		for _, o := range options {
			it.Choices = append(it.Choices, Choice{Context: ctx, Continuation: " " + o, Text: o})
		}
	}
	return it, nil
}

// adaptersSplit cuts an instruction into the question and the option texts.
func adaptersSplit(f adaptersFormat, ins string) (string, []string, error) {
	body, ok := strings.CutPrefix(ins, f.Prefix)
	if !ok {
		return "", nil, fmt.Errorf("instruction does not start with %q", f.Prefix)
	}
	const format = "Answer format: "
	fi := strings.LastIndex(body, format)
	if fi < 0 {
		return "", nil, fmt.Errorf("instruction has no %q", format)
	}
	key := strings.ToLower(f.Key)
	var n int
	for i, k := range strings.Split(body[fi+len(format):], "/") {
		if strings.TrimSpace(k) != key+strconv.Itoa(i+1) {
			return "", nil, fmt.Errorf("answer format %q is not %s1/%s2/…", body[fi+len(format):], key, key)
		}
		n = i + 1
	}
	if n < 2 || n > adaptersMaxOptions {
		return "", nil, fmt.Errorf("answer format lists %d options, want 2–%d", n, adaptersMaxOptions)
	}
	first := "\n\n" + f.Key + "1: "
	qi := strings.Index(body[:fi], first)
	if qi < 0 {
		return "", nil, fmt.Errorf("instruction has no %q", strings.TrimSpace(first))
	}
	question := body[:qi]
	if strings.TrimSpace(question) == "" {
		return "", nil, errors.New("empty question")
	}
	block := body[qi+len(first) : fi]
	options := make([]string, 0, n)
	for k := 2; k <= n; k++ {
		marker := f.Key + strconv.Itoa(k) + ": "
		i := strings.Index(block, marker)
		if i < 0 {
			return "", nil, fmt.Errorf("instruction has no %q (answer format lists %d options)", strings.TrimSpace(marker), n)
		}
		options = append(options, adaptersTrimSep(block[:i]))
		block = block[i+len(marker):]
	}
	if strings.Contains(block, f.Key+strconv.Itoa(n+1)+": ") {
		return "", nil, fmt.Errorf("more options than the %d the answer format lists", n)
	}
	options = append(options, adaptersTrimSep(block))
	for i, o := range options {
		if strings.TrimSpace(o) == "" {
			return "", nil, fmt.Errorf("option %d is empty", i+1)
		}
	}
	return question, options, nil
}

// adaptersTrimSep removes the separator that follows an option in the
// instruction: "\n\n" if present, else one space. An option's own trailing
// spaces (PIQA has some) survive.
func adaptersTrimSep(s string) string {
	if t, ok := strings.CutSuffix(s, "\n\n"); ok {
		return t
	}
	if t, ok := strings.CutSuffix(s, " "); ok {
		return t
	}
	return s
}
