package arrowguard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestAllocatorLimit(t *testing.T) {
	a := NewAllocator(100)
	b := a.Allocate(60)
	b = a.Reallocate(90, b)
	err := Read("f.arrow", func() error {
		a.Allocate(11)
		return nil
	})
	if !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "f.arrow: ") {
		t.Fatalf("err %v, want ErrTooLarge naming the file", err)
	}
	a.Free(b)
	if c := a.Allocate(100); len(c) != 100 {
		t.Fatalf("after Free, %d bytes, want 100", len(c))
	}
}

func TestReadRecoversPanics(t *testing.T) {
	err := Read("f.arrow", func() error {
		var s []int
		_ = s[3]
		return nil
	})
	if err == nil || !strings.Contains(err.Error(), "f.arrow: corrupt file") || !strings.Contains(err.Error(), "index out of range") {
		t.Fatalf("err %v", err)
	}
	want := errors.New("plain")
	if err := Read("f", func() error { return want }); err != want {
		t.Fatalf("err %v, want fn's own error unchanged", err)
	}
}

// ipcFiles returns an Arrow IPC file and stream holding one small batch.
func ipcFiles(t *testing.T) (file, stream []byte) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "l", Type: arrow.ListOf(arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int64}))},
		{Name: "t", Type: &arrow.TimestampType{Unit: arrow.Second, TimeZone: "UTC"}},
	}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "bc"}, nil)
	lb := b.Field(1).(*array.ListBuilder)
	for range 2 {
		lb.Append(true)
		sb := lb.ValueBuilder().(*array.StructBuilder)
		sb.Append(true)
		sb.FieldBuilder(0).(*array.Int64Builder).Append(7)
	}
	b.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1, 2}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	var fb, sb bytes.Buffer
	fw, err := ipc.NewFileWriter(&fb, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	sw := ipc.NewWriter(&sb, ipc.WithSchema(schema))
	for _, w := range []interface {
		Write(arrow.RecordBatch) error
		Close() error
	}{fw, sw} {
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return fb.Bytes(), sb.Bytes()
}

func TestCheckValidFiles(t *testing.T) {
	file, stream := ipcFiles(t)
	if !IsFile(bytes.NewReader(file), int64(len(file))) || IsFile(bytes.NewReader(stream), int64(len(stream))) {
		t.Fatal("IsFile does not tell the formats apart")
	}
	if err := CheckFile(bytes.NewReader(file), int64(len(file))); err != nil {
		t.Fatalf("CheckFile of a valid file: %v", err)
	}
	if err := CheckStream(bytes.NewReader(stream), int64(len(stream))); err != nil {
		t.Fatalf("CheckStream of a valid stream: %v", err)
	}
}

// TestCheckHugeVector rewrites each 32-bit word of a valid file's and stream's metadata to a
// huge count, one at a time: whatever it meant (a vector length, an offset, a size), the check
// must refuse it or arrow-go must then read the file without a runaway allocation.
func TestCheckHugeVector(t *testing.T) {
	file, stream := ipcFiles(t)
	for _, tc := range []struct {
		name  string
		data  []byte
		check func(r io.ReaderAt, n int64) error
		read  func(r *bytes.Reader) error
	}{
		{"file", file, CheckFile, func(r *bytes.Reader) error {
			fr, err := ipc.NewFileReader(r, ipc.WithAllocator(NewAllocator(Budget(int64(len(file))))))
			if err != nil {
				return err
			}
			defer fr.Close()
			for i := range fr.NumRecords() {
				if _, err := fr.RecordBatch(i); err != nil {
					return err
				}
			}
			return nil
		}},
		{"stream", stream, CheckStream, func(r *bytes.Reader) error {
			sr, err := ipc.NewReader(r, ipc.WithAllocator(NewAllocator(Budget(int64(len(stream))))))
			if err != nil {
				return err
			}
			defer sr.Release()
			for sr.Next() {
			}
			return sr.Err()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			refused := 0
			for i := 0; i+4 <= len(tc.data); i += 4 {
				data := bytes.Clone(tc.data)
				binary.LittleEndian.PutUint32(data[i:], 0x7fff_fff0)
				if err := tc.check(bytes.NewReader(data), int64(len(data))); err != nil {
					refused++
					continue
				}
				Read("x", func() error { return tc.read(bytes.NewReader(data)) })
			}
			t.Logf("%d of %d words refused", refused, len(tc.data)/4)
		})
	}
}
