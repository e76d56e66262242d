package datasets

import (
	"strings"
	"testing"

	"github.com/sftlab/sftlab/tokenizer"
)

// TestBadTextRefused checks that text that is not UTF-8, or a record over MaxRecordBytes, is
// an error naming the file, the line (or row) and the limit, in every file format; such text
// used to be read as U+FFFD, and a 40 MB line was tokenized whole.
func TestBadTextRefused(t *testing.T) {
	good := `{"instruction":"翻译","input":"你好","output":"hello"}`
	gbk := "{\"instruction\":\"\xc4\xe3\xba\xc3\",\"input\":\"\",\"output\":\"hello\"}" // 你好 in GBK
	huge := `{"instruction":"复述","input":"` + strings.Repeat("很", MaxRecordBytes/3+1) + `","output":"好"}`
	bigButFine := `{"instruction":"复述","input":"` + strings.Repeat("a", MaxRecordBytes-100) + `","output":"好"}`
	tests := []struct {
		name, file, content string
		want                []string // "" = loads
	}{
		{"jsonl GBK", "d.jsonl", good + "\n" + gbk + "\n", []string{"d.jsonl:2:", "byte 17 of the line (0xc4) is not valid UTF-8", "save the file as UTF-8"}},
		{"jsonl huge line", "d.jsonl", good + "\n\n" + huge + "\n", []string{"d.jsonl:3:", "exceeds the limit of 1048576 bytes"}},
		{"jsonl line of the limit", "d.jsonl", bigButFine + "\n", nil},
		{"json GBK", "d.json", "[\n" + good + ",\n" + gbk + "\n]", []string{"d.json:3:", "byte 17 of the line (0xc4) is not valid UTF-8"}},
		{"json huge record", "d.json", "[\n" + good + ",\n" + huge + "\n]", []string{"d.json:3:", "record 1", "exceeds the limit of 1048576 bytes"}},
		{"json objects huge record", "d.json", good + "\n" + huge + "\n", []string{"d.json:2:", "record 1", "exceeds the limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, tt.file, tt.content)
			recs, err := Load(path)
			if tt.want == nil {
				if err != nil || len(recs) != 1 {
					t.Fatalf("err %v, %d records; want 1", err, len(recs))
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded %d records, want an error", len(recs))
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
	columnar := []struct {
		name string
		recs []Record
		want string
	}{
		{"not UTF-8", []Record{alpacaRecs[0], {Instruction: "翻译", Input: "\xc4\xe3\xba\xc3", Output: "hello"}}, `row 1: column "input" is not valid UTF-8`},
		{"huge row", []Record{{Instruction: "复述", Input: strings.Repeat("很", MaxRecordBytes/3+1), Output: "好"}}, "row 0: record of 1048587 bytes exceeds the limit"},
		{"chat not UTF-8", []Record{{Messages: []tokenizer.Message{{Role: "user", Content: "\xff"}, {Role: "assistant", Content: "好"}}}}, `row 0: column "messages[0].content" is not valid UTF-8`},
	}
	for _, tt := range columnar {
		for format, write := range map[string]func(testing.TB, []Record) string{"parquet": writeParquet, "arrow": writeArrow} {
			t.Run(format+" "+tt.name, func(t *testing.T) {
				path := write(t, tt.recs)
				_, err := Load(path)
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err %v, want one naming %s and %q", err, path, tt.want)
				}
			})
		}
	}
}
