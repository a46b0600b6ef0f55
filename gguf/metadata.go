package gguf

import (
	"errors"
	"fmt"
	"math"
)

// ValueType is the type of a metadata value, numbered as in the GGUF
// specification (gguf_metadata_value_type).
type ValueType uint32

// The metadata value types.
const (
	ValueUint8   ValueType = 0
	ValueInt8    ValueType = 1
	ValueUint16  ValueType = 2
	ValueInt16   ValueType = 3
	ValueUint32  ValueType = 4
	ValueInt32   ValueType = 5
	ValueFloat32 ValueType = 6
	ValueBool    ValueType = 7
	ValueString  ValueType = 8
	ValueArray   ValueType = 9
	ValueUint64  ValueType = 10
	ValueInt64   ValueType = 11
	ValueFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"}

// String returns the short name of the value type: "u8", "i32", "f32",
// "bool", "string", "array", …
func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(t))
}

// size returns the encoded size of a scalar value of type t, 0 for string
// and array, and -1 for an unknown type.
func (t ValueType) size() int64 {
	switch t {
	case ValueUint8, ValueInt8, ValueBool:
		return 1
	case ValueUint16, ValueInt16:
		return 2
	case ValueUint32, ValueInt32, ValueFloat32:
		return 4
	case ValueUint64, ValueInt64, ValueFloat64:
		return 8
	case ValueString, ValueArray:
		return 0
	}
	return -1
}

// A KV is one metadata key-value pair. Value holds, by Type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string,
// uint64, int64, float64, or Array.
type KV struct {
	Key   string
	Type  ValueType
	Value any
}

// An Array is a metadata array value. Values is a slice of the Go type
// matching Elem: []uint8, []int8, []uint16, []int16, []uint32, []int32,
// []float32, []bool, []string, []uint64, []int64, []float64, or []Array
// for an array of arrays.
type Array struct {
	Elem   ValueType
	Values any
}

// Len returns the number of elements of the array.
func (a Array) Len() int {
	switch v := a.Values.(type) {
	case []uint8:
		return len(v)
	case []int8:
		return len(v)
	case []uint16:
		return len(v)
	case []int16:
		return len(v)
	case []uint32:
		return len(v)
	case []int32:
		return len(v)
	case []float32:
		return len(v)
	case []bool:
		return len(v)
	case []string:
		return len(v)
	case []uint64:
		return len(v)
	case []int64:
		return len(v)
	case []float64:
		return len(v)
	case []Array:
		return len(v)
	}
	return 0
}

// ErrKeyNotFound is returned (wrapped) by the Metadata accessors when the
// key is absent.
var ErrKeyNotFound = errors.New("key not found")

// Metadata is the ordered list of a file's key-value pairs.
type Metadata []KV

// Get returns the pair with the given key.
func (m Metadata) Get(key string) (KV, bool) {
	for _, kv := range m {
		if kv.Key == key {
			return kv, true
		}
	}
	return KV{}, false
}

func (m Metadata) lookup(key string) (KV, error) {
	kv, ok := m.Get(key)
	if !ok {
		return KV{}, &FormatError{Field: fmt.Sprintf("key %q", key), Err: ErrKeyNotFound}
	}
	return kv, nil
}

func typeErr(kv KV, want string) error {
	return &FormatError{Field: fmt.Sprintf("key %q", kv.Key), Msg: fmt.Sprintf("value of type %s, want %s", describe(kv.Type, kv.Value), want)}
}

func describe(t ValueType, v any) string {
	if a, ok := v.(Array); ok {
		return "array of " + a.Elem.String()
	}
	return t.String()
}

// String returns the value of key, which must be a string.
func (m Metadata) String(key string) (string, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return "", err
	}
	if s, ok := kv.Value.(string); ok {
		return s, nil
	}
	return "", typeErr(kv, "string")
}

// Uint returns the value of key, which may have any integer type; negative
// values are an error.
func (m Metadata) Uint(key string) (uint64, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return 0, err
	}
	u, ok, neg := toUint(kv.Value)
	if neg {
		return 0, &FormatError{Field: fmt.Sprintf("key %q", key), Msg: fmt.Sprintf("negative value %v, want an unsigned integer", kv.Value)}
	}
	if !ok {
		return 0, typeErr(kv, "an integer")
	}
	return u, nil
}

// Int returns the value of key, which may have any integer type; a uint64
// above math.MaxInt64 is an error.
func (m Metadata) Int(key string) (int64, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return 0, err
	}
	i, ok := toInt(kv.Value)
	if !ok {
		if _, isUint, _ := toUint(kv.Value); isUint {
			return 0, &FormatError{Field: fmt.Sprintf("key %q", key), Msg: fmt.Sprintf("value %v overflows int64", kv.Value)}
		}
		return 0, typeErr(kv, "an integer")
	}
	return i, nil
}

// Float returns the value of key, which must be a float32 or float64.
func (m Metadata) Float(key string) (float64, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return 0, err
	}
	switch v := kv.Value.(type) {
	case float32:
		return float64(v), nil
	case float64:
		return v, nil
	}
	return 0, typeErr(kv, "a float")
}

// Bool returns the value of key, which must be a bool.
func (m Metadata) Bool(key string) (bool, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return false, err
	}
	if b, ok := kv.Value.(bool); ok {
		return b, nil
	}
	return false, typeErr(kv, "bool")
}

// Strings returns the value of key, which must be an array of strings. The
// slice is the one stored in the metadata, not a copy.
func (m Metadata) Strings(key string) ([]string, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return nil, err
	}
	if a, ok := kv.Value.(Array); ok {
		if s, ok := a.Values.([]string); ok {
			return s, nil
		}
	}
	return nil, typeErr(kv, "array of string")
}

// Float32s returns the value of key, an array of f32 (returned as stored,
// not copied) or of f64 (converted).
func (m Metadata) Float32s(key string) ([]float32, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return nil, err
	}
	if a, ok := kv.Value.(Array); ok {
		switch v := a.Values.(type) {
		case []float32:
			return v, nil
		case []float64:
			out := make([]float32, len(v))
			for i, x := range v {
				out[i] = float32(x)
			}
			return out, nil
		}
	}
	return nil, typeErr(kv, "array of f32")
}

// Int32s returns the value of key, an array of i32 (returned as stored, not
// copied) or of another integer type whose values all fit in int32
// (converted).
func (m Metadata) Int32s(key string) ([]int32, error) {
	kv, err := m.lookup(key)
	if err != nil {
		return nil, err
	}
	a, ok := kv.Value.(Array)
	if !ok {
		return nil, typeErr(kv, "array of i32")
	}
	if v, ok := a.Values.([]int32); ok {
		return v, nil
	}
	n := a.Len()
	if a.Elem == ValueArray || a.Elem == ValueString || a.Elem == ValueBool || a.Elem == ValueFloat32 || a.Elem == ValueFloat64 {
		return nil, typeErr(kv, "array of i32")
	}
	out := make([]int32, n)
	for i := range n {
		x, ok := toInt(index(a.Values, i))
		if !ok || x < math.MinInt32 || x > math.MaxInt32 {
			return nil, &FormatError{Field: fmt.Sprintf("key %q", key), Msg: fmt.Sprintf("element %d (%v) does not fit in int32", i, index(a.Values, i))}
		}
		out[i] = int32(x)
	}
	return out, nil
}

// index returns element i of an integer slice as an interface value.
func index(values any, i int) any {
	switch v := values.(type) {
	case []uint8:
		return v[i]
	case []int8:
		return v[i]
	case []uint16:
		return v[i]
	case []int16:
		return v[i]
	case []uint32:
		return v[i]
	case []int32:
		return v[i]
	case []uint64:
		return v[i]
	case []int64:
		return v[i]
	}
	return nil
}

// toUint converts an integer value; neg reports a negative signed value.
func toUint(v any) (u uint64, ok, neg bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true, false
	case uint16:
		return uint64(x), true, false
	case uint32:
		return uint64(x), true, false
	case uint64:
		return x, true, false
	case int8, int16, int32, int64:
		i, _ := toInt(x)
		if i < 0 {
			return 0, false, true
		}
		return uint64(i), true, false
	}
	return 0, false, false
}

// toInt converts an integer value that fits in int64.
func toInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	case uint8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	}
	return 0, false
}

// Set sets key to value, replacing the value of an existing pair in place
// (keeping its position) or appending a new pair. The value type is
// inferred from the Go type of value, as NewKV does.
func (m *Metadata) Set(key string, value any) error {
	kv, err := NewKV(key, value)
	if err != nil {
		return err
	}
	for i := range *m {
		if (*m)[i].Key == key {
			(*m)[i] = kv
			return nil
		}
	}
	*m = append(*m, kv)
	return nil
}

// Delete removes the pair with the given key, if present.
func (m *Metadata) Delete(key string) {
	for i := range *m {
		if (*m)[i].Key == key {
			*m = append((*m)[:i], (*m)[i+1:]...)
			return
		}
	}
}

// NewKV returns a pair whose value type is inferred from the Go type of
// value: the scalar types listed on KV, an Array, or a slice of a scalar
// type ([]string, []float32, []int32, …), which becomes an Array.
func NewKV(key string, value any) (KV, error) {
	if t, ok := scalarType(value); ok {
		return KV{Key: key, Type: t, Value: value}, nil
	}
	if a, ok := value.(Array); ok {
		if err := checkArray(a, 0); err != nil {
			return KV{}, fmt.Errorf("gguf: key %q: %w", key, err)
		}
		return KV{Key: key, Type: ValueArray, Value: a}, nil
	}
	if elem, ok := sliceElem(value); ok {
		return KV{Key: key, Type: ValueArray, Value: Array{Elem: elem, Values: value}}, nil
	}
	return KV{}, fmt.Errorf("gguf: key %q: unsupported value type %T", key, value)
}

func scalarType(v any) (ValueType, bool) {
	switch v.(type) {
	case uint8:
		return ValueUint8, true
	case int8:
		return ValueInt8, true
	case uint16:
		return ValueUint16, true
	case int16:
		return ValueInt16, true
	case uint32:
		return ValueUint32, true
	case int32:
		return ValueInt32, true
	case float32:
		return ValueFloat32, true
	case bool:
		return ValueBool, true
	case string:
		return ValueString, true
	case uint64:
		return ValueUint64, true
	case int64:
		return ValueInt64, true
	case float64:
		return ValueFloat64, true
	}
	return 0, false
}

func sliceElem(v any) (ValueType, bool) {
	switch v.(type) {
	case []uint8:
		return ValueUint8, true
	case []int8:
		return ValueInt8, true
	case []uint16:
		return ValueUint16, true
	case []int16:
		return ValueInt16, true
	case []uint32:
		return ValueUint32, true
	case []int32:
		return ValueInt32, true
	case []float32:
		return ValueFloat32, true
	case []bool:
		return ValueBool, true
	case []string:
		return ValueString, true
	case []uint64:
		return ValueUint64, true
	case []int64:
		return ValueInt64, true
	case []float64:
		return ValueFloat64, true
	case []Array:
		return ValueArray, true
	}
	return 0, false
}

// checkKV reports whether kv's Value has the Go type its Type names.
func checkKV(kv KV) error {
	if kv.Type == ValueArray {
		a, ok := kv.Value.(Array)
		if !ok {
			return fmt.Errorf("type array but value of Go type %T", kv.Value)
		}
		return checkArray(a, 0)
	}
	t, ok := scalarType(kv.Value)
	if !ok || t != kv.Type {
		return fmt.Errorf("type %s but value of Go type %T", kv.Type, kv.Value)
	}
	return nil
}

func checkArray(a Array, depth int) error {
	if depth >= MaxArrayDepth {
		return fmt.Errorf("arrays nested deeper than %d", MaxArrayDepth)
	}
	elem, ok := sliceElem(a.Values)
	if !ok || elem != a.Elem {
		return fmt.Errorf("array of %s but values of Go type %T", a.Elem, a.Values)
	}
	if sub, ok := a.Values.([]Array); ok {
		for i, s := range sub {
			if err := checkArray(s, depth+1); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	}
	return nil
}
