package safetensors

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rawFile builds a safetensors file from a literal header and a data section of dataLen bytes.
func rawFile(header string, dataLen int) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, make([]byte, dataLen)...)
}

func writeBytes(t *testing.T, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRoundTrip(t *testing.T) {
	values := []float32{0, 1, -2.5, 3.140625, 1e-3, -65504, 0.1}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	tensors := []Tensor{
		NewF32("b.f32", []int{7}, values),
		NewBF16("a.bf16", []int{7, 1}, values),
		NewF16("c.f16", []int{1, 7}, values),
		NewF32("d.scalar", nil, []float32{42}),
		NewF32("e.empty", []int{0, 3}, nil),
	}
	meta := map[string]string{"format": "pt"}
	if err := Write(path, tensors, meta); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, want := f.Names(), []string{"a.bf16", "b.f32", "c.f16", "d.scalar", "e.empty"}; !slices.Equal(got, want) {
		t.Errorf("Names = %v, want %v", got, want)
	}
	if f.Metadata()["format"] != "pt" {
		t.Errorf("Metadata = %v", f.Metadata())
	}
	tests := []struct {
		name  string
		dtype DType
		shape []int
		want  func(float32) float32
	}{
		{"b.f32", F32, []int{7}, func(v float32) float32 { return v }},
		{"a.bf16", BF16, []int{7, 1}, func(v float32) float32 { return BF16ToFloat32(Float32ToBF16(v)) }},
		{"c.f16", F16, []int{1, 7}, func(v float32) float32 { return F16ToFloat32(Float32ToF16(v)) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, shape, err := f.Float32(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(shape, tc.shape) {
				t.Errorf("shape = %v, want %v", shape, tc.shape)
			}
			info, _ := f.Info(tc.name)
			if info.DType != tc.dtype {
				t.Errorf("dtype = %s, want %s", info.DType, tc.dtype)
			}
			for i, v := range values {
				if got[i] != tc.want(v) {
					t.Errorf("[%d] = %v, want %v", i, got[i], tc.want(v))
				}
				if rel := math.Abs(float64(got[i]-v)) / math.Max(math.Abs(float64(v)), 1e-3); rel > 1e-2 {
					t.Errorf("[%d] = %v, too far from %v", i, got[i], v)
				}
			}
		})
	}
	if got, shape, err := f.Float32("d.scalar"); err != nil || len(shape) != 0 || got[0] != 42 {
		t.Errorf("scalar = %v %v %v", got, shape, err)
	}
	if got, shape, err := f.Float32("e.empty"); err != nil || len(got) != 0 || !slices.Equal(shape, []int{0, 3}) {
		t.Errorf("empty = %v %v %v", got, shape, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(data); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
}

// TestHeaderBytes pins the exact bytes of a small file to the layout Hugging Face's writer produces.
func TestHeaderBytes(t *testing.T) {
	header, err := EncodeHeader([]Tensor{NewF32("w", []int{2}, []float32{1, 2}), NewBF16("a", []int{1}, []float32{1})}, nil)
	if err != nil {
		t.Fatal(err)
	}
	js := `{"a":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]},"w":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}`
	js += strings.Repeat(" ", (8-len(js)%8)%8)
	want := append(binary.LittleEndian.AppendUint64(nil, uint64(len(js))), js...)
	if string(header) != string(want) {
		t.Errorf("header =\n%q\nwant\n%q", header, want)
	}
}

func TestInt64(t *testing.T) {
	data := binary.LittleEndian.AppendUint64(nil, uint64(1<<40))
	data = binary.LittleEndian.AppendUint64(data, uint64(math.MaxUint64)) // -1
	i32 := binary.LittleEndian.AppendUint32(nil, uint32(0xfffffffe))      // -2
	path := filepath.Join(t.TempDir(), "i.safetensors")
	if err := Write(path, []Tensor{{Name: "i64", DType: I64, Shape: []int{2}, Data: data}, {Name: "i32", DType: I32, Shape: []int{1}, Data: i32}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tests := []struct {
		name string
		want []int64
	}{{"i64", []int64{1 << 40, -1}}, {"i32", []int64{-2}}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, _, err := f.Int64(tc.name)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("Int64 = %v, %v; want %v", got, err, tc.want)
			}
			if _, _, err := f.Float32(tc.name); err == nil || !strings.Contains(err.Error(), "cannot be converted to float32") {
				t.Errorf("Float32 of an integer tensor: err = %v", err)
			}
		})
	}
}

func TestCorruptFiles(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte
		wantErr string
	}{
		{"empty file", nil, "shorter than the 8-byte header length"},
		{"five bytes", []byte{1, 2, 3, 4, 5}, "shorter than the 8-byte header length"},
		{"header past end", rawFile(`{}`, 0)[:9], "only 1 bytes follow it (file truncated)"},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<40), "exceeds the"},
		{"bad json", rawFile(`{"a":`, 0), "header JSON"},
		{"unknown dtype", rawFile(`{"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}}`, 4), `unknown dtype "F12"`},
		{"truncated data", rawFile(`{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 12), "run past the 12-byte data section (file truncated)"},
		{"size mismatch", rawFile(`{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,16]}}`, 16), "shape [2 3] × F32 needs 24"},
		{"bf16 size mismatch", rawFile(`{"a":{"dtype":"BF16","shape":[4],"data_offsets":[0,16]}}`, 16), "shape [4] × BF16 needs 8"},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12), "overlap"},
		{"reversed offsets", rawFile(`{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}`, 8), "invalid data_offsets"},
		{"one offset", rawFile(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4]}}`, 8), "want [begin, end]"},
		{"negative dim", rawFile(`{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}`, 0), "negative dimension"},
		{"bad metadata", rawFile(`{"__metadata__":{"a":1}}`, 0), "__metadata__"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeBytes(t, tc.data)
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error containing %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %q, want it to contain %q and the path", err, tc.wantErr)
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "nope.safetensors")); err == nil {
		t.Fatal("Open of a missing file succeeded")
	}
}

func writeShards(t *testing.T, dir string, weightMap map[string]string) {
	t.Helper()
	shards := map[string][]Tensor{
		"model-00001-of-00002.safetensors": {NewF32("x", []int{2}, []float32{1, 2}), NewF32("y", []int{1}, []float32{3})},
		"model-00002-of-00002.safetensors": {NewBF16("z", []int{2}, []float32{4, 5})},
	}
	for name, ts := range shards {
		if err := Write(filepath.Join(dir, name), ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	index, err := json.Marshal(map[string]any{"metadata": map[string]any{"total_size": 16}, "weight_map": weightMap})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), index, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestOpenDir(t *testing.T) {
	good := map[string]string{
		"x": "model-00001-of-00002.safetensors",
		"y": "model-00001-of-00002.safetensors",
		"z": "model-00002-of-00002.safetensors",
	}
	t.Run("sharded", func(t *testing.T) {
		dir := t.TempDir()
		writeShards(t, dir, good)
		s, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got := s.Names(); !slices.Equal(got, []string{"x", "y", "z"}) {
			t.Errorf("Names = %v", got)
		}
		tests := []struct {
			name string
			want []float32
		}{{"x", []float32{1, 2}}, {"y", []float32{3}}, {"z", []float32{4, 5}}}
		for _, tc := range tests {
			got, _, err := s.Float32(tc.name)
			if err != nil || !slices.Equal(got, tc.want) {
				t.Errorf("%s = %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
		if _, _, err := s.Float32("missing"); err == nil || !strings.Contains(err.Error(), `no tensor "missing"`) {
			t.Errorf("missing tensor: err = %v", err)
		}
	})
	t.Run("wrong shard in index", func(t *testing.T) {
		dir := t.TempDir()
		bad := map[string]string{"x": "model-00002-of-00002.safetensors", "z": "model-00002-of-00002.safetensors"}
		writeShards(t, dir, bad)
		if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), `puts "x" in model-00002-of-00002.safetensors`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("missing shard", func(t *testing.T) {
		dir := t.TempDir()
		writeShards(t, dir, map[string]string{"x": "model-00003-of-00003.safetensors"})
		if _, err := OpenDir(dir); err == nil || !strings.Contains(err.Error(), "model-00003-of-00003.safetensors") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("single file", func(t *testing.T) {
		dir := t.TempDir()
		if err := Write(filepath.Join(dir, SingleFileName), []Tensor{NewF32("w", []int{1}, []float32{7})}, nil); err != nil {
			t.Fatal(err)
		}
		s, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if got, _, err := s.Float32("w"); err != nil || got[0] != 7 {
			t.Errorf("w = %v, %v", got, err)
		}
	})
	t.Run("empty dir", func(t *testing.T) {
		if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), "neither model.safetensors") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		wantErr string
	}{
		{"duplicate", []Tensor{NewF32("a", []int{1}, []float32{1}), NewF32("a", []int{1}, []float32{1})}, "appears twice"},
		{"size mismatch", []Tensor{{Name: "a", DType: F32, Shape: []int{3}, Data: make([]byte, 8)}}, "needs 12"},
		{"unknown dtype", []Tensor{{Name: "a", DType: "Q4", Shape: []int{1}, Data: make([]byte, 1)}}, "unknown dtype"},
		{"reserved name", []Tensor{NewF32("__metadata__", []int{1}, []float32{1})}, "reserved"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "x.safetensors")
			err := Write(path, tc.tensors, nil)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
			if _, statErr := os.Stat(path); statErr == nil {
				t.Errorf("a failed Write left %s behind", path)
			}
		})
	}
}

func TestFloatConversions(t *testing.T) {
	tests := []struct {
		name string
		in   float32
		bf16 uint16
		f16  uint16
	}{
		{"one", 1, 0x3f80, 0x3c00},
		{"minus two", -2, 0xc000, 0xc000},
		{"zero", 0, 0, 0},
		{"bf16 tie to even down", 1 + 1.0/256, 0x3f80, 0x3c04},
		{"bf16 tie to even up", 1 + 3.0/256, 0x3f82, 0x3c0c},
		{"f16 max", 65504, 0x4780, 0x7bff},
		{"f16 overflow", 1e6, 0x4974, 0x7c00},
		{"f16 subnormal", 5.9604645e-08, 0x3380, 0x0001},
		{"inf", float32(math.Inf(1)), 0x7f80, 0x7c00},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Float32ToBF16(tc.in); got != tc.bf16 {
				t.Errorf("Float32ToBF16(%v) = %#04x, want %#04x", tc.in, got, tc.bf16)
			}
			if got := Float32ToF16(tc.in); got != tc.f16 {
				t.Errorf("Float32ToF16(%v) = %#04x, want %#04x", tc.in, got, tc.f16)
			}
			if tc.f16 != 0x7c00 || math.IsInf(float64(tc.in), 0) {
				if back := F16ToFloat32(tc.f16); math.Abs(float64(back-tc.in)) > 1e-3*math.Abs(float64(tc.in)) {
					t.Errorf("F16ToFloat32(%#04x) = %v, want ≈ %v", tc.f16, back, tc.in)
				}
			}
		})
	}
	if nan := BF16ToFloat32(Float32ToBF16(float32(math.NaN()))); nan == nan {
		t.Error("NaN did not survive bf16 rounding")
	}
}

func TestWriteDir(t *testing.T) {
	tensors := []Tensor{
		NewF32("a", []int{4}, []float32{1, 2, 3, 4}), // 16 bytes
		NewF32("b", []int{2}, []float32{5, 6}),       // 8 bytes
		NewBF16("c", []int{4}, []float32{7, 8, 9, 10}),
		NewF32("d", []int{5}, []float32{11, 12, 13, 14, 15}), // 20 bytes
	}
	sources := make([]Source, len(tensors))
	for i, tt := range tensors {
		sources[i] = tt.Source()
	}
	tests := []struct {
		name      string
		maxShard  int64
		wantFiles []string
	}{
		{"one file", 1 << 20, []string{SingleFileName}},
		{"three shards", 24, []string{"model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors", "model-00003-of-00003.safetensors", IndexFileName}},
		{"a tensor larger than a shard gets its own", 10, []string{"model-00001-of-00004.safetensors", "model-00002-of-00004.safetensors", "model-00003-of-00004.safetensors", "model-00004-of-00004.safetensors", IndexFileName}},
	}
	dir := t.TempDir() // shared: each case must clear what would shadow it
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			files, err := WriteDir(dir, sources, map[string]string{"format": "pt"}, tc.maxShard)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(files, tc.wantFiles) {
				t.Errorf("files = %v, want %v", files, tc.wantFiles)
			}
			s, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := len(s.Files()); got != max(1, len(tc.wantFiles)-1) {
				t.Errorf("OpenDir opened %d files", got)
			}
			for _, tt := range tensors {
				got, _, err := s.Float32(tt.Name)
				want, _, _ := mustParse(t, tt).Float32(tt.Name)
				if err != nil || !slices.Equal(got, want) {
					t.Errorf("%s = %v, %v; want %v", tt.Name, got, err, want)
				}
			}
		})
	}
	t.Run("single file replaces a stale index", func(t *testing.T) {
		if _, err := WriteDir(dir, sources, nil, 1<<20); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, IndexFileName)); err == nil {
			t.Error("stale index left beside model.safetensors")
		}
	})
}

// mustParse returns a one-tensor in-memory file holding t.
func mustParse(t *testing.T, tt Tensor) *File {
	t.Helper()
	header, err := EncodeHeader([]Tensor{tt}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse("memory", append(header, tt.Data...))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestWriteSourcesShortData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.safetensors")
	src := Source{Name: "a", DType: F32, Shape: []int{2}, WriteData: func(w io.Writer) error {
		_, err := w.Write(make([]byte, 4))
		return err
	}}
	if err := WriteSources(path, []Source{src}, nil); err == nil || !strings.Contains(err.Error(), "wrote 4 bytes") {
		t.Errorf("err = %v", err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("a failed write left the file behind")
	}
}
