package datasets

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/sftlab/sftlab/tokenizer"
)

var (
	alpacaRecs = []Record{
		{Task: "翻译", Instruction: "翻译成英文。", Input: "图书馆周末不开放。", Output: "The library is closed on weekends."},
		{Task: "", Instruction: "回答下面的问题。", Input: "", Output: "七天。"},
	}
	chatRecs = []Record{
		{Task: "问答", Messages: []tokenizer.Message{
			{Role: "system", Content: "你是一个简洁的中文助手。"},
			{Role: "user", Content: "一个星期有几天？"},
			{Role: "assistant", Content: "七天。"},
		}},
		{Messages: []tokenizer.Message{
			{Role: "user", Content: "判断情感：快递第二天就到了。"},
			{Role: "assistant", Content: "正面"},
			{Role: "user", Content: "那这句呢：菜是凉的。"},
			{Role: "assistant", Content: "负面"},
		}},
	}
)

const (
	alpacaJSONL = `{"task":"翻译","instruction":"翻译成英文。","input":"图书馆周末不开放。","output":"The library is closed on weekends."}

{"instruction":"回答下面的问题。","input":"","output":"七天。","id":7}
`
	alpacaJSON = `[
  {"task":"翻译","instruction":"翻译成英文。","input":"图书馆周末不开放。","output":"The library is closed on weekends."},
  {"instruction":"回答下面的问题。","output":"七天。"}
]`
	chatJSONL = `{"task":"问答","messages":[{"role":"system","content":"你是一个简洁的中文助手。"},{"role":"user","content":"一个星期有几天？"},{"role":"assistant","content":"七天。"}]}
{"messages":[{"role":"user","content":"判断情感：快递第二天就到了。"},{"role":"assistant","content":"正面"},{"role":"user","content":"那这句呢：菜是凉的。"},{"role":"assistant","content":"负面"}]}
`
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// recordBatch builds an Arrow record batch holding recs in the alpaca or the chat column layout.
func recordBatch(t testing.TB, recs []Record) arrow.RecordBatch {
	t.Helper()
	msgType := arrow.StructOf(arrow.Field{Name: "role", Type: arrow.BinaryTypes.String},
		arrow.Field{Name: "content", Type: arrow.BinaryTypes.String})
	fields := []arrow.Field{{Name: "task", Type: arrow.BinaryTypes.String}}
	if recs[0].IsChat() {
		fields = append(fields, arrow.Field{Name: "messages", Type: arrow.ListOf(msgType)})
	} else {
		for _, n := range []string{"instruction", "input", "output"} {
			fields = append(fields, arrow.Field{Name: n, Type: arrow.BinaryTypes.String})
		}
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	defer b.Release()
	for _, r := range recs {
		b.Field(0).(*array.StringBuilder).Append(r.Task)
		if r.IsChat() {
			lb := b.Field(1).(*array.ListBuilder)
			lb.Append(true)
			sb := lb.ValueBuilder().(*array.StructBuilder)
			for _, m := range r.Messages {
				sb.Append(true)
				sb.FieldBuilder(0).(*array.StringBuilder).Append(m.Role)
				sb.FieldBuilder(1).(*array.StringBuilder).Append(m.Content)
			}
			continue
		}
		for i, v := range []string{r.Instruction, r.Input, r.Output} {
			b.Field(1 + i).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch()
}

func writeParquet(t testing.TB, recs []Record) string {
	t.Helper()
	batch := recordBatch(t, recs)
	defer batch.Release()
	return writeParquetBatch(t, batch)
}

func writeParquetBatch(t testing.TB, batch arrow.RecordBatch) string {
	t.Helper()
	tbl := array.NewTableFromRecords(batch.Schema(), []arrow.RecordBatch{batch})
	defer tbl.Release()
	path := filepath.Join(t.TempDir(), "data.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := pqarrow.WriteTable(tbl, f, 1, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps()); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeArrow(t testing.TB, recs []Record) string {
	t.Helper()
	batch := recordBatch(t, recs)
	defer batch.Release()
	path := filepath.Join(t.TempDir(), "data.arrow")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(batch.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(batch); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFormats(t *testing.T) {
	tests := []struct {
		name string
		path func(t *testing.T) string
		want []Record
	}{
		{"jsonl alpaca", func(t *testing.T) string { return writeFile(t, "a.jsonl", alpacaJSONL) }, alpacaRecs},
		{"json array alpaca", func(t *testing.T) string { return writeFile(t, "a.json", alpacaJSON) }, alpacaRecs},
		{"jsonl chat", func(t *testing.T) string { return writeFile(t, "c.jsonl", chatJSONL) }, chatRecs},
		{"json holding json lines", func(t *testing.T) string { return writeFile(t, "l.json", alpacaJSONL) }, alpacaRecs},
		{"json array chat", func(t *testing.T) string {
			return writeFile(t, "c.json", "["+strings.Join(strings.Split(strings.TrimSpace(chatJSONL), "\n"), ",\n")+"]")
		}, chatRecs},
		{"parquet alpaca", func(t *testing.T) string { return writeParquet(t, alpacaRecs) }, alpacaRecs},
		{"parquet chat", func(t *testing.T) string { return writeParquet(t, chatRecs) }, chatRecs},
		{"parquet chat as JSON strings", func(t *testing.T) string {
			b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema([]arrow.Field{
				{Name: "task", Type: arrow.BinaryTypes.String}, {Name: "messages", Type: arrow.BinaryTypes.String}}, nil))
			defer b.Release()
			for _, line := range strings.Split(strings.TrimSpace(chatJSONL), "\n") {
				var rec struct {
					Task     string          `json:"task"`
					Messages json.RawMessage `json:"messages"`
				}
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatal(err)
				}
				b.Field(0).(*array.StringBuilder).Append(rec.Task)
				b.Field(1).(*array.StringBuilder).Append(string(rec.Messages))
			}
			batch := b.NewRecordBatch()
			defer batch.Release()
			return writeParquetBatch(t, batch)
		}, chatRecs},
		{"arrow alpaca", func(t *testing.T) string { return writeArrow(t, alpacaRecs) }, alpacaRecs},
		{"arrow chat", func(t *testing.T) string { return writeArrow(t, chatRecs) }, chatRecs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Load(tt.path(t))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Load = %+v\nwant %+v", got, tt.want)
			}
			if Hash(got) != Hash(tt.want) {
				t.Errorf("Hash differs from the same records loaded elsewhere")
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		wantErr []string // substrings the error must contain
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.jsonl") },
			[]string{"nope.jsonl", "no such file"}},
		{"empty jsonl", func(t *testing.T) string { return writeFile(t, "e.jsonl", "\n\n") },
			[]string{"e.jsonl", "empty dataset"}},
		{"empty json array", func(t *testing.T) string { return writeFile(t, "e.json", "[]") },
			[]string{"e.json", "empty dataset"}},
		{"malformed jsonl line", func(t *testing.T) string {
			return writeFile(t, "m.jsonl", alpacaJSONL+`{"instruction": "x", "output": "y"`+"\n")
		}, []string{"m.jsonl:4:", "bad JSON", "one JSON object"}},
		{"jsonl line not an object", func(t *testing.T) string { return writeFile(t, "m.jsonl", "[1, 2]\n") },
			[]string{"m.jsonl:1:", "want an object"}},
		{"missing output", func(t *testing.T) string {
			return writeFile(t, "o.jsonl", `{"instruction":"a","input":"b"}`+"\n")
		}, []string{"o.jsonl:1:", `missing field "output"`}},
		{"wrong field type", func(t *testing.T) string {
			return writeFile(t, "w.jsonl", `{"instruction":"a","input":"b","output":3}`+"\n")
		}, []string{"w.jsonl:1:", `"output"`, "number", "a string"}},
		{"empty output", func(t *testing.T) string {
			return writeFile(t, "o.jsonl", `{"instruction":"a","input":"b","output":""}`+"\n")
		}, []string{"o.jsonl:1:", `"output" is empty`}},
		{"mixed shapes", func(t *testing.T) string {
			return writeFile(t, "x.jsonl", alpacaJSONL+strings.SplitN(chatJSONL, "\n", 2)[0]+"\n")
		}, []string{"x.jsonl:4:", "one shape per file"}},
		{"unknown role", func(t *testing.T) string {
			return writeFile(t, "r.jsonl", `{"messages":[{"role":"bot","content":"hi"}]}`+"\n")
		}, []string{"r.jsonl:1:", `unknown role "bot"`}},
		{"chat ends with user", func(t *testing.T) string {
			return writeFile(t, "u.jsonl", `{"messages":[{"role":"user","content":"hi"}]}`+"\n")
		}, []string{"u.jsonl:1:", "must end with an \"assistant\" message"}},
		{"json not an array", func(t *testing.T) string { return writeFile(t, "n.json", `"instruction"`) },
			[]string{"n.json:1:", "not a JSON array"}},
		{"json objects bad record", func(t *testing.T) string {
			return writeFile(t, "o.json", alpacaJSONL+"\n"+`{"instruction":"a"}`)
		}, []string{"o.json:5:", "record 2", `missing field "output"`}},
		{"json array bad record", func(t *testing.T) string {
			return writeFile(t, "b.json", "[\n"+`{"instruction":"a","output":"b"},`+"\n"+`{"instruction":"a"}`+"\n]")
		}, []string{"b.json:3:", "record 1", `missing field "output"`}},
		{"unknown extension", func(t *testing.T) string { return writeFile(t, "d.csv", "a,b\n") },
			[]string{"d.csv", `unknown extension ".csv"`, ".jsonl"}},
		{"unknown builtin", func(t *testing.T) string { return "builtin:nope" },
			[]string{"builtin:nope", "builtin:teaching_zh"}},
		{"not parquet", func(t *testing.T) string { return writeFile(t, "p.parquet", "not parquet") },
			[]string{"p.parquet", "Parquet"}},
		{"parquet wrong columns", func(t *testing.T) string {
			b := array.NewRecordBuilder(memory.NewGoAllocator(),
				arrow.NewSchema([]arrow.Field{{Name: "prompt", Type: arrow.BinaryTypes.String}}, nil))
			defer b.Release()
			b.Field(0).(*array.StringBuilder).Append("x")
			batch := b.NewRecordBatch()
			defer batch.Release()
			return writeParquetBatch(t, batch)
		}, []string{"data.parquet", `"output"`, `"messages"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := Load(tt.path(t))
			if err == nil {
				t.Fatalf("Load succeeded with %d records, want an error", len(recs))
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
		})
	}
}

func TestBuiltinTeachingSet(t *testing.T) {
	recs, err := Load("builtin:teaching_zh")
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) < 72 {
		t.Errorf("teaching_zh has %d records, want at least 72", len(recs))
	}
	perTask := map[string]int{}
	for i, r := range recs {
		if r.Task == "" || r.Instruction == "" || r.Input == "" || r.Output == "" || r.IsChat() {
			t.Errorf("record %d: want task, instruction, input and output all set: %+v", i, r)
		}
		perTask[r.Task]++
	}
	for _, task := range []string{"摘要", "改写", "分类", "翻译", "抽取", "问答", "纠错"} {
		if perTask[task] < 8 {
			t.Errorf("task %s has %d records, want at least 8", task, perTask[task])
		}
	}
	if len(perTask) < 6 {
		t.Errorf("%d task types, want at least 6", len(perTask))
	}
	if got := Builtins(); !reflect.DeepEqual(got, []string{"teaching_zh"}) {
		t.Errorf("Builtins() = %v", got)
	}
}

func TestConversions(t *testing.T) {
	tests := []struct {
		name                       string
		rec                        Record
		wantMsgs                   []tokenizer.Message
		wantInstr, wantIn, wantOut string
	}{
		{"alpaca with input", Record{Instruction: "I", Input: "X", Output: "O"},
			[]tokenizer.Message{{Role: "user", Content: "I\nX"}, {Role: "assistant", Content: "O"}}, "I", "X", "O"},
		{"alpaca without input", Record{Instruction: "I", Output: "O"},
			[]tokenizer.Message{{Role: "user", Content: "I"}, {Role: "assistant", Content: "O"}}, "I", "", "O"},
		{"alpaca without instruction", Record{Input: "X", Output: "O"},
			[]tokenizer.Message{{Role: "user", Content: "X"}, {Role: "assistant", Content: "O"}}, "", "X", "O"},
		{"chat with system", chatRecs[0], chatRecs[0].Messages, "你是一个简洁的中文助手。", "一个星期有几天？", "七天。"},
		{"chat multi-turn keeps last exchange", chatRecs[1], chatRecs[1].Messages, "", "那这句呢：菜是凉的。", "负面"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rec.ChatMessages(); !reflect.DeepEqual(got, tt.wantMsgs) {
				t.Errorf("ChatMessages = %+v, want %+v", got, tt.wantMsgs)
			}
			i, in, out := tt.rec.Alpaca()
			if i != tt.wantInstr || in != tt.wantIn || out != tt.wantOut {
				t.Errorf("Alpaca = %q, %q, %q; want %q, %q, %q", i, in, out, tt.wantInstr, tt.wantIn, tt.wantOut)
			}
		})
	}
}

func TestHash(t *testing.T) {
	h := Hash(alpacaRecs)
	if len(h) != 64 {
		t.Fatalf("Hash = %q, want 64 hex digits", h)
	}
	swapped := []Record{alpacaRecs[1], alpacaRecs[0]}
	changed := append([]Record{}, alpacaRecs...)
	changed[1].Output += "!"
	for name, recs := range map[string][]Record{"order": swapped, "content": changed, "chat": chatRecs} {
		if Hash(recs) == h {
			t.Errorf("Hash ignores a change of %s", name)
		}
	}
	if Hash(alpacaRecs) != h {
		t.Error("Hash is not deterministic")
	}
}
