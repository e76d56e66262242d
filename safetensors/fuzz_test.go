package safetensors

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds mutated safetensors files to Parse: it must return a file or an error, never
// panic, and every tensor of a file it accepts must be readable within the file's bytes.
func FuzzParse(f *testing.F) {
	dir := f.TempDir()
	for i, ts := range [][]Tensor{
		{NewF32("a", []int{2, 3}, []float32{1, 2, 3, 4, 5, 6}), NewBF16("b", []int{2}, []float32{1, -2})},
		{NewF16("model.norm.weight", []int{4}, []float32{1, 2, 3, 4}), {Name: "ids", DType: I64, Shape: []int{2}, Data: make([]byte, 16)}},
		{NewF32("scalar", []int{}, []float32{7}), {Name: "empty", DType: F32, Shape: []int{0, 3}}},
	} {
		path := filepath.Join(dir, "seed.safetensors")
		if err := Write(path, ts, map[string]string{"format": "pt", "seed": string(rune('0' + i))}); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, 8))
	f.Add(rawFile(`{"__metadata__":{"k":"v"},"a":{"dtype":"BF16","shape":[1,2],"data_offsets":[0,4]}}`, 4))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, '{'})
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("model.safetensors", data)
		if err != nil {
			return
		}
		for _, name := range file.Names() {
			info, raw, err := file.Raw(name)
			if err != nil {
				t.Fatalf("Raw(%q) of an accepted file: %v", name, err)
			}
			size, _ := info.DType.Size()
			if int64(len(raw)) != info.End-info.Begin || len(raw) != info.NumElements()*size {
				t.Fatalf("tensor %q: %d bytes for [%d, %d), %v × %s", name, len(raw), info.Begin, info.End, info.Shape, info.DType)
			}
			// Either conversion may refuse the dtype, but neither may panic.
			if _, _, err := file.Float32(name); err != nil && !strings.Contains(err.Error(), "cannot be converted") {
				t.Fatal(err)
			}
			if _, _, err := file.Int64(name); err != nil && !strings.Contains(err.Error(), "cannot be converted") {
				t.Fatal(err)
			}
		}
	})
}
