package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/sftlab/sftlab/internal/atomicfile"
)

// Tensor is one tensor to write: its name, dtype, shape and little-endian bytes.
type Tensor struct {
	Name  string
	DType DType
	Shape []int
	Data  []byte
}

// NewF32 returns a float32 tensor holding values (copied).
func NewF32(name string, shape []int, values []float32) Tensor {
	data := make([]byte, 4*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint32(data[4*i:], math.Float32bits(v))
	}
	return Tensor{Name: name, DType: F32, Shape: slices.Clone(shape), Data: data}
}

// NewBF16 returns a bfloat16 tensor holding values rounded to nearest, ties to even.
func NewBF16(name string, shape []int, values []float32) Tensor {
	data := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(data[2*i:], Float32ToBF16(v))
	}
	return Tensor{Name: name, DType: BF16, Shape: slices.Clone(shape), Data: data}
}

// NewF16 returns a float16 tensor holding values rounded to nearest, ties to even.
func NewF16(name string, shape []int, values []float32) Tensor {
	data := make([]byte, 2*len(values))
	for i, v := range values {
		binary.LittleEndian.PutUint16(data[2*i:], Float32ToF16(v))
	}
	return Tensor{Name: name, DType: F16, Shape: slices.Clone(shape), Data: data}
}

// NewFloat returns a tensor of dtype (F32, BF16 or F16) holding values.
func NewFloat(name string, dtype DType, shape []int, values []float32) (Tensor, error) {
	switch dtype {
	case F32:
		return NewF32(name, shape, values), nil
	case BF16:
		return NewBF16(name, shape, values), nil
	case F16:
		return NewF16(name, shape, values), nil
	}
	return Tensor{}, fmt.Errorf("tensor %q: cannot write float values as %s (want F32, BF16 or F16)", name, dtype)
}

// Source is a tensor to write whose bytes are produced on demand, so that a large model is
// written without holding a second copy of its weights in memory. WriteData must write exactly
// NumElements × dtype size bytes.
type Source struct {
	Name      string
	DType     DType
	Shape     []int
	WriteData func(w io.Writer) error
}

// Source returns t as a Source.
func (t Tensor) Source() Source {
	return Source{Name: t.Name, DType: t.DType, Shape: t.Shape, WriteData: func(w io.Writer) error {
		_, err := w.Write(t.Data)
		return err
	}}
}

// byteSize is the number of data bytes of s, or an error for an unknown dtype or bad shape.
func (s Source) byteSize() (int64, error) {
	elem, ok := s.DType.Size()
	if !ok {
		return 0, fmt.Errorf("tensor %q: unknown dtype %q", s.Name, s.DType)
	}
	n := int64(elem)
	for _, d := range s.Shape {
		if d < 0 {
			return 0, fmt.Errorf("tensor %q: negative dimension in shape %v", s.Name, s.Shape)
		}
		n *= int64(d)
	}
	return n, nil
}

// Write writes tensors to path atomically, as Hugging Face does: tensors sorted by name and laid
// out in that order, the JSON header padded with spaces to a multiple of 8 bytes, metadata (may
// be nil) under __metadata__.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	sources := make([]Source, len(tensors))
	for i, t := range tensors {
		if size, err := t.Source().byteSize(); err == nil && size != int64(len(t.Data)) {
			return fmt.Errorf("safetensors %s: tensor %q: %d bytes but shape %v × %s needs %d", path, t.Name, len(t.Data), t.Shape, t.DType, size)
		}
		sources[i] = t.Source()
	}
	return WriteSources(path, sources, metadata)
}

// WriteSources is Write for tensors whose bytes are produced on demand.
func WriteSources(path string, sources []Source, metadata map[string]string) error {
	header, sorted, err := encodeHeader(sources, metadata)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", path, err)
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		if _, err := bw.Write(header); err != nil {
			return err
		}
		for _, s := range sorted {
			want, _ := s.byteSize()
			cw := &countingWriter{w: bw}
			if err := s.WriteData(cw); err != nil {
				return fmt.Errorf("tensor %q: %w", s.Name, err)
			}
			if cw.n != want {
				return fmt.Errorf("tensor %q: wrote %d bytes, shape %v × %s needs %d", s.Name, cw.n, s.Shape, s.DType, want)
			}
		}
		return bw.Flush()
	})
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// DefaultMaxShardBytes is the shard size Hugging Face's save_pretrained uses by default (5 GB).
const DefaultMaxShardBytes = 5_000_000_000

// WriteDir writes a model's weights into dir as Hugging Face does: model.safetensors when they
// fit in maxShardBytes, otherwise model-0000i-of-0000n.safetensors shards (tensors in name
// order, a new shard when the next tensor would overflow the current one) plus
// model.safetensors.index.json. A stale index or single file that would shadow the new weights
// is removed. It returns the names of the files written.
func WriteDir(dir string, sources []Source, metadata map[string]string, maxShardBytes int64) ([]string, error) {
	if maxShardBytes <= 0 {
		return nil, fmt.Errorf("safetensors %s: maxShardBytes must be > 0, got %d", dir, maxShardBytes)
	}
	sorted := slices.Clone(sources)
	slices.SortFunc(sorted, func(a, b Source) int { return strings.Compare(a.Name, b.Name) })
	var shards [][]Source
	var cur int64
	var total int64
	for _, s := range sorted {
		size, err := s.byteSize()
		if err != nil {
			return nil, fmt.Errorf("safetensors %s: %w", dir, err)
		}
		if len(shards) == 0 || (cur > 0 && cur+size > maxShardBytes) {
			shards = append(shards, nil)
			cur = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], s)
		cur += size
		total += size
	}
	if len(shards) <= 1 {
		if err := WriteSources(filepath.Join(dir, SingleFileName), sorted, metadata); err != nil {
			return nil, err
		}
		if err := removeIfExists(filepath.Join(dir, IndexFileName)); err != nil {
			return nil, err
		}
		return []string{SingleFileName}, nil
	}
	weightMap := map[string]string{}
	var names []string
	for i, shard := range shards {
		name := fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		if err := WriteSources(filepath.Join(dir, name), shard, metadata); err != nil {
			return nil, err
		}
		for _, s := range shard {
			weightMap[s.Name] = name
		}
		names = append(names, name)
	}
	index, err := json.MarshalIndent(map[string]any{
		"metadata":   map[string]any{"total_size": total},
		"weight_map": weightMap,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: index: %w", dir, err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, IndexFileName), append(index, '\n')); err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if err := removeIfExists(filepath.Join(dir, SingleFileName)); err != nil {
		return nil, err
	}
	return append(names, IndexFileName), nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("safetensors: remove stale %s: %w", path, err)
	}
	return nil
}

// EncodeHeader returns the 8-byte length and padded JSON header that precede the data of
// tensors (laid out sorted by name). It checks names are unique and sizes match shape × dtype.
func EncodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	sources := make([]Source, len(tensors))
	for i, t := range tensors {
		size, err := t.Source().byteSize()
		if err != nil {
			return nil, err
		}
		if size != int64(len(t.Data)) {
			return nil, fmt.Errorf("tensor %q: %d bytes but shape %v × %s needs %d", t.Name, len(t.Data), t.Shape, t.DType, size)
		}
		sources[i] = t.Source()
	}
	header, _, err := encodeHeader(sources, metadata)
	return header, err
}

// encodeHeader returns the header for sources and the sources in data order (sorted by name).
func encodeHeader(sources []Source, metadata map[string]string) ([]byte, []Source, error) {
	sorted := slices.Clone(sources)
	slices.SortFunc(sorted, func(a, b Source) int { return strings.Compare(a.Name, b.Name) })
	entries := make(map[string]any, len(sorted)+1)
	if len(metadata) > 0 {
		entries[metadataKey] = metadata
	}
	var offset int64
	for i, s := range sorted {
		if s.Name == metadataKey || s.Name == "" {
			return nil, nil, fmt.Errorf("tensor name %q is reserved or empty", s.Name)
		}
		if i > 0 && sorted[i-1].Name == s.Name {
			return nil, nil, fmt.Errorf("tensor %q appears twice", s.Name)
		}
		size, err := s.byteSize()
		if err != nil {
			return nil, nil, err
		}
		shape := s.Shape
		if shape == nil {
			shape = []int{}
		}
		entries[s.Name] = headerEntry{DType: s.DType, Shape: shape, DataOffsets: []int64{offset, offset + size}}
		offset += size
	}
	js, err := json.Marshal(entries) // encoding/json sorts map keys.
	if err != nil {
		return nil, nil, err
	}
	pad := (8 - len(js)%8) % 8
	js = append(js, bytes.Repeat([]byte(" "), pad)...)
	out := make([]byte, 8, 8+len(js))
	binary.LittleEndian.PutUint64(out, uint64(len(js)))
	return append(out, js...), sorted, nil
}
