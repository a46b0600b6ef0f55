package llama2c

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"unsafe"

	"github.com/divergo/divergo/internal/mmap"
)

// Magic is the first word of a versioned checkpoint: "ak42" read as a
// little-endian uint32.
const Magic = 0x616b3432

// Header sizes in bytes.
const (
	legacyHeaderSize = 7 * 4
	headerSize       = 256 // versions 1 and 2
)

// ErrFormat is matched (with errors.Is) by every *FormatError.
var ErrFormat = errors.New("malformed llama2.c checkpoint")

// A FormatError reports a malformed checkpoint, naming the file and the
// field.
type FormatError struct {
	File  string // the file's path, "" when parsed from memory
	Field string // what was being checked: "header", "dim", `tensor "wq"`, "size"
	Msg   string
}

func (e *FormatError) Error() string {
	s := "llama2c: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Field != "" {
		s += e.Field + ": "
	}
	return s + e.Msg
}

// Is reports whether target is ErrFormat.
func (e *FormatError) Is(target error) bool { return target == ErrFormat }

func fail(field, format string, args ...any) error {
	return &FormatError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Config is a checkpoint's model configuration.
type Config struct {
	Dim       int // transformer width
	HiddenDim int // feed-forward width
	Layers    int
	Heads     int // query heads
	KVHeads   int // key/value heads (grouped-query attention when < Heads)
	Vocab     int // vocabulary size (positive; the legacy sign flag is decoded into SharedClassifier)
	SeqLen    int // maximum sequence length the model was trained for
	// SharedClassifier reports that the output classifier is the token
	// embedding; otherwise the file stores a separate wcls.
	SharedClassifier bool
	// Version is 0 for the legacy format (no magic), 1 (float32) or 2
	// (int8 groups).
	Version int
	// GroupSize is the number of values sharing one scale in a version 2
	// file, 0 otherwise.
	GroupSize int
}

// HeadSize returns Dim / Heads.
func (c Config) HeadSize() int { return c.Dim / c.Heads }

// KVDim returns the width of the key and value projections:
// KVHeads × HeadSize.
func (c Config) KVDim() int { return c.KVHeads * c.HeadSize() }

// Kind is how a tensor's values are stored.
type Kind int

const (
	// F32 tensors are little-endian float32 values.
	F32 Kind = iota
	// Q8 tensors are int8 values with one float32 scale per group of
	// Config.GroupSize consecutive values (value = q × scale), version 2
	// only.
	Q8
)

// String returns "f32" or "q8".
func (k Kind) String() string {
	if k == Q8 {
		return "q8"
	}
	return "f32"
}

// A Tensor is one stored weight: for per-layer weights, one layer's slice.
type Tensor struct {
	Name  string // llama2.c name: token_embedding, rms_att, wq, wk, wv, wo, rms_ffn, w1, w2, w3, rms_final, freq_cis_real, freq_cis_imag, wcls
	Layer int    // the layer of a per-layer weight, -1 otherwise
	// Shape is row-major: [out, in] for matrices (so wq is [Dim, Dim] and
	// w2 [Dim, HiddenDim]), [Dim] for norms, [SeqLen, HeadSize/2] for the
	// freq_cis tables.
	Shape  []int
	Kind   Kind
	Data   []byte // float32 values (F32) or int8 values (Q8); a view into the file
	Scales []byte // Q8 only: float32 scales, one per group; a view into the file
	Offset int64  // position of Data in the file
}

// Elements returns the number of values in the tensor.
func (t Tensor) Elements() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// F32 returns the values of an F32 tensor. The slice shares the file's
// memory (read-only, valid until Close) when the data is 4-byte aligned on
// a little-endian machine; otherwise it is a copy.
func (t Tensor) F32() ([]float32, error) {
	if t.Kind != F32 {
		return nil, fail(fmt.Sprintf("tensor %q", t.Name), "stored as %s, not f32", t.Kind)
	}
	return floats(t.Data), nil
}

// Q8 returns the int8 values and the float32 group scales of a Q8 tensor,
// sharing the file's memory where alignment allows.
func (t Tensor) Q8() (q []int8, scales []float32, err error) {
	if t.Kind != Q8 {
		return nil, nil, fail(fmt.Sprintf("tensor %q", t.Name), "stored as %s, not q8", t.Kind)
	}
	q = unsafe.Slice((*int8)(unsafe.Pointer(unsafe.SliceData(t.Data))), len(t.Data))
	return q, floats(t.Scales), nil
}

// ToFloat32 returns the tensor's values as float32 in a new slice the caller
// owns, dequantizing Q8 tensors.
func (t Tensor) ToFloat32() []float32 {
	out := make([]float32, t.Elements())
	if t.Kind == F32 {
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
		}
		return out
	}
	group := len(t.Data) / (len(t.Scales) / 4)
	for i := range out {
		s := math.Float32frombits(binary.LittleEndian.Uint32(t.Scales[4*(i/group):]))
		out[i] = float32(int8(t.Data[i])) * s
	}
	return out
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

func floats(b []byte) []float32 {
	if len(b) == 0 {
		return []float32{}
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if littleEndian && uintptr(p)%4 == 0 {
		return unsafe.Slice((*float32)(p), len(b)/4)
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}

// block is a run of tensors in the file: one tensor, or one per layer laid
// out back to back.
type block struct {
	name     string
	perLayer bool
	shape    []int
	kind     Kind
	offset   int64 // file offset of the first (layer 0) tensor
	elems    int64 // values per tensor
	stride   int64 // bytes per tensor, including Q8 scales
}

// A Checkpoint is an open llama2.c model file. Tensor data are read-only
// views into the file's memory mapping (or an in-memory copy where mapping
// is not available), valid until Close.
type Checkpoint struct {
	Config Config
	// FreqCis reports that a legacy file carries the RoPE tables
	// freq_cis_real and freq_cis_imag (llama2.c writes them; they are
	// unused).
	FreqCis bool

	path   string
	data   []byte
	blocks []block
	unmap  func() error
}

// Path returns the path the checkpoint was opened from, "" for ParseBytes.
func (c *Checkpoint) Path() string { return c.path }

// Close releases the checkpoint's memory mapping.
func (c *Checkpoint) Close() error {
	c.data = nil
	if c.unmap == nil {
		return nil
	}
	u := c.unmap
	c.unmap = nil
	if err := u(); err != nil {
		return fmt.Errorf("llama2c: %s: unmap: %w", c.path, err)
	}
	return nil
}

// Open reads and validates the checkpoint at path, memory-mapping it
// read-only where the platform allows.
func Open(path string) (*Checkpoint, error) {
	data, unmap, err := mmap.Map(path)
	if err != nil {
		return nil, fmt.Errorf("llama2c: %w", err)
	}
	c, err := ParseBytes(data)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		var fe *FormatError
		if errors.As(err, &fe) {
			fe.File = path
		}
		return nil, err
	}
	c.path = path
	c.unmap = unmap
	return c, nil
}

// ParseBytes parses and validates a checkpoint held in memory. The returned
// Checkpoint's tensors are views into b.
func ParseBytes(b []byte) (*Checkpoint, error) {
	if len(b) < legacyHeaderSize {
		return nil, fail("header", "truncated: need %d bytes, file has %d", legacyHeaderSize, len(b))
	}
	le := binary.LittleEndian
	word := func(i int) int32 { return int32(le.Uint32(b[4*i:])) }
	var cfg Config
	var hdr int64
	var raw [7]int32
	if le.Uint32(b) == Magic {
		if len(b) < headerSize {
			return nil, fail("header", "truncated: need %d bytes, file has %d", headerSize, len(b))
		}
		cfg.Version = int(word(1))
		if cfg.Version != 1 && cfg.Version != 2 {
			return nil, fail("version", "unsupported version %d (only 1 and 2, and the legacy format)", cfg.Version)
		}
		for i := range raw {
			raw[i] = word(2 + i)
		}
		switch shared := b[36]; shared {
		case 0, 1:
			cfg.SharedClassifier = shared == 1
		default:
			return nil, fail("shared_classifier", "flag is %d, want 0 or 1", shared)
		}
		if cfg.Version == 2 {
			cfg.GroupSize = int(int32(le.Uint32(b[37:])))
			if cfg.GroupSize <= 0 {
				return nil, fail("group_size", "%d, want a positive group size", cfg.GroupSize)
			}
		}
		if raw[5] <= 0 {
			return nil, fail("vocab_size", "%d, want a positive size", raw[5])
		}
		hdr = headerSize
	} else {
		for i := range raw {
			raw[i] = word(i)
		}
		// The legacy format flags an unshared classifier with a negative
		// vocabulary size.
		cfg.SharedClassifier = raw[5] > 0
		if raw[5] < 0 {
			if raw[5] == math.MinInt32 {
				return nil, fail("vocab_size", "%d is out of range", raw[5])
			}
			raw[5] = -raw[5]
		}
		hdr = legacyHeaderSize
	}
	for i, name := range [...]string{"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"} {
		if raw[i] <= 0 {
			return nil, fail(name, "%d, want a positive value", raw[i])
		}
	}
	cfg.Dim, cfg.HiddenDim, cfg.Layers, cfg.Heads = int(raw[0]), int(raw[1]), int(raw[2]), int(raw[3])
	cfg.KVHeads, cfg.Vocab, cfg.SeqLen = int(raw[4]), int(raw[5]), int(raw[6])
	switch {
	case cfg.Dim%cfg.Heads != 0:
		return nil, fail("n_heads", "dim %d is not a multiple of n_heads %d", cfg.Dim, cfg.Heads)
	case cfg.KVHeads > cfg.Heads || cfg.Heads%cfg.KVHeads != 0:
		return nil, fail("n_kv_heads", "n_heads %d is not a multiple of n_kv_heads %d", cfg.Heads, cfg.KVHeads)
	case cfg.HeadSize()%2 != 0:
		return nil, fail("n_heads", "head size %d (dim %d / n_heads %d) is odd; RoPE needs pairs", cfg.HeadSize(), cfg.Dim, cfg.Heads)
	}

	c := &Checkpoint{Config: cfg, data: b}
	if err := c.layout(hdr); err != nil {
		return nil, err
	}
	return c, nil
}

// layout computes where every tensor lies and checks the file's size, all
// before any tensor data is touched.
func (c *Checkpoint) layout(hdr int64) error {
	cfg := c.Config
	D, H, L, V := int64(cfg.Dim), int64(cfg.HiddenDim), int64(cfg.Layers), int64(cfg.Vocab)
	KV, S, HS := int64(cfg.KVDim()), int64(cfg.SeqLen), int64(cfg.HeadSize())
	type spec struct {
		name     string
		perLayer bool
		rows     int64
		cols     int64 // 0 for vectors
	}
	var specs []spec
	norms := []spec{{"rms_att", true, D, 0}, {"rms_ffn", true, D, 0}, {"rms_final", false, D, 0}}
	matrices := []spec{
		{"token_embedding", false, V, D},
		{"wq", true, D, D}, {"wk", true, KV, D}, {"wv", true, KV, D}, {"wo", true, D, D},
		{"w1", true, H, D}, {"w2", true, D, H}, {"w3", true, H, D},
	}
	wcls := spec{"wcls", false, V, D}
	switch cfg.Version {
	case 0:
		specs = []spec{matrices[0], norms[0], matrices[1], matrices[2], matrices[3], matrices[4],
			norms[1], matrices[5], matrices[6], matrices[7], norms[2],
			{"freq_cis_real", false, S, HS / 2}, {"freq_cis_imag", false, S, HS / 2}}
	default:
		specs = append(append(specs, norms...), matrices...)
	}
	if !cfg.SharedClassifier {
		specs = append(specs, wcls)
	}

	off := hdr
	var freqBytes int64
	for _, s := range specs {
		elems, ok := mul(s.rows, max(s.cols, 1))
		if !ok {
			return fail(fmt.Sprintf("tensor %q", s.name), "size overflows int64")
		}
		blk := block{name: s.name, perLayer: s.perLayer, kind: F32, offset: off, elems: elems}
		blk.shape = []int{int(s.rows)}
		if s.cols > 0 {
			blk.shape = append(blk.shape, int(s.cols))
		}
		if cfg.Version == 2 && s.cols > 0 && !isFreq(s.name) {
			if elems%int64(cfg.GroupSize) != 0 {
				return fail(fmt.Sprintf("tensor %q", s.name), "%d values are not a whole number of groups of %d", elems, cfg.GroupSize)
			}
			blk.kind = Q8
			// int8 values, then a float32 scale per group (runq.c's
			// init_quantized_tensors).
			scaleBytes, ok := mul(elems/int64(cfg.GroupSize), 4)
			if ok {
				blk.stride, ok = add(elems, scaleBytes)
			}
			if !ok {
				return fail(fmt.Sprintf("tensor %q", s.name), "size overflows int64")
			}
		} else {
			blk.stride, ok = mul(elems, 4)
			if !ok {
				return fail(fmt.Sprintf("tensor %q", s.name), "size overflows int64")
			}
		}
		n := blk.stride
		if s.perLayer {
			if n, ok = mul(n, L); !ok {
				return fail(fmt.Sprintf("tensor %q", s.name), "size overflows int64")
			}
		}
		if isFreq(s.name) {
			freqBytes += n
		}
		if off, ok = add(off, n); !ok {
			return fail(fmt.Sprintf("tensor %q", s.name), "file offset overflows int64")
		}
		c.blocks = append(c.blocks, blk)
	}

	size := int64(len(c.data))
	c.FreqCis = cfg.Version == 0
	if size != off && cfg.Version == 0 && size == off-freqBytes {
		// A legacy file written without the freq_cis tables.
		c.FreqCis = false
		kept := c.blocks[:0]
		shift := int64(0)
		for _, blk := range c.blocks {
			if isFreq(blk.name) {
				shift += blk.stride
				continue
			}
			blk.offset -= shift
			kept = append(kept, blk)
		}
		c.blocks = kept
		return nil
	}
	switch {
	case size < off:
		return fail("size", "truncated: need %d bytes, file has %d", off, size)
	case size > off:
		return fail("size", "file has %d bytes, %d expected from the header (%d trailing bytes)", size, off, size-off)
	}
	return nil
}

func isFreq(name string) bool { return name == "freq_cis_real" || name == "freq_cis_imag" }

func mul(a, b int64) (int64, bool) {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	return int64(lo), hi == 0 && lo <= math.MaxInt64
}

func add(a, b int64) (int64, bool) {
	s := a + b
	return s, s >= a
}

// Tensor returns the named tensor. Per-layer weights (rms_att, wq, wk, wv,
// wo, rms_ffn, w1, w2, w3) take a layer in [0, Layers); the others take
// layer -1. With a shared classifier, wcls is the token embedding.
func (c *Checkpoint) Tensor(name string, layer int) (Tensor, error) {
	field := fmt.Sprintf("tensor %q", name)
	if c.data == nil {
		return Tensor{}, &FormatError{File: c.path, Field: field, Msg: "checkpoint is closed"}
	}
	lookup := name
	if name == "wcls" && c.Config.SharedClassifier {
		lookup = "token_embedding"
	}
	for _, blk := range c.blocks {
		if blk.name != lookup {
			continue
		}
		if blk.perLayer && (layer < 0 || layer >= c.Config.Layers) {
			return Tensor{}, &FormatError{File: c.path, Field: field, Msg: fmt.Sprintf("layer %d out of range [0, %d)", layer, c.Config.Layers)}
		}
		if !blk.perLayer && layer != -1 {
			return Tensor{}, &FormatError{File: c.path, Field: field, Msg: fmt.Sprintf("not a per-layer weight; layer %d given, want -1", layer)}
		}
		t := c.tensor(blk, max(layer, 0))
		t.Name, t.Layer = name, layer
		return t, nil
	}
	return Tensor{}, &FormatError{File: c.path, Field: field, Msg: "not in checkpoint"}
}

func (c *Checkpoint) tensor(blk block, layer int) Tensor {
	start := blk.offset + int64(layer)*blk.stride
	t := Tensor{Name: blk.name, Layer: -1, Shape: blk.shape, Kind: blk.kind, Offset: start}
	if blk.perLayer {
		t.Layer = layer
	}
	dataLen := blk.stride
	if blk.kind == Q8 {
		dataLen = blk.elems
		end := start + blk.stride
		t.Scales = c.data[start+dataLen : end : end]
	}
	t.Data = c.data[start : start+dataLen : start+dataLen]
	return t
}

// Tensors returns every stored tensor in file order, per-layer weights
// expanded layer by layer. A shared classifier is not listed (see Tensor).
func (c *Checkpoint) Tensors() []Tensor {
	if c.data == nil {
		return nil
	}
	var out []Tensor
	for _, blk := range c.blocks {
		n := 1
		if blk.perLayer {
			n = c.Config.Layers
		}
		for l := range n {
			out = append(out, c.tensor(blk, l))
		}
	}
	return out
}
