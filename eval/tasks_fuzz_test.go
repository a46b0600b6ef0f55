package eval

import (
	"strings"
	"testing"
)

// checkItems asserts what every loader promises about the items it returns.
func checkItems(t *testing.T, name string, items []Item, minOptions, maxOptions int) {
	t.Helper()
	for _, it := range items {
		if !strings.HasPrefix(it.ID, name+":") {
			t.Fatalf("item ID %q does not name the file", it.ID)
		}
		if len(it.Choices) < minOptions || len(it.Choices) > maxOptions {
			t.Fatalf("%s: %d options", it.ID, len(it.Choices))
		}
		if it.Gold < 0 || it.Gold >= len(it.Choices) {
			t.Fatalf("%s: gold %d of %d options", it.ID, it.Gold, len(it.Choices))
		}
		for _, c := range it.Choices {
			if c.Text == "" || c.Continuation == "" {
				t.Fatalf("%s: empty option %+v", it.ID, c)
			}
		}
	}
}

func FuzzHellaSwag(f *testing.F) {
	f.Add([]byte("Roof shingle removal: A man is sitting on a roof. he\n3\na.\nb.\nc.\nd.\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := parseHellaSwag("h.txt", data, 0)
		if err != nil {
			if !strings.Contains(err.Error(), "h.txt") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		checkItems(t, "h.txt", items, 4, 4)
	})
}

func FuzzMMLU(f *testing.F) {
	f.Add([]byte("q,a,b,c,d,A\n"), []byte("q,a,b,c,d,B\n"), uint8(1))
	f.Fuzz(func(t *testing.T, test, dev []byte, shots uint8) {
		items, err := parseMMLU("m_test.csv", "m_dev.csv", "subject", test, dev, int(shots%6), 0)
		if err != nil {
			if !strings.Contains(err.Error(), "m_test.csv") && !strings.Contains(err.Error(), "m_dev.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		checkItems(t, "m_test.csv", items, 4, 4)
	})
}

var fuzzAdapterTasks = []string{"arc-easy", "arc-challenge", "obqa", "piqa", "winogrande"}

func FuzzAdapters(f *testing.F) {
	f.Add([]byte(`[{"instruction": "Please choose the correct answer to the question: Q?\n\nAnswer1: a Answer2: b\n\nAnswer format: answer1/answer2", "answer": "answer2"}]`), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, which uint8) {
		task := fuzzAdapterTasks[int(which)%len(fuzzAdapterTasks)]
		items, err := parseAdapters("a.json", task, data, 0)
		if err != nil {
			if !strings.Contains(err.Error(), "a.json:") {
				t.Fatalf("error %q does not name the file and line", err)
			}
			return
		}
		checkItems(t, "a.json", items, 2, adaptersMaxOptions)
		for _, it := range items {
			if task == "winogrande" && it.Choices[0].Continuation != it.Choices[1].Continuation {
				t.Fatalf("%s: WinoGrande continuations differ", it.ID)
			}
			if task != "winogrande" && it.Choices[0].Context != it.Choices[len(it.Choices)-1].Context {
				t.Fatalf("%s: contexts differ", it.ID)
			}
		}
	})
}

func FuzzBBQ(f *testing.F) {
	f.Add([]byte(`{"question_polarity": "neg", "context_condition": "ambig", "category": "Age", "answer_info": {"ans0": ["a", "old"], "ans1": ["b", "nonOld"], "ans2": ["c", "unknown"]}, "additional_metadata": {"stereotyped_groups": ["old"]}, "context": "C", "question": "Q", "ans0": "A", "ans1": "B", "ans2": "U", "label": 2}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := parseBBQ("b.jsonl", data, 0)
		if err != nil {
			if !strings.Contains(err.Error(), "b.jsonl:") {
				t.Fatalf("error %q does not name the file and line", err)
			}
			return
		}
		checkItems(t, "b.jsonl", items, 3, 3)
		for _, it := range items {
			b := it.BBQ
			if b == nil || b.Unknown < 0 || b.Unknown > 2 || b.Target < -1 || b.Target > 2 || b.Target == b.Unknown || len(b.Labels) != 3 {
				t.Fatalf("%s: %+v", it.ID, b)
			}
		}
	})
}
