package datasets

import (
	"bytes"
	"os"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// checkRecords fails t unless recs, read from a fuzzed file without error, are each valid
// UTF-8 within MaxRecordBytes and pass the record checks. The loaders are called on the bytes
// directly (Load only adds opening the file and refusing an empty result).
func checkRecords(t *testing.T, recs []Record, err error) {
	if err != nil {
		return
	}
	for i, r := range recs {
		size := len(r.Task) + len(r.Instruction) + len(r.Input) + len(r.Output)
		texts := []string{r.Task, r.Instruction, r.Input, r.Output}
		for _, m := range r.Messages {
			size += len(m.Role) + len(m.Content)
			texts = append(texts, m.Role, m.Content)
		}
		if size > MaxRecordBytes {
			t.Fatalf("record %d: %d bytes", i, size)
		}
		for _, s := range texts {
			if !utf8.ValidString(s) {
				t.Fatalf("record %d: text %q is not UTF-8", i, s)
			}
		}
		if r.Messages != nil {
			if err := validateChat(r.Messages); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
		} else if err := validateAlpaca(r); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
	}
}

// FuzzJSONL fuzzes the JSON-lines loader.
func FuzzJSONL(f *testing.F) {
	f.Add([]byte(alpacaJSONL))
	f.Add([]byte(chatJSONL))
	f.Add([]byte("\ufeff" + `{"instruction":"a","output":"b"}` + "\r\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readJSONL("data.jsonl", bytes.NewReader(data))
		checkRecords(t, recs, err)
	})
}

// FuzzJSON fuzzes the JSON loader (an array of records, or objects one after another).
func FuzzJSON(f *testing.F) {
	f.Add([]byte(alpacaJSON))
	f.Add([]byte(chatJSONL))
	f.Add([]byte(`[{"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := parseJSON("data.json", data)
		checkRecords(t, recs, err)
	})
}

// columnarSeeds returns small files of the given format ("parquet" or "arrow") in the alpaca
// and chat layouts, and for Arrow also a stream and a compressed file.
func columnarSeeds(f *testing.F, format string) [][]byte {
	read := func(path string) []byte {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		return data
	}
	var out [][]byte
	for _, recs := range [][]Record{alpacaRecs, chatRecs} {
		if format == "parquet" {
			out = append(out, read(writeParquet(f, recs)))
			continue
		}
		out = append(out, read(writeArrow(f, recs)))
		batch := recordBatch(f, recs)
		for _, opts := range [][]ipc.Option{{ipc.WithSchema(batch.Schema())}, {ipc.WithSchema(batch.Schema()), ipc.WithZstd()}} {
			var buf bytes.Buffer
			w := ipc.NewWriter(&buf, opts...)
			if err := w.Write(batch); err != nil {
				f.Fatal(err)
			}
			if err := w.Close(); err != nil {
				f.Fatal(err)
			}
			out = append(out, buf.Bytes())
		}
		batch.Release()
	}
	return out
}

// FuzzParquet fuzzes the Parquet loader.
func FuzzParquet(f *testing.F) {
	for _, seed := range columnarSeeds(f, "parquet") {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readParquet("data.parquet", bytes.NewReader(data), int64(len(data)))
		checkRecords(t, recs, err)
	})
}

// FuzzArrow fuzzes the Arrow IPC (file and stream) loader.
func FuzzArrow(f *testing.F) {
	for _, seed := range columnarSeeds(f, "arrow") {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readArrowData("data.arrow", bytes.NewReader(data), int64(len(data)))
		checkRecords(t, recs, err)
	})
}
