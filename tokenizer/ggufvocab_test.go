package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"testing"
)

// ggufVocab is the tokenizer metadata of a GGUF file, read by a minimal
// test-only reader (package tokenizer must not import package gguf).
type ggufVocab struct {
	model  string
	tokens []string
	scores []float32
	types  []int32
	opts   VocabOptions
}

// readGGUFVocab reads the tokenizer.* keys of a little-endian GGUF v2/v3 file.
func readGGUFVocab(t testing.TB, path string) *ggufVocab {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &ggufReader{data: data}
	if string(r.next(4)) != "GGUF" {
		t.Fatalf("%s: not a GGUF file", path)
	}
	version := r.u32()
	if version != 2 && version != 3 {
		t.Fatalf("%s: GGUF version %d", path, version)
	}
	r.u64() // tensor count
	nkv := r.u64()
	v := &ggufVocab{opts: DefaultVocabOptions()}
	for range nkv {
		key := r.str()
		typ := r.u32()
		val := r.value(typ)
		switch key {
		case "tokenizer.ggml.model":
			v.model = val.(string)
			v.opts.Model = v.model
		case "tokenizer.ggml.tokens":
			for _, x := range val.([]any) {
				v.tokens = append(v.tokens, x.(string))
			}
		case "tokenizer.ggml.scores":
			for _, x := range val.([]any) {
				v.scores = append(v.scores, x.(float32))
			}
		case "tokenizer.ggml.token_type":
			for _, x := range val.([]any) {
				v.types = append(v.types, x.(int32))
			}
		case "tokenizer.ggml.bos_token_id":
			v.opts.BOS = int(val.(uint32))
		case "tokenizer.ggml.eos_token_id":
			v.opts.EOS = int(val.(uint32))
		case "tokenizer.ggml.unknown_token_id":
			v.opts.Unk = int(val.(uint32))
		case "tokenizer.ggml.add_bos_token":
			v.opts.AddBOS = val.(bool)
		case "tokenizer.ggml.add_eos_token":
			v.opts.AddEOS = val.(bool)
		case "tokenizer.ggml.add_space_prefix":
			v.opts.NoSpacePrefix = !val.(bool)
		}
	}
	if r.err != nil {
		t.Fatalf("%s: %v", path, r.err)
	}
	return v
}

type ggufReader struct {
	data []byte
	off  int
	err  error
}

func (r *ggufReader) next(n uint64) []byte {
	if r.err != nil || n > uint64(len(r.data)-r.off) {
		if r.err == nil {
			r.err = fmt.Errorf("truncated at byte %d", r.off)
		}
		return make([]byte, min(n, 8))
	}
	b := r.data[r.off : r.off+int(n)]
	r.off += int(n)
	return b
}

func (r *ggufReader) u32() uint32 { return binary.LittleEndian.Uint32(r.next(4)) }
func (r *ggufReader) u64() uint64 { return binary.LittleEndian.Uint64(r.next(8)) }
func (r *ggufReader) str() string { return string(r.next(r.u64())) }

func (r *ggufReader) value(typ uint32) any {
	switch typ {
	case 0, 1:
		return r.next(1)[0]
	case 2, 3:
		r.next(2)
		return nil
	case 4:
		return r.u32()
	case 5:
		return int32(r.u32())
	case 6:
		return math.Float32frombits(r.u32())
	case 7:
		return r.next(1)[0] != 0
	case 8:
		return r.str()
	case 9:
		et := r.u32()
		n := r.u64()
		if n > uint64(len(r.data)) {
			r.err = fmt.Errorf("array of %d elements", n)
			return []any{}
		}
		out := make([]any, 0, n)
		for range n {
			out = append(out, r.value(et))
		}
		return out
	case 10, 11, 12:
		return r.u64()
	}
	r.err = fmt.Errorf("value type %d", typ)
	return nil
}
