package tokenizer

import (
	"strings"
	"sync"
	"unicode/utf8"
)

// Encode returns the token ids of text, with BOS prepended when addBOS and
// EOS appended when addEOS (and the model has such pieces). The ids are
// those SentencePiece's Encode gives for the same model; pass
// AddBOSDefault() for addBOS to tokenize a prompt as the model expects.
// Control pieces written in the text, such as "<s>", are encoded as
// ordinary characters, never as the control id.
func (t *Tokenizer) Encode(text string, addBOS, addEOS bool) []int {
	norm := t.normalize(text)
	ids := make([]int, 0, len(norm)/4+2)
	if addBOS && t.bos >= 0 {
		ids = append(ids, t.bos)
	}
	ids = t.appendEncoded(ids, norm)
	if addEOS && t.eos >= 0 {
		ids = append(ids, t.eos)
	}
	return ids
}

// normalize applies SentencePiece's identity normalizer: invalid UTF-8 bytes
// become U+FFFD, the dummy prefix is added, spaces are escaped as "▁" and,
// with remove_extra_whitespaces, runs of spaces are collapsed and trimmed.
// Only U+0020 counts as a space; tabs and newlines are kept as they are.
func (t *Tokenizer) normalize(text string) string {
	if t.removeExtraSpace {
		text = strings.TrimLeft(text, " ")
	}
	if text == "" {
		return ""
	}
	space := " "
	if t.escapeSpaces {
		space = spaceSymbol
	}
	var b strings.Builder
	b.Grow(len(text) + len(text)/4 + len(spaceSymbol))
	switch t.prefix {
	case prefixAlways:
		b.WriteString(space)
	case prefixUnlessSpace:
		if text[0] != ' ' && !strings.HasPrefix(text, spaceSymbol) {
			b.WriteString(space)
		}
	}
	prevSpace := false
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			i++
			if c == ' ' {
				if !(t.removeExtraSpace && prevSpace) {
					b.WriteString(space)
				}
				prevSpace = true
				continue
			}
			b.WriteByte(c)
			prevSpace = false
			continue
		}
		r, n := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(text[i : i+n])
		}
		i += n
		prevSpace = false
	}
	s := b.String()
	if t.removeExtraSpace {
		for strings.HasSuffix(s, space) {
			s = s[:len(s)-len(space)]
		}
	}
	return s
}

// symbol is one segment of a word during BPE.
type symbol struct {
	start, end int   // byte range in the normalized text; empty once merged away
	prev, next int32 // neighbours in the word, -1 at its ends
	frozen     bool  // a user-defined piece, never merged
}

// candidate is a pair of adjacent symbols whose concatenation is a piece.
type candidate struct {
	score       float32
	left, right int32
	size        int // bytes of the merged piece, to detect stale candidates
}

// encoder holds the buffers of one Encode call.
type encoder struct {
	syms  []symbol
	queue []candidate
	split map[string][2]string // how unused pieces were formed (resegmentation)
	unk   bool                 // an unknown piece was emitted
}

var encoders = sync.Pool{New: func() any { return new(encoder) }}

// oneCharLen is SentencePiece's UTF-8 length by lead byte (the text is
// valid UTF-8 after normalization).
var oneCharLen = [16]int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4}

// appendEncoded appends the ids of the normalized text to dst.
func (t *Tokenizer) appendEncoded(dst []int, norm string) []int {
	if norm == "" {
		return dst
	}
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	if t.hasUnused {
		e.split = make(map[string][2]string)
	} else {
		e.split = nil
	}
	prevUnk := false
	e.syms = e.syms[:0]
	for i := 0; i < len(norm); {
		n, frozen := t.matchPrefix(norm[i:])
		if t.splitWord && len(e.syms) > 0 && strings.HasPrefix(norm[i:], spaceSymbol) && !strings.HasSuffix(norm[:i], spaceSymbol) {
			dst, prevUnk = t.cachedWord(e, norm, dst, prevUnk)
			e.syms = e.syms[:0]
		}
		e.syms = append(e.syms, symbol{start: i, end: i + n, frozen: frozen})
		i += n
	}
	if t.splitWord {
		dst, _ = t.cachedWord(e, norm, dst, prevUnk)
	} else {
		dst, _ = e.word(t, norm, dst, prevUnk)
	}
	e.split = nil
	return dst
}

// Words up to wordCacheLen bytes are cached, wordCacheSize of them at most.
const (
	wordCacheLen  = 64
	wordCacheSize = 1 << 16
)

// wordCache maps a word of normalized text to its ids. Only words without
// unknown pieces are stored, since those depend on their neighbours.
type wordCache struct {
	mu sync.Mutex
	m  map[string][]int32
}

// cachedWord is e.word for a word split off at a "▁", looked up in the
// cache first.
func (t *Tokenizer) cachedWord(e *encoder, norm string, dst []int, prevUnk bool) ([]int, bool) {
	w := norm[e.syms[0].start:e.syms[len(e.syms)-1].end]
	if len(w) > wordCacheLen {
		return e.word(t, norm, dst, prevUnk)
	}
	t.cache.mu.Lock()
	ids, ok := t.cache.m[w]
	t.cache.mu.Unlock()
	if ok {
		for _, id := range ids {
			dst = append(dst, int(id))
		}
		return dst, false
	}
	n := len(dst)
	e.unk = false
	dst, prevUnk = e.word(t, norm, dst, prevUnk)
	if e.unk {
		return dst, prevUnk
	}
	ids = make([]int32, len(dst)-n)
	for i, id := range dst[n:] {
		ids[i] = int32(id)
	}
	t.cache.mu.Lock()
	if t.cache.m == nil || len(t.cache.m) >= wordCacheSize {
		t.cache.m = make(map[string][]int32)
	}
	t.cache.m[strings.Clone(w)] = ids
	t.cache.mu.Unlock()
	return dst, prevUnk
}

// matchPrefix returns the length of the first symbol of s: the longest
// user-defined piece it starts with (frozen), else one character.
func (t *Tokenizer) matchPrefix(s string) (n int, frozen bool) {
	if t.user != nil {
		for l := min(t.userMax, len(s)); l > 0; l-- {
			if _, ok := t.user[s[:l]]; ok {
				return l, true
			}
		}
	}
	return min(len(s), oneCharLen[s[0]>>4]), false
}

// word runs BPE over e.syms and appends the resulting ids to dst.
func (e *encoder) word(t *Tokenizer, norm string, dst []int, prevUnk bool) ([]int, bool) {
	syms := e.syms
	if len(syms) == 0 {
		return dst, prevUnk
	}
	for i := range syms {
		syms[i].prev = int32(i - 1)
		syms[i].next = int32(i + 1)
	}
	syms[len(syms)-1].next = -1

	e.queue = e.queue[:0]
	for i := 1; i < len(syms); i++ {
		e.consider(t, norm, int32(i-1), int32(i))
	}
	for len(e.queue) > 0 {
		c := e.pop()
		l, r := &syms[c.left], &syms[c.right]
		if l.start == l.end || r.start == r.end || (l.end-l.start)+(r.end-r.start) != c.size {
			continue // stale: one side was merged since
		}
		l.end = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = c.left
		}
		r.end = r.start
		e.consider(t, norm, l.prev, c.left)
		e.consider(t, norm, c.left, l.next)
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		dst, prevUnk = t.emit(e, dst, norm[syms[i].start:syms[i].end], prevUnk)
	}
	return dst, prevUnk
}

// consider queues the merge of symbols l and r if it makes a piece.
func (e *encoder) consider(t *Tokenizer, norm string, l, r int32) {
	if l < 0 || r < 0 {
		return
	}
	ls, rs := &e.syms[l], &e.syms[r]
	if ls.frozen || rs.frozen {
		return
	}
	if rs.end-ls.start > t.maxLen {
		return
	}
	piece := norm[ls.start:rs.end]
	id, ok := t.normal[piece]
	if !ok {
		return
	}
	score := t.scores[id]
	if t.merges != nil {
		lid, ok1 := t.normal[norm[ls.start:ls.end]]
		rid, ok2 := t.normal[norm[rs.start:rs.end]]
		rank, ok3 := t.merges[[2]int32{lid, rid}]
		if !ok1 || !ok2 || !ok3 {
			return
		}
		score = -float32(rank)
	}
	e.push(candidate{score: score, left: l, right: r, size: len(piece)})
	if e.split != nil && t.types[id] == Unused {
		e.split[piece] = [2]string{norm[ls.start:ls.end], norm[rs.start:rs.end]}
	}
}

// emit appends the ids of one segmented piece: unused pieces are split back
// into the pieces that formed them, unknown characters become byte pieces
// (byte fallback) or one <unk> per run.
func (t *Tokenizer) emit(e *encoder, dst []int, piece string, prevUnk bool) ([]int, bool) {
	id := t.pieceID(piece)
	if e.split != nil && t.types[id] == Unused {
		if p, ok := e.split[piece]; ok {
			dst, prevUnk = t.emit(e, dst, p[0], prevUnk)
			return t.emit(e, dst, p[1], prevUnk)
		}
	}
	unk := int(id) == t.unk || t.types[id] == Unknown
	e.unk = e.unk || unk
	switch {
	case unk && t.byteFallback:
		for i := 0; i < len(piece); i++ {
			dst = append(dst, int(t.byteID[piece[i]]))
		}
	case unk && prevUnk:
		// SentencePiece merges a run of unknown pieces into one.
	default:
		dst = append(dst, int(id))
	}
	return dst, unk
}

// before reports whether candidate a is merged before b: higher score
// first, then the leftmost.
func before(a, b *candidate) bool {
	return a.score > b.score || (a.score == b.score && a.left < b.left)
}

func (e *encoder) push(c candidate) {
	q := append(e.queue, c)
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !before(&q[i], &q[p]) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
	e.queue = q
}

func (e *encoder) pop() candidate {
	q := e.queue
	top := q[0]
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		l := 2*i + 1
		if l >= len(q) {
			break
		}
		m := l
		if r := l + 1; r < len(q) && before(&q[r], &q[l]) {
			m = r
		}
		if !before(&q[m], &q[i]) {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	e.queue = q
	return top
}
