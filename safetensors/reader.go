package safetensors

import (
	"cmp"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
)

// MaxHeaderSize is the largest JSON header accepted, as in Hugging Face's reader (100 MB).
const MaxHeaderSize = 100_000_000

// metadataKey is the header entry that holds free-form string metadata instead of a tensor.
const metadataKey = "__metadata__"

// TensorInfo describes one tensor of a safetensors file.
type TensorInfo struct {
	// Name is the tensor's key in the header, e.g. "model.norm.weight".
	Name string
	// DType is the element type.
	DType DType
	// Shape is the tensor's shape; empty for a scalar.
	Shape []int
	// Begin and End are byte offsets into the data section (after the header), End exclusive.
	Begin, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (ti TensorInfo) NumElements() int {
	n := 1
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// File is an open, memory-mapped safetensors file. Its methods are safe for concurrent use;
// slices returned by [File.Raw] are valid until [File.Close].
type File struct {
	path     string
	data     []byte // the whole file
	unmap    func() error
	dataOff  int64 // offset of the data section in data
	tensors  map[string]TensorInfo
	names    []string
	metadata map[string]string
}

// Open memory-maps the safetensors file at path and validates its header: known dtypes,
// offsets inside the file, no overlapping tensors, and byte sizes matching shape × dtype.
func Open(path string) (*File, error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	f, err := parse(path, data)
	if err != nil {
		if unmap != nil {
			unmap()
		}
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// Parse validates an in-memory safetensors file; name is used in error messages. The returned
// File aliases data and needs no Close.
func Parse(name string, data []byte) (*File, error) {
	return parse(name, data)
}

type headerEntry struct {
	DType       DType   `json:"dtype"`
	Shape       []int   `json:"shape"`
	DataOffsets []int64 `json:"data_offsets"`
}

func parse(path string, data []byte) (*File, error) {
	size := int64(len(data))
	if size < 8 {
		return nil, fmt.Errorf("safetensors %s: file is %d bytes, shorter than the 8-byte header length (truncated or not a safetensors file)", path, size)
	}
	n := binary.LittleEndian.Uint64(data[:8])
	if n > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors %s: header length %d exceeds the %d-byte limit (corrupt or not a safetensors file)", path, n, MaxHeaderSize)
	}
	if int64(n) > size-8 {
		return nil, fmt.Errorf("safetensors %s: header length %d but only %d bytes follow it (file truncated)", path, n, size-8)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data[8:8+n], &raw); err != nil {
		return nil, fmt.Errorf("safetensors %s: header JSON: %w (corrupt header)", path, err)
	}
	f := &File{
		path:    path,
		data:    data,
		dataOff: int64(8 + n),
		tensors: make(map[string]TensorInfo, len(raw)),
	}
	dataLen := size - f.dataOff
	for name, msg := range raw {
		if name == metadataKey {
			if err := json.Unmarshal(msg, &f.metadata); err != nil {
				return nil, fmt.Errorf("safetensors %s: %s: want an object of strings: %w", path, metadataKey, err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, fmt.Errorf("safetensors %s: tensor %q: %w", path, name, err)
		}
		elem, ok := e.DType.Size()
		if !ok {
			return nil, fmt.Errorf("safetensors %s: tensor %q: unknown dtype %q (known: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL F8_E4M3 F8_E5M2)", path, name, e.DType)
		}
		if len(e.DataOffsets) != 2 {
			return nil, fmt.Errorf("safetensors %s: tensor %q: data_offsets has %d values, want [begin, end]", path, name, len(e.DataOffsets))
		}
		begin, end := e.DataOffsets[0], e.DataOffsets[1]
		if begin < 0 || end < begin {
			return nil, fmt.Errorf("safetensors %s: tensor %q: invalid data_offsets [%d, %d]", path, name, begin, end)
		}
		if end > dataLen {
			return nil, fmt.Errorf("safetensors %s: tensor %q: data_offsets [%d, %d] run past the %d-byte data section (file truncated)", path, name, begin, end, dataLen)
		}
		numel := int64(1)
		for _, d := range e.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors %s: tensor %q: negative dimension in shape %v", path, name, e.Shape)
			}
			if d > 0 && numel > math.MaxInt64/int64(d)/int64(elem) {
				return nil, fmt.Errorf("safetensors %s: tensor %q: shape %v overflows", path, name, e.Shape)
			}
			numel *= int64(d)
		}
		if want := numel * int64(elem); end-begin != want {
			return nil, fmt.Errorf("safetensors %s: tensor %q: %d bytes at [%d, %d] but shape %v × %s needs %d", path, name, end-begin, begin, end, e.Shape, e.DType, want)
		}
		shape := e.Shape
		if shape == nil {
			shape = []int{}
		}
		f.tensors[name] = TensorInfo{Name: name, DType: e.DType, Shape: shape, Begin: begin, End: end}
		f.names = append(f.names, name)
	}
	slices.Sort(f.names)
	byOffset := make([]TensorInfo, 0, len(f.tensors))
	for _, ti := range f.tensors {
		if ti.End > ti.Begin {
			byOffset = append(byOffset, ti)
		}
	}
	slices.SortFunc(byOffset, func(a, b TensorInfo) int {
		return cmp.Or(cmp.Compare(a.Begin, b.Begin), cmp.Compare(a.Name, b.Name))
	})
	for i := 1; i < len(byOffset); i++ {
		if prev, cur := byOffset[i-1], byOffset[i]; cur.Begin < prev.End {
			return nil, fmt.Errorf("safetensors %s: tensors %q [%d, %d] and %q [%d, %d] overlap (corrupt header)", path, prev.Name, prev.Begin, prev.End, cur.Name, cur.Begin, cur.End)
		}
	}
	return f, nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// Names returns the tensor names in sorted order.
func (f *File) Names() []string { return slices.Clone(f.names) }

// Metadata returns the header's __metadata__ entries (nil when absent).
func (f *File) Metadata() map[string]string { return f.metadata }

// Info returns the description of tensor name.
func (f *File) Info(name string) (TensorInfo, bool) {
	ti, ok := f.tensors[name]
	return ti, ok
}

// Raw returns the tensor's little-endian bytes, aliasing the mapped file: do not modify them,
// and do not use them after Close.
func (f *File) Raw(name string) (TensorInfo, []byte, error) {
	ti, ok := f.tensors[name]
	if !ok {
		return TensorInfo{}, nil, fmt.Errorf("safetensors %s: no tensor %q", f.path, name)
	}
	return ti, f.data[f.dataOff+ti.Begin : f.dataOff+ti.End], nil
}

// Float32 returns tensor name converted to float32 (from F32, F16, BF16 or F64) and its shape.
func (f *File) Float32(name string) ([]float32, []int, error) {
	ti, raw, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]float32, ti.NumElements())
	if err := toFloat32(ti.DType, raw, out); err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.path, name, err)
	}
	return out, slices.Clone(ti.Shape), nil
}

// Int64 returns integer tensor name converted to int64 and its shape.
func (f *File) Int64(name string) ([]int64, []int, error) {
	ti, raw, err := f.Raw(name)
	if err != nil {
		return nil, nil, err
	}
	out := make([]int64, ti.NumElements())
	if err := toInt64(ti.DType, raw, out); err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: tensor %q: %w", f.path, name, err)
	}
	return out, slices.Clone(ti.Shape), nil
}

// Close unmaps the file. Slices from Raw are invalid afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	f.data = nil
	if err != nil {
		return fmt.Errorf("safetensors %s: unmap: %w", f.path, err)
	}
	return nil
}

// mapFile maps path read-only; it falls back to reading the file where mapping is unavailable.
func mapFile(path string) ([]byte, func() error, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return []byte{}, nil, nil
	}
	if st.Size() > math.MaxInt {
		return nil, nil, fmt.Errorf("file of %d bytes is too large to map", st.Size())
	}
	return mmap(fh, int(st.Size()))
}
