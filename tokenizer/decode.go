package tokenizer

import (
	"strings"
	"unicode/utf8"
)

// Decode returns the text of ids as SentencePiece's Decode does: "▁" becomes
// a space, runs of byte pieces are reassembled into UTF-8 (each byte that
// does not complete a valid character becomes U+FFFD), control pieces
// produce nothing, <unk> becomes the model's unknown surface (" ⁇ " by
// default), and the leading space of the first piece (the dummy prefix) is
// dropped. Ids outside [0, VocabSize()) are skipped.
func (t *Tokenizer) Decode(ids []int) string {
	d := Decoder{t: t}
	buf := make([]byte, 0, len(ids)*4)
	for _, id := range ids {
		buf = d.append(buf, id)
	}
	return string(d.appendBytes(buf, true))
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
	return string(d.append(nil, id))
}

// Flush returns the bytes still held back, each as U+FFFD since no piece
// completes them, and empties the Decoder's byte buffer.
func (d *Decoder) Flush() string {
	return string(d.appendBytes(nil, true))
}

// append appends the text that id completes to buf.
func (d *Decoder) append(buf []byte, id int) []byte {
	t := d.t
	if id < 0 || id >= len(t.pieces) {
		return buf
	}
	if t.types[id] == Byte {
		b, _ := pieceByte(t.pieces[id])
		d.pending = append(d.pending, b)
		return d.appendBytes(buf, false)
	}
	n := len(buf)
	buf = d.appendBytes(buf, true)
	if d.stripped || len(buf) > n {
		d.started = true
	}
	d.stripped = false
	n = len(buf)
	switch t.types[id] {
	case Control:
		// invisible
	case Unknown:
		buf = append(buf, t.unkSurface...)
	default:
		s := t.pieces[id]
		if !d.started && t.stripLeading && strings.HasPrefix(s, spaceSymbol) {
			s = s[len(spaceSymbol):]
			// With remove_extra_whitespaces SentencePiece drops the leading
			// "▁" of every piece until some text appears; otherwise only
			// that of the first piece.
			d.stripped = !t.removeExtraSpace
		}
		for {
			i := strings.Index(s, spaceSymbol)
			if i < 0 {
				break
			}
			buf = append(append(buf, s[:i]...), ' ')
			s = s[i+len(spaceSymbol):]
		}
		buf = append(buf, s...)
	}
	if len(buf) > n {
		d.started = true
	}
	return buf
}

// appendBytes appends the characters complete in the pending bytes; with
// final, the bytes of an unfinished character are appended as U+FFFD each.
func (d *Decoder) appendBytes(buf []byte, final bool) []byte {
	p := d.pending
	if len(p) == 0 {
		return buf
	}
	n := len(buf)
	i := 0
	for i < len(p) {
		if !final && !utf8.FullRune(p[i:]) {
			break
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, "\uFFFD"...)
		} else {
			buf = append(buf, p[i:i+size]...)
		}
		i += size
	}
	d.pending = append(d.pending[:0], p[i:]...)
	if len(buf) > n {
		d.started = true
	}
	return buf
}
