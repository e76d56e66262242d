package tokenizer

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/unicode/norm"
)

// qwen3Sum is the sha256 of the uncompressed Qwen3 tokenizer.json (qwen3/NOTICE.md).
const qwen3Sum = "aeb13307a71acd8fe81861d94ad54ab689df773318809eed3cbe794b4492dae4"

func loadQwen3(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Qwen3()
	if err != nil {
		t.Fatalf("Qwen3: %v", err)
	}
	return tok
}

// idCase is a text with the ids Hugging Face's tokenizers give it.
type idCase struct {
	Text string `json:"text"`
	IDs  []int  `json:"ids"`
}

func readCases(t testing.TB, path string) []idCase {
	t.Helper()
	var doc struct{ Cases []idCase }
	readJSON(t, path, &doc)
	if len(doc.Cases) == 0 {
		t.Fatalf("%s: no cases", path)
	}
	return doc.Cases
}

// readJSON decodes the JSON file at path (gzipped when its name ends in .gz) into v.
func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r = zr
	}
	if err := json.NewDecoder(r).Decode(v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestQwen3Golden checks the 24 reference cases: exact ids, and decoding gives the text back
// (its NFC form, which is what the tokenizer sees; the same as the text for all but one case).
func TestQwen3Golden(t *testing.T) {
	tok := loadQwen3(t)
	for i, c := range readCases(t, "testdata/qwen3_tokenizer_ids.json") {
		t.Run(fmt.Sprintf("%02d", i), func(t *testing.T) {
			got := tok.Encode(c.Text)
			if !slices.Equal(got, c.IDs) {
				t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, got, c.IDs)
			}
			if back, want := tok.Decode(got), norm.NFC.String(c.Text); back != want {
				t.Errorf("Decode(Encode(%q)) = %q, want %q", c.Text, back, want)
			}
		})
	}
}

// TestQwen3Reference compares thousands of random strings (and long edge cases) with Hugging
// Face's Rust tokenizers (testdata/gen_reference.mjs).
func TestQwen3Reference(t *testing.T) {
	tok := loadQwen3(t)
	cases := readCases(t, "testdata/reference_ids.json.gz")
	mismatches := 0
	for i, c := range cases {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("case %d: Encode(%q)\n got %v\nwant %v", i, c.Text, got, c.IDs)
			}
		}
		if back, want := tok.Decode(got), norm.NFC.String(c.Text); back != want {
			t.Errorf("case %d: Decode(Encode(%q)) = %q", i, c.Text, back)
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d cases differ from Hugging Face", mismatches, len(cases))
	}
}

// TestRenderChat compares with renderings of Qwen3's Jinja chat template by a Jinja engine
// (testdata/render_chat.mjs; the golden file comes from that engine, not from -update).
func TestRenderChat(t *testing.T) {
	tok := loadQwen3(t)
	data, err := os.ReadFile("testdata/chat_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Cases []struct {
			Name                string    `json:"name"`
			AddGenerationPrompt bool      `json:"add_generation_prompt"`
			Messages            []Message `json:"messages"`
			Text                string    `json:"text"`
		}
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) == 0 {
		t.Fatal("no cases")
	}
	for _, c := range doc.Cases {
		t.Run(fmt.Sprintf("%s/gen=%v", c.Name, c.AddGenerationPrompt), func(t *testing.T) {
			if got, err := tok.RenderChat(c.Messages, c.AddGenerationPrompt); err != nil || got != c.Text {
				t.Errorf("RenderChat\n got %q, %v\nwant %q", got, err, c.Text)
			}
		})
	}
}

func TestQwen3Accessors(t *testing.T) {
	tok := loadQwen3(t)
	wantSpecial := make([]int, 0, 14)
	for id := 151643; id <= 151656; id++ {
		wantSpecial = append(wantSpecial, id)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"VocabSize", tok.VocabSize(), 151669},
		{"EOS", tok.EOS(), 151645},
		{"EOS text", tok.TokenText(tok.EOS()), "<|im_end|>"},
		{"Pad", tok.Pad(), 151643},
		{"Pad text", tok.TokenText(tok.Pad()), "<|endoftext|>"},
		{"SpecialIDs", fmt.Sprint(tok.SpecialIDs()), fmt.Sprint(wantSpecial)},
		{"Hash", tok.Hash(), qwen3Sum},
		{"TokenText word", tok.TokenText(tok.Encode(" hello")[0]), " hello"},
		{"TokenText partial character", tok.TokenText(int(tok.byteID[0xE4])), "\uFFFD"},
		{"TokenText out of range", tok.TokenText(-1) + tok.TokenText(1<<30), ""},
		{"think", fmt.Sprint(tok.Encode("<think>")), "[151667]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestDecodeInvalidUTF8 checks that bytes of a split character become U+FFFD the way Rust's
// from_utf8_lossy does: one replacement per maximal ill-formed subsequence.
func TestDecodeInvalidUTF8(t *testing.T) {
	tok := loadQwen3(t)
	ids := func(bs ...byte) []int {
		out := make([]int, len(bs))
		for i, b := range bs {
			out[i] = int(tok.byteID[b])
		}
		return out
	}
	tests := []struct {
		name string
		ids  []int
		want string
	}{
		{"valid", ids(0xE4, 0xBD, 0xA0), "你"},
		{"truncated three-byte", ids(0xE4, 0xBD), "\uFFFD"},
		{"truncated then ASCII", append(ids(0xE4, 0xBD), ids('a')...), "\uFFFDa"},
		{"lone continuation bytes", ids(0xBD, 0xA0), "\uFFFD\uFFFD"},
		{"truncated four-byte", ids(0xF0, 0x9F, 0x98), "\uFFFD"},
		{"surrogate", ids(0xED, 0xA0, 0x80), "\uFFFD\uFFFD\uFFFD"},
		{"unknown id skipped", []int{-5, int(tok.byteID['x']), 1 << 30}, "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tok.Decode(tt.ids); got != tt.want {
				t.Errorf("Decode = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestMergeLongAgrees checks the heap-based merge against the quadratic one on the words of the
// reference strings and on long words built from them.
func TestMergeLongAgrees(t *testing.T) {
	tok := loadQwen3(t)
	cases := readCases(t, "testdata/reference_ids.json.gz")
	var ranks [smallWord]uint32
	var merged [smallWord]int32
	checked := 0
	for _, c := range cases[:2000] {
		s := norm.NFC.String(c.Text)
		for i := 0; i < len(s); {
			end := tok.split.next(s, i)
			w := s[i:end]
			i = end
			if len(w) < 2 || len(w) > smallWord {
				continue
			}
			a := make([]int32, len(w))
			for k := range len(w) {
				a[k] = tok.byteID[w[k]]
			}
			b := slices.Clone(a)
			gotSmall := tok.merges.mergeWord(a, ranks[:], merged[:])
			gotLong := tok.merges.mergeLong(b)
			if !slices.Equal(gotSmall, gotLong) {
				t.Fatalf("word %q: quadratic merge %v, heap merge %v", w, gotSmall, gotLong)
			}
			checked++
		}
	}
	if checked < 1000 {
		t.Fatalf("only %d words checked", checked)
	}
}

func TestSplitter(t *testing.T) {
	tests := []struct {
		name      string
		maxDigits int
		text      string
		want      []string
	}{
		{"words and spaces", 1, "Hello  world ", []string{"Hello", " ", " world", " "}},
		{"contractions", 1, "I'm don'T 'll 'ſx x'Ve", []string{"I", "'m", " don", "'T", " '", "ll", " '", "ſx", " x", "'Ve"}},
		{"digits one at a time", 1, "abc12345", []string{"abc", "1", "2", "3", "4", "5"}},
		{"digits by three", 3, "abc12345", []string{"abc", "123", "45"}},
		{"punctuation takes a space and newlines", 1, "a ...\n\nb", []string{"a", " ...\n\n", "b"}},
		{"newline runs", 1, "a \n \n  b", []string{"a", " \n \n", " ", " b"}},
		{"CRLF", 1, "x\r\ny", []string{"x", "\r\n", "y"}},
		{"trailing spaces", 1, "x   ", []string{"x", "   "}},
		{"tab before letter", 1, "a\tb", []string{"a", "\tb"}},
		{"Chinese", 1, "今天天气很好，我们", []string{"今天天气很好", "，我们"}},
		{"ideographic space", 1, "a\u3000\u3000b", []string{"a", "\u3000", "\u3000b"}},
		{"combining mark breaks letters", 1, "e\u0301x", []string{"e", "\u0301x"}},
		{"emoji run", 1, " 😀😀!", []string{" 😀😀!"}},
		{"invalid UTF-8", 1, "a\xffb", []string{"a", "\xffb"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := splitter{classes: bmpClasses(), maxDigits: tt.maxDigits}
			var got []string
			for i := 0; i < len(tt.text); {
				end := p.next(tt.text, i)
				got = append(got, tt.text[i:end])
				i = end
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("split %q\n got %q\nwant %q", tt.text, got, tt.want)
			}
		})
	}
}

// TestEncodeConcurrent encodes from several goroutines at once (run with -race) and checks the
// cache gives the same ids.
func TestEncodeConcurrent(t *testing.T) {
	tok := loadQwen3(t)
	cases := readCases(t, "testdata/qwen3_tokenizer_ids.json")
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for range 3 {
				for _, c := range cases {
					if got := tok.Encode(c.Text); !slices.Equal(got, c.IDs) {
						errs <- fmt.Errorf("Encode(%q) = %v, want %v", c.Text, got, c.IDs)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
