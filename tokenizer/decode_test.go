package tokenizer

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// TestDecoderStreaming feeds SentencePiece's reference id sequences one id
// at a time: the pieces of text must join to Decode's result, and no piece
// may end inside a character.
func TestDecoderStreaming(t *testing.T) {
	fx := fixture(t)
	for _, model := range []string{"llama2", "tok105"} {
		t.Run(model, func(t *testing.T) {
			tk := refModel(t, model)
			var seqs [][]int
			for _, d := range fx.Decodes[model] {
				seqs = append(seqs, d.IDs)
			}
			for _, c := range fx.Cases {
				seqs = append(seqs, c.IDs[model])
			}
			for _, ids := range seqs {
				d := tk.NewDecoder()
				var b strings.Builder
				for _, id := range ids {
					s := d.Next(id)
					if !utf8.ValidString(s) {
						t.Fatalf("%v: Next(%d) = %q, not valid UTF-8", ids, id, s)
					}
					b.WriteString(s)
				}
				b.WriteString(d.Flush())
				if want := tk.Decode(ids); b.String() != want {
					t.Fatalf("streaming decode of %v = %q, Decode = %q", ids, b.String(), want)
				}
			}
		})
	}
}

func TestDecoderHoldsPartialCharacter(t *testing.T) {
	tk, err := LoadLlama2C("testdata/tok512.bin", 512)
	if err != nil {
		t.Fatal(err)
	}
	b := func(x byte) int { return 3 + int(x) } // byte pieces start at id 3
	d := tk.NewDecoder()
	steps := []struct {
		id   int
		want string
	}{
		{1, ""},                    // <s>
		{403, "Once"},              // "▁Once": the dummy prefix space is dropped
		{b(0xF0), ""},              // 😀 = F0 9F 98 80, held back
		{b(0x9F), ""},              //
		{b(0x98), ""},              //
		{b(0x80), "😀"},             // complete
		{b(0xE2), ""},              // € = E2 82 AC, cut short by the next piece
		{b(0x82), ""},              //
		{407, "\uFFFD\uFFFD upon"}, // each stranded byte is U+FFFD
		{b(0xC3), ""},              //
	}
	for _, s := range steps {
		if got := d.Next(s.id); got != s.want {
			t.Errorf("Next(%d) = %q, want %q", s.id, got, s.want)
		}
	}
	if got := d.Flush(); got != "\uFFFD" {
		t.Errorf("Flush() = %q, want U+FFFD", got)
	}
}

func TestPiece(t *testing.T) {
	tk, err := LoadSentencePiece("testdata/tok105.model")
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int]string{0: "<unk>", 1: "<s>", 2: "</s>", 3: "▁", 4: "e", -1: "", 105: ""} {
		if got := tk.Piece(id); got != want {
			t.Errorf("Piece(%d) = %q, want %q", id, got, want)
		}
	}
	if p, s, ty := tk.Pieces(), tk.Scores(), tk.Types(); len(p) != 105 || len(s) != 105 || len(ty) != 105 || ty[0] != Unknown || ty[1] != Control || ty[3] != Normal || s[4] != -1 {
		t.Errorf("Pieces/Scores/Types: %d %d %d, types %v, score[4] %g", len(p), len(s), len(ty), ty[:4], s[4])
	}
	tk.Pieces()[3] = "changed"
	if tk.Piece(3) != "▁" {
		t.Error("Pieces returned the tokenizer's own slice")
	}
	// tok105.model's trainer_spec.unk_surface holds the octal escapes as
	// text, and SentencePiece prints them as they are.
	if got, want := tk.Decode([]int{1, 0, 3, 0, 2}), ` \342\201\207   \342\201\207 `; got != want {
		t.Errorf("Decode(<s> <unk> ▁ <unk> </s>) = %q, want %q", got, want)
	}
}

// TestConcurrentEncode runs Encode from several goroutines (the word cache
// is shared); run with -race.
func TestConcurrentEncode(t *testing.T) {
	tk, err := LoadLlama2C("testdata/tok512.bin", 512)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("Once upon a time, there was a little girl named Lily. ", 50)
	want := tk.Encode(text, true, false)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				if got := tk.Encode(text, true, false); len(got) != len(want) {
					t.Errorf("concurrent Encode gave %d ids, want %d", len(got), len(want))
					return
				}
			}
		})
	}
	wg.Wait()
}
