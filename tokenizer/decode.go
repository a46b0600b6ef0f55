package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Decode returns the text of ids as SentencePiece's Decode does: "▁" becomes
// a space, runs of byte pieces are reassembled into UTF-8 (each byte that
// does not complete a valid character becomes U+FFFD), control pieces
// produce nothing, <unk> becomes " ⁇ ", and the leading space of the first
// piece (the dummy prefix) is dropped. Ids outside [0, VocabSize()) are
// skipped.
func (t *Tokenizer) Decode(ids []int) string {
	var b strings.Builder
	d := t.NewDecoder()
	for _, id := range ids {
		b.WriteString(d.Next(id))
	}
	b.WriteString(d.Flush())
	return b.String()
}

// Decoder decodes a stream of ids one at a time, for printing text as it is
// generated. The concatenation of everything Next and Flush return equals
// Decode of the whole sequence: bytes of a character split across byte
// pieces are held back until the character is complete.
type Decoder struct {
	t        *Tokenizer
	pending  []byte // bytes of byte pieces not yet returned
	started  bool   // some text was produced, or the dummy prefix was seen
	stripped bool   // the previous piece gave up its leading "▁"
}

// NewDecoder returns a Decoder at the start of a sequence.
func (t *Tokenizer) NewDecoder() *Decoder {
	return &Decoder{t: t}
}

// Next returns the text that id completes; it may be empty.
func (d *Decoder) Next(id int) string {
	t := d.t
	if id < 0 || id >= len(t.pieces) {
		return ""
	}
	if t.types[id] == Byte {
		b, _ := pieceByte(t.pieces[id])
		d.pending = append(d.pending, b)
		return d.bytes(false)
	}
	out := d.bytes(true)
	if d.stripped || out != "" {
		d.started = true
	}
	d.stripped = false
	var s string
	switch t.types[id] {
	case Control:
		// invisible
	case Unknown:
		s = t.unkSurface
	default:
		s = t.pieces[id]
		if !d.started && t.stripLeading && strings.HasPrefix(s, spaceSymbol) {
			s = s[len(spaceSymbol):]
			// With remove_extra_whitespaces SentencePiece drops the leading
			// "▁" of every piece until some text appears; otherwise only
			// that of the first piece.
			d.stripped = !t.removeExtraSpace
		}
		s = strings.ReplaceAll(s, spaceSymbol, " ")
	}
	if s != "" {
		d.started = true
	}
	return out + s
}

// Flush returns the bytes still held back, each as U+FFFD since no piece
// completes them, and resets the Decoder's byte buffer.
func (d *Decoder) Flush() string {
	return d.bytes(true)
}

// bytes returns the characters complete in the pending bytes; with final,
// the bytes of an unfinished character are returned as U+FFFD each.
func (d *Decoder) bytes(final bool) string {
	p := d.pending
	if len(p) == 0 {
		return ""
	}
	var b strings.Builder
	i := 0
	for i < len(p) {
		if !final && !utf8.FullRune(p[i:]) {
			break
		}
		r, n := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.Write(p[i : i+n])
		}
		i += n
	}
	d.pending = append(d.pending[:0], p[i:]...)
	if b.Len() > 0 {
		d.started = true
	}
	return b.String()
}
