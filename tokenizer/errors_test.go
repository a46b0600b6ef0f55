package tokenizer

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// protoPiece is one ModelProto.SentencePiece for building test models.
type protoPiece struct {
	piece string
	score float32
	typ   Type
}

// trainerSpec returns a TrainerSpec with model_type BPE and the given
// extra fields (already encoded).
func trainerSpec(extra ...[]byte) []byte {
	b := protowire.AppendTag(nil, trainerModelType, protowire.VarintType)
	b = protowire.AppendVarint(b, 2)
	for _, e := range extra {
		b = append(b, e...)
	}
	return b
}

func varintField(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func bytesField(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

// identityNormalizer is Llama's NormalizerSpec.
func identityNormalizer() []byte {
	b := bytesField(normName, []byte("identity"))
	b = append(b, varintField(normAddDummyPrefix, 1)...)
	b = append(b, varintField(normRemoveExtraWhitespaces, 0)...)
	return b
}

// buildModelProto serializes a ModelProto.
func buildModelProto(pieces []protoPiece, trainer, normalizer []byte) []byte {
	var b []byte
	for _, p := range pieces {
		var m []byte
		m = append(m, bytesField(piecePiece, []byte(p.piece))...)
		m = protowire.AppendTag(m, pieceScore, protowire.Fixed32Type)
		m = protowire.AppendFixed32(m, math.Float32bits(p.score))
		if p.typ != 0 && p.typ != Normal {
			m = append(m, varintField(pieceType, uint64(p.typ))...)
		}
		b = append(b, bytesField(modelPieces, m)...)
	}
	if trainer != nil {
		b = append(b, bytesField(modelTrainerSpec, trainer)...)
	}
	if normalizer != nil {
		b = append(b, bytesField(modelNormalizerSpec, normalizer)...)
	}
	return b
}

// smallPieces is a tiny Llama-like vocabulary: <unk>, <s>, </s>, two byte
// pieces, "▁" and a few merges.
func smallPieces() []protoPiece {
	return []protoPiece{
		{"<unk>", 0, Unknown}, {"<s>", 0, Control}, {"</s>", 0, Control},
		{"<0x0A>", 0, Byte}, {"<0xC3>", 0, Byte},
		{"▁", -1, Normal}, {"a", -2, Normal}, {"b", -3, Normal}, {"▁a", -4, Normal}, {"ab", -5, Normal}, {"▁ab", -6, Normal},
	}
}

func smallModel() []byte {
	return buildModelProto(smallPieces(), trainerSpec(varintField(trainerByteFallback, 1)), identityNormalizer())
}

func TestSmallModel(t *testing.T) {
	tk, err := ParseModelProto(smallModel())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		in   string
		want string
	}{
		{"ab", "10"},
		{"ab ab", "10 10"},
		{"a\nb", "8 3 7"},
		{"é", "5 4 0"}, // é = C3 A9; <0xA9> is missing, so that byte is <unk>
		{"", ""},
	} {
		if got := idsString(tk.Encode(c.in, false, false)); got != c.want {
			t.Errorf("Encode(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

func TestParseModelProtoErrors(t *testing.T) {
	bpe := trainerSpec(varintField(trainerByteFallback, 1))
	withPieces := func(f func([]protoPiece) []protoPiece) []byte {
		return buildModelProto(f(smallPieces()), bpe, identityNormalizer())
	}
	huge := protowire.AppendTag(nil, modelPieces, protowire.BytesType)
	huge = protowire.AppendVarint(huge, 1<<40)
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "no pieces"},
		{"no pieces", buildModelProto(nil, bpe, identityNormalizer()), "no pieces"},
		{"truncated varint", []byte{0x0a, 0x80}, "field 1 at byte 1"},
		{"truncated tag", []byte{0x80}, "bad field tag at byte 0"},
		{"absurd length", huge, "field 1"},
		{"pieces as varint", varintField(modelPieces, 1), "field pieces has wire type varint, want bytes"},
		{"pieces as group", []byte{0x0b, 0x0c}, "field pieces has wire type group, want bytes"},
		{"score as varint", bytesField(modelPieces, append(bytesField(piecePiece, []byte("a")), varintField(pieceScore, 1)...)), "pieces[0]: field score has wire type varint, want fixed32"},
		{"bad piece type", withPieces(func(p []protoPiece) []protoPiece { p[6].typ = 9; return p }), "pieces[6]: type 9 is not a piece type"},
		{"trainer spec wire type", append(smallModel(), varintField(modelTrainerSpec, 3)...), "field trainer_spec has wire type varint"},
		{"model type unigram", buildModelProto(smallPieces(), nil, identityNormalizer()), "model type unigram not supported"},
		{"model type char", buildModelProto(smallPieces(), varintField(trainerModelType, 4), nil), "model type char not supported"},
		{"empty piece", withPieces(func(p []protoPiece) []protoPiece { p[6].piece = ""; return p }), "piece 6 is empty"},
		{"duplicate piece", withPieces(func(p []protoPiece) []protoPiece { p[7].piece = "a"; return p }), `piece "a" is defined twice (ids 6 and 7)`},
		{"two unknowns", withPieces(func(p []protoPiece) []protoPiece { p[6].typ = Unknown; return p }), "pieces 0 and 6 are both typed unknown"},
		{"no unknown", withPieces(func(p []protoPiece) []protoPiece { return p[1:] }), "no piece is typed unknown"},
		{"bad byte piece", withPieces(func(p []protoPiece) []protoPiece { p[3].piece = "<0xZZ>"; return p }), "is typed byte but is not of the form <0xXX>"},
		{"bos out of range", buildModelProto(smallPieces(), trainerSpec(varintField(trainerByteFallback, 1), varintField(trainerBosID, 99)), nil), "trainer_spec.bos_id 99 out of range [0, 11)"},
		{"eos negative", buildModelProto(smallPieces(), trainerSpec(varintField(trainerByteFallback, 1), varintField(trainerEosID, uint64(math.MaxUint64-4))), nil), "trainer_spec.eos_id -5 out of range"},
		{"byte piece without fallback", buildModelProto(smallPieces(), trainerSpec(), nil), "byte piece 3 \"<0x0A>\" found although byte_fallback is false"},
		{"nfkc", buildModelProto(smallPieces(), bpe, append(bytesField(normName, []byte("nmt_nfkc")), bytesField(normPrecompiledCharsmap, []byte{1, 2, 3})...)), `normalizer "nmt_nfkc" (precompiled charsmap, 3 bytes) not supported`},
		{"whitespace suffix", buildModelProto(smallPieces(), trainerSpec(varintField(trainerByteFallback, 1), varintField(trainerTreatWhitespaceAsSuffix, 1)), nil), "treat_whitespace_as_suffix not supported"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseModelProto(c.data)
			checkErr(t, err, c.want)
		})
	}
}

func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	msg := err.Error()
	if !strings.Contains(msg, want) {
		t.Errorf("error %q does not contain %q", msg, want)
	}
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "tokenizer: ") {
		t.Errorf("error %q is not one line starting with \"tokenizer: \"", msg)
	}
}

// llama2CFile serializes a llama2.c tokenizer.bin.
func llama2CFile(maxLen int32, pieces []string, scores []float32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(maxLen))
	for i, p := range pieces {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(scores[i]))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p)))
		b = append(b, p...)
	}
	return b
}

func smallLlama2C() ([]string, []float32) {
	return []string{"<unk>", "\n<s>\n", "\n</s>\n", "<0x0A>", " ", "a", " a"}, []float32{0, 0, 0, 0, -1, -2, -3}
}

func TestLoadLlama2CErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pieces, scores := smallLlama2C()
	good := llama2CFile(6, pieces, scores)
	if tk, err := LoadLlama2C(write("good.bin", good), 7); err != nil || idsString(tk.Encode("a a\n", true, false)) != "1 6 6 3" {
		t.Fatalf("small tokenizer.bin: %v", err)
	}
	negLen := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(negLen[4+4:], uint32(0xFFFFFFF0))
	bigLen := append([]byte(nil), good...)
	binary.LittleEndian.PutUint32(bigLen[4+4:], 1<<30)
	dup := llama2CFile(6, []string{"<unk>", "a", "a"}, []float32{0, 0, 0})
	noUnk := llama2CFile(6, []string{"a", "b"}, []float32{0, 0})
	for _, c := range []struct {
		name  string
		data  []byte
		vocab int
		want  string
	}{
		{"empty file", nil, 7, "0 bytes, too short for the header"},
		{"header only", good[:4], 7, "too few tokens"},
		{"negative max length", llama2CFile(-1, pieces, scores), 7, "max_token_length -1 is negative"},
		{"too few tokens", good, 8, "token 7: header at byte 86 beyond end of file (86 bytes); too few tokens"},
		{"absurd vocab", good, 1 << 40, "too few tokens"},
		{"truncated token", good[:len(good)-1], 7, "token 6: length 2"},
		{"negative length", negLen, 7, "token 0: length -16"},
		{"absurd length", bigLen, 7, "token 0: length 1073741824"},
		{"trailing bytes", append(append([]byte(nil), good...), 1, 2, 3), 0, "token 7: header at byte"},
		{"duplicate", dup, 3, `piece "a" is defined twice`},
		{"no unk", noUnk, 2, "no piece is typed unknown"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := LoadLlama2C(write(c.name, c.data), c.vocab)
			checkErr(t, err, c.want)
		})
	}
	_, err := LoadLlama2C(filepath.Join(dir, "missing.bin"), 7)
	checkErr(t, err, "no such file")
}

func TestHFJSONErrors(t *testing.T) {
	const vocab = `"vocab": {"<unk>": 0, "<s>": 1, "▁": 2, "a": 3, "▁a": 4}`
	for _, c := range []struct {
		name, js, want string
	}{
		{"garbage", `not json`, "tokenizer.json: invalid character"},
		{"truncated", `{"model": {"type": "BPE"`, "unexpected EOF"},
		{"no model", `{}`, "no model"},
		{"wordpiece", `{"model": {"type": "WordPiece", "vocab": {}}}`, `model type "WordPiece" not supported`},
		{"empty vocab", `{"model": {"type": "BPE", "vocab": {}, "merges": []}}`, "no pieces"},
		{"vocab gap", `{"model": {"type": "BPE", "unk_token": "<unk>", "vocab": {"<unk>": 0, "a": 2}}}`, "out of range [0, 2)"},
		{"vocab duplicate id", `{"model": {"type": "BPE", "unk_token": "<unk>", "vocab": {"<unk>": 0, "a": 0}}}`, "vocab id 0 used by"},
		{"merge missing piece", `{"model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `, "merges": ["▁ b"]}}`, `merges[0] "▁" + "b": piece not in vocab`},
		{"merge bad form", `{"model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `, "merges": ["▁a"]}}`, `merges[0]: "▁a" is not two pieces`},
		{"merge bad pair", `{"model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `, "merges": [["▁"]]}}`, `merges[0]: ["▁"] is neither`},
		{"unk missing", `{"model": {"type": "BPE", "unk_token": "<pad>", ` + vocab + `}}`, `unk_token "<pad>" not in vocab`},
		{"no unk", `{"model": {"type": "BPE", ` + vocab + `}}`, "no unk_token"},
		{"added id huge", `{"added_tokens": [{"id": 1000000000, "content": "x"}], "model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `}}`, `added_tokens[0] "x": id missing or out of range [0, 6)`},
		{"added id clash", `{"added_tokens": [{"id": 3, "content": "x"}], "model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `}}`, `has id 3, which vocab gives to "a"`},
		{"nfkc", `{"normalizer": {"type": "NFKC"}, "model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `}}`, "normalizer NFKC not supported"},
		{"byte level", `{"pre_tokenizer": {"type": "ByteLevel"}, "model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `}}`, "pre_tokenizer ByteLevel not supported"},
		{"metaspace split", `{"pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "split": true}, "model": {"type": "BPE", "unk_token": "<unk>", ` + vocab + `}}`, "split=true not supported"},
		{"dropout", `{"model": {"type": "BPE", "dropout": 0.1, "unk_token": "<unk>", ` + vocab + `}}`, "dropout 0.1 not supported"},
		{"suffix", `{"model": {"type": "BPE", "end_of_word_suffix": "</w>", "unk_token": "<unk>", ` + vocab + `}}`, `end_of_word_suffix "</w>" not supported`},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "tokenizer.json")
			if err := os.WriteFile(p, []byte(c.js), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadHFJSON(p)
			checkErr(t, err, c.want)
		})
	}
}

func TestFromVocabErrors(t *testing.T) {
	pieces := []string{"<unk>", "<s>", "</s>", "▁", "a"}
	scores := []float32{0, 0, 0, -1, -2}
	types := []int32{2, 3, 3, 1, 1}
	opts := DefaultVocabOptions()
	if tk, err := FromVocab(pieces, scores, types, opts); err != nil || idsString(tk.Encode("a", tk.AddBOSDefault(), false)) != "1 3 4" {
		t.Fatalf("small vocab: %v", err)
	}
	with := func(f func(*VocabOptions)) VocabOptions { o := opts; f(&o); return o }
	for _, c := range []struct {
		name   string
		pieces []string
		scores []float32
		types  []int32
		opts   VocabOptions
		want   string
	}{
		{"gpt2", pieces, scores, types, with(func(o *VocabOptions) { o.Model = "gpt2" }), "tokenizer model gpt2 not supported"},
		{"empty", nil, nil, nil, opts, "no pieces"},
		{"scores length", pieces, scores[:2], types, opts, "5 tokens but 2 scores"},
		{"types length", pieces, scores, types[:4], opts, "5 tokens but 4 token types"},
		{"bad type", pieces, scores, []int32{2, 3, 3, 1, 7}, opts, `token 4 "a" has type 7`},
		{"bos out of range", pieces, scores, types, with(func(o *VocabOptions) { o.BOS = 5 }), "bos id 5 out of range [0, 5)"},
		{"eos out of range", pieces, scores, types, with(func(o *VocabOptions) { o.EOS = -2 }), "eos id -2 out of range"},
		{"unk out of range", pieces, scores, types, with(func(o *VocabOptions) { o.Unk = 9 }), "unknown token id 9 out of range"},
		{"unk mismatch", pieces, scores, types, with(func(o *VocabOptions) { o.Unk = 4 }), `unknown token id 4 is token "a", but token 0 "<unk>" is typed unknown`},
		{"empty piece", []string{"<unk>", "", "b"}, scores[:3], []int32{2, 1, 1}, opts, "piece 1 is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromVocab(c.pieces, c.scores, c.types, c.opts)
			checkErr(t, err, c.want)
		})
	}
}
