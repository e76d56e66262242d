package datasets

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// TestCorruptColumnarFiles damages small Parquet and Arrow files byte by byte (each byte set
// to 0x00, 0xff and flipped in its top bit) and loads each: every load must return records or
// an error. Before the loaders were guarded, such files panicked (slice bounds) or asked for
// hundreds of gigabytes.
func TestCorruptColumnarFiles(t *testing.T) {
	read := func(path string) []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	batch := recordBatch(t, chatRecs)
	defer batch.Release()
	var stream bytes.Buffer
	w := ipc.NewWriter(&stream, ipc.WithSchema(batch.Schema()))
	if err := w.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := []struct {
		name, ext string
		data      []byte
	}{
		{"parquet", ".parquet", read(writeParquet(t, alpacaRecs))},
		{"arrow file", ".arrow", read(writeArrow(t, alpacaRecs))},
		{"arrow stream of chats", ".arrow", stream.Bytes()},
	}
	mutations := []func(byte) byte{func(byte) byte { return 0 }, func(byte) byte { return 0xff }, func(b byte) byte { return b ^ 0x80 }}
	if testing.Short() {
		mutations = mutations[2:]
	}
	dir := t.TempDir()
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			path := filepath.Join(dir, "data"+f.ext)
			loaded, refused := 0, 0
			for i := range f.data {
				for _, mutate := range mutations {
					data := bytes.Clone(f.data)
					if data[i] = mutate(data[i]); data[i] == f.data[i] {
						continue
					}
					if err := os.WriteFile(path, data, 0o644); err != nil {
						t.Fatal(err)
					}
					if _, err := Load(path); err != nil {
						refused++
					} else {
						loaded++
					}
				}
			}
			t.Logf("%d bytes: %d damaged files loaded, %d refused", len(f.data), loaded, refused)
		})
	}
}
