package safetensors

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/x448/float16"
)

// littleEndian reports whether the machine stores integers as the file
// does; only then can typed views share the file's memory.
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// view returns b as a []T without copying when the machine is
// little-endian and b is aligned for T; ok is false otherwise.
func view[T any](b []byte) (v []T, ok bool) {
	var zero T
	size := int(unsafe.Sizeof(zero))
	if len(b) == 0 {
		return []T{}, true
	}
	p := unsafe.Pointer(unsafe.SliceData(b))
	if !littleEndian || uintptr(p)%unsafe.Alignof(zero) != 0 {
		return nil, false
	}
	return unsafe.Slice((*T)(p), len(b)/size), true
}

func (f *File) typed(name string, want DType) ([]byte, error) {
	t, b, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	if t.DType != want {
		return nil, &FormatError{File: f.path, Field: fmt.Sprintf("tensor %q", name), Msg: fmt.Sprintf("dtype %s, not %s", t.DType, want)}
	}
	return b, nil
}

// F32 returns the values of an F32 tensor. The slice shares the file's
// memory (valid until Close, read-only) when the data is 4-byte aligned;
// otherwise it is a copy.
func (f *File) F32(name string) ([]float32, error) {
	b, err := f.typed(name, F32)
	if err != nil {
		return nil, err
	}
	if v, ok := view[float32](b); ok {
		return v, nil
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// F16 returns the values of an F16 tensor, shared with the file or copied
// as F32 does.
func (f *File) F16(name string) ([]float16.Float16, error) {
	b, err := f.typed(name, F16)
	if err != nil {
		return nil, err
	}
	if v, ok := view[float16.Float16](b); ok {
		return v, nil
	}
	v := make([]float16.Float16, len(b)/2)
	for i := range v {
		v[i] = float16.Frombits(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return v, nil
}

// BF16 returns the raw bits of a BF16 tensor (the upper 16 bits of the
// float32 values), shared with the file or copied as F32 does.
func (f *File) BF16(name string) ([]uint16, error) {
	b, err := f.typed(name, BF16)
	if err != nil {
		return nil, err
	}
	return u16s(b), nil
}

func u16s(b []byte) []uint16 {
	if v, ok := view[uint16](b); ok {
		return v
	}
	v := make([]uint16, len(b)/2)
	for i := range v {
		v[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return v
}

// I32 returns the values of an I32 tensor, shared with the file or copied
// as F32 does.
func (f *File) I32(name string) ([]int32, error) {
	b, err := f.typed(name, I32)
	if err != nil {
		return nil, err
	}
	if v, ok := view[int32](b); ok {
		return v, nil
	}
	v := make([]int32, len(b)/4)
	for i := range v {
		v[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v, nil
}

// I8 returns the values of an I8 tensor, sharing the file's memory.
func (f *File) I8(name string) ([]int8, error) {
	b, err := f.typed(name, I8)
	if err != nil {
		return nil, err
	}
	v, _ := view[int8](b) // always aligned
	return v, nil
}

// U8 returns the values of a U8 tensor, sharing the file's memory.
func (f *File) U8(name string) ([]uint8, error) {
	return f.typed(name, U8)
}

// ToFloat32 returns the values of an F32, F16, BF16 or F64 tensor converted
// to float32, in a new slice the caller owns.
func (f *File) ToFloat32(name string) ([]float32, error) {
	t, b, err := f.lookup(name)
	if err != nil {
		return nil, err
	}
	le := binary.LittleEndian
	switch t.DType {
	case F32:
		v := make([]float32, len(b)/4)
		for i := range v {
			v[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		}
		return v, nil
	case F16:
		v := make([]float32, len(b)/2)
		for i := range v {
			v[i] = float16.Frombits(le.Uint16(b[2*i:])).Float32()
		}
		return v, nil
	case BF16:
		v := make([]float32, len(b)/2)
		for i := range v {
			v[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		}
		return v, nil
	case F64:
		v := make([]float32, len(b)/8)
		for i := range v {
			v[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		}
		return v, nil
	}
	return nil, &FormatError{File: f.path, Field: fmt.Sprintf("tensor %q", name), Msg: fmt.Sprintf("dtype %s cannot be converted to float32", t.DType)}
}
