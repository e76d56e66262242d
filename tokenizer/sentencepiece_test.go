package tokenizer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// mistralDir holds Mistral-7B-v0.1's tokenizer.json (gzipped) and tokenizer_config.json: a
// SentencePiece-style BPE with byte fallback, written as Llama 2's and TinyLlama's are
// (testdata/mistral/README.md).
const mistralDir = "testdata/mistral"

// spCase is a text with the ids and decoding that Hugging Face's tokenizers give it.
type spCase struct {
	Text    string `json:"text"`
	IDs     []int  `json:"ids"`
	Decoded string `json:"decoded"`
}

// spReference is testdata/mistral/reference_ids.json.gz (testdata/gen_reference_sp.mjs).
type spReference struct {
	Cases   []spCase `json:"cases"`
	Decodes []struct {
		IDs  []int  `json:"ids"`
		Text string `json:"text"`
	} `json:"decodes"`
	Variants []struct {
		Name    string      `json:"name"`
		Patches []jsonPatch `json:"patches"`
		Cases   []spCase    `json:"cases"`
	} `json:"variants"`
}

// jsonPatch sets the value at path in tokenizer.json, or deletes it.
type jsonPatch struct {
	Path   []any `json:"path"`
	Value  any   `json:"value"`
	Delete bool  `json:"delete"`
}

func readSPReference(t testing.TB) spReference {
	t.Helper()
	var ref spReference
	readJSON(t, mistralDir+"/reference_ids.json.gz", &ref)
	if len(ref.Cases) < 1000 || len(ref.Decodes) == 0 || len(ref.Variants) == 0 {
		t.Fatalf("reference: %d cases, %d decodes, %d variants", len(ref.Cases), len(ref.Decodes), len(ref.Variants))
	}
	return ref
}

func loadMistral(t testing.TB) *Tokenizer {
	t.Helper()
	tok, err := Open(mistralDir)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// checkCases compares Encode and Decode with Hugging Face's on cases.
func checkCases(t *testing.T, tok *Tokenizer, cases []spCase) {
	t.Helper()
	mismatches := 0
	for i, c := range cases {
		got := tok.Encode(c.Text)
		if !slices.Equal(got, c.IDs) {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("case %d: Encode(%q)\n got %v\nwant %v", i, c.Text, got, c.IDs)
			}
		}
		if got := tok.Decode(c.IDs); got != c.Decoded {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("case %d: Decode(%v)\n got %q\nwant %q", i, c.IDs, got, c.Decoded)
			}
		}
	}
	if mismatches > 0 {
		t.Errorf("%d mismatches in %d cases", mismatches, len(cases))
	}
}

// TestMistralReference compares thousands of strings, and decodings of random id sequences, with
// Hugging Face's Rust tokenizers.
func TestMistralReference(t *testing.T) {
	tok := loadMistral(t)
	ref := readSPReference(t)
	checkCases(t, tok, ref.Cases)
	for i, d := range ref.Decodes {
		if got := tok.Decode(d.IDs); got != d.Text {
			t.Errorf("decodes[%d]: Decode(%v) = %q, want %q", i, d.IDs, got, d.Text)
		}
	}
	// Encoding again goes through the cache.
	checkCases(t, tok, ref.Cases[:200])
}

// TestMistralVariants edits tokenizer.json as the reference did (Metaspace pre-tokenizer and
// decoder, no byte fallback, missing byte pieces, normalized added tokens) and compares.
func TestMistralVariants(t *testing.T) {
	for _, v := range readSPReference(t).Variants {
		t.Run(v.Name, func(t *testing.T) {
			checkCases(t, loadMistralPatched(t, v.Patches), v.Cases)
		})
	}
}

// loadMistralPatched loads Mistral's tokenizer.json with patches applied.
func loadMistralPatched(t *testing.T, patches []jsonPatch) *Tokenizer {
	t.Helper()
	data, err := readGzip(os.DirFS(mistralDir), tokenizerGzFile)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(mistralDir + "/" + configFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	for _, p := range patches {
		patchJSON(t, doc, p.Path, p.Value, p.Delete)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		t.Fatal(err)
	}
	tok, err := parse(buf.Bytes(), "tokenizer.json", cfg, "tokenizer_config.json")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// patchJSON sets (or deletes) the value at path in a decoded JSON document; path holds object
// keys and array indexes (an index one past the end appends).
func patchJSON(t *testing.T, doc any, path []any, value any, del bool) {
	t.Helper()
	parent := doc
	for _, k := range path[:len(path)-1] {
		switch p := parent.(type) {
		case map[string]any:
			parent = p[k.(string)]
		case []any:
			parent = p[int(k.(float64))]
		}
	}
	last := path[len(path)-1]
	switch p := parent.(type) {
	case map[string]any:
		if del {
			delete(p, last.(string))
		} else {
			p[last.(string)] = value
		}
	case []any:
		i := int(last.(float64))
		if i == len(p) {
			// Appending needs the parent of the array.
			grand := doc
			for _, k := range path[:len(path)-2] {
				grand = grand.(map[string]any)[k.(string)]
			}
			grand.(map[string]any)[path[len(path)-2].(string)] = append(p, value)
			return
		}
		p[i] = value
	default:
		t.Fatalf("patch %v: no object or array there", path)
	}
}

func TestMistralAccessors(t *testing.T) {
	tok := loadMistral(t)
	prefix, suffix := tok.Affixes()
	tests := []struct {
		name      string
		got, want any
	}{
		{"VocabSize", tok.VocabSize(), 32000},
		{"Hash", tok.Hash(), "fc4f0bd70b3709312d9d1d9e5ba674794b6bc5abc17429897a540f93882f25fc"},
		{"EOS", tok.EOS(), 2},
		{"EOS text", tok.TokenText(tok.EOS()), "</s>"},
		{"Pad", tok.Pad(), -1},
		{"SpecialIDs", fmt.Sprint(tok.SpecialIDs()), "[0 1 2]"},
		{"Affixes", fmt.Sprint(prefix, suffix), "[1] []"},
		{"TokenText word", tok.TokenText(22557), " Hello"},
		{"TokenText space", tok.TokenText(28705), " "},
		{"TokenText newline byte", tok.TokenText(13), "\n"},
		{"TokenText partial character", tok.TokenText(3 + 0xE4), "\uFFFD"},
		{"TokenText out of range", tok.TokenText(-1) + tok.TokenText(32000), ""},
		{"EncodePlain", fmt.Sprint(tok.EncodePlain("Hello world")), "[22557 1526]"},
		{"Decode of a completion strips one space", tok.Decode([]int{22557, 1526}), "Hello world"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %v, want %v", tt.got, tt.want)
			}
		})
	}
}

// TestMistralCourseExample loads the directory as users do and encodes a course prompt.
func TestMistralCourseExample(t *testing.T) {
	tok, err := Load(mistralDir)
	if err != nil {
		t.Fatal(err)
	}
	const prompt = "指令：把下面的句子翻译成英文。\n输入：今天天气很好。\n回答："
	want := []int{1, 28705, 29223, 29752, 28994, 29855, 29061, 29181, 28914, 30347, 29169, 31051, 30883, 29025,
		30193, 29019, 28944, 13, 29226, 29048, 28994, 30316, 29354, 29354, 30627, 30111, 29530, 28944, 13, 29034,
		30620, 28994}
	ids := tok.Encode(prompt)
	if !slices.Equal(ids, want) {
		t.Errorf("Encode(%q)\n got %v\nwant %v", prompt, ids, want)
	}
	if got := tok.Decode(ids); got != "<s> "+prompt {
		t.Errorf("Decode = %q", got)
	}
	// A character outside the vocabulary: one byte piece per UTF-8 byte, and back.
	ids = tok.EncodePlain("𠀀")
	if want := []int{28705, 3 + 0xF0, 3 + 0xA0, 3 + 0x80, 3 + 0x80}; !slices.Equal(ids, want) {
		t.Errorf("EncodePlain(𠀀) = %v, want %v", ids, want)
	}
	if got := tok.Decode(ids); got != "𠀀" {
		t.Errorf("Decode(%v) = %q", ids, got)
	}
}

func TestByteToken(t *testing.T) {
	tests := []struct {
		s    string
		want int // -1: not a byte token
	}{
		{"<0x0A>", 0x0A}, {"<0xff>", 0xFF}, {"<0xE4>", 0xE4}, {"<0x+A>", 0x0A},
		{"<0xG0>", -1}, {"<0x0A", -1}, {"<0x0AB>", -1}, {"<0X0A>", -1}, {"<0x-1>", -1}, {"<0x++>", -1}, {"<0xé>", -1},
	}
	for _, tt := range tests {
		b, ok := byteToken(tt.s)
		if got := map[bool]int{true: int(b), false: -1}[ok]; got != tt.want {
			t.Errorf("byteToken(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}

func TestStripDecoder(t *testing.T) {
	tests := []struct {
		s           string
		start, stop int
		want        string
	}{
		{" Hello", 1, 0, "Hello"},
		{"  Hello", 1, 0, " Hello"},
		{"  Hello", 5, 0, "Hello"},
		{"Hello ", 1, 0, "Hello "},
		{"Hello  ", 0, 1, "Hello "},
		{" ", 1, 1, ""},
		{"", 1, 1, ""},
	}
	for _, tt := range tests {
		if got := strip(tt.s, ' ', tt.start, tt.stop); got != tt.want {
			t.Errorf("strip(%q, %d, %d) = %q, want %q", tt.s, tt.start, tt.stop, got, tt.want)
		}
	}
}

// spTinyTokenizer returns a small SentencePiece-style tokenizer.json, written as Llama 2's: the
// byte pieces, a few characters, merges building "▁hello" and "▁wor", <unk>, <s> and </s>.
func spTinyTokenizer() map[string]any {
	vocab := map[string]any{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := range 256 {
		vocab[fmt.Sprintf("<0x%02X>", b)] = 3 + b
	}
	for i, c := range []string{"▁", "h", "e", "l", "o", "w", "r", "d"} {
		vocab[c] = 259 + i
	}
	merges := [][2]string{{"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"}, {"▁", "hello"}, {"▁", "w"}, {"o", "r"}, {"▁w", "or"}}
	for i, m := range merges {
		vocab[m[0]+m[1]] = 267 + i
	}
	added := func(id int, content string) map[string]any {
		return map[string]any{"id": id, "content": content, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}
	}
	return map[string]any{
		"version":      "1.0",
		"truncation":   nil,
		"padding":      nil,
		"added_tokens": []any{added(0, "<unk>"), added(1, "<s>"), added(2, "</s>")},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"},
		}},
		"pre_tokenizer": nil,
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<s>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
			"special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}}},
		},
		"decoder": map[string]any{"type": "Sequence", "decoders": []any{
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": "▁"}, "content": " "},
			map[string]any{"type": "ByteFallback"},
			map[string]any{"type": "Fuse"},
			map[string]any{"type": "Strip", "content": " ", "start": 1, "stop": 0},
		}},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": "<unk>", "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
			"vocab": vocab, "merges": merges},
	}
}

// loadSPTiny loads spTinyTokenizer, edited by edit when it is not nil.
func loadSPTiny(t *testing.T, edit func(map[string]any)) *Tokenizer {
	t.Helper()
	m := spTinyTokenizer()
	if edit != nil {
		edit(m)
	}
	cfg := spTinyConfig
	tok, err := Load(writeDir(t, marshal(t, m), false, &cfg))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

const spTinyConfig = `{"bos_token": "<s>", "eos_token": "</s>", "pad_token": null}`

func TestLoadSentencePieceTiny(t *testing.T) {
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	tests := []struct {
		name   string
		edit   func(m map[string]any)
		text   string
		want   []int
		decode string
	}{
		{"merges", nil, "hello world", []int{1, 271, 274, 262, 266}, "<s> hello world"},
		{"byte fallback", nil, "hi", []int{1, 259, 260, 3 + 'i'}, "<s> hi"},
		{"spaces and added tokens", nil, " hello</s>  ", []int{1, 259, 271, 2, 259, 259, 259}, "<s>  hello</s>   "},
		{"unknown characters fused", func(m map[string]any) { model(m)["byte_fallback"] = false }, "hixyz", []int{1, 259, 260, 0}, "<s> h<unk>"},
		{"unknown characters not fused", func(m map[string]any) {
			model(m)["byte_fallback"] = false
			model(m)["fuse_unk"] = false
		}, "hxy", []int{1, 259, 260, 0, 0}, "<s> h<unk><unk>"},
		{"no unknown token drops the character", func(m map[string]any) {
			model(m)["byte_fallback"] = false
			model(m)["unk_token"] = nil
		}, "hxe", []int{1, 259, 268}, "<s> he"},
		{"missing byte piece gives the unknown token", func(m map[string]any) {
			delete(model(m)["vocab"].(map[string]any), "<0xA0>")
		}, "h\u00a0", []int{1, 259, 260, 0}, "<s> h<unk>"},
		{"unknown token waits behind byte pieces", func(m map[string]any) {
			delete(model(m)["vocab"].(map[string]any), "<0xA0>")
		}, "\u00a0ih", []int{1, 259, 3 + 'i', 0, 260}, "<s> i<unk>h"},
		{"Metaspace", func(m map[string]any) {
			m["normalizer"] = nil
			m["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}
			m["decoder"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}
		}, "hello <s>hello", []int{1, 271, 259, 1, 270}, "<s> hello <s>hello"},
		{"no decoder", func(m map[string]any) { m["decoder"] = nil }, "hello", []int{1, 271}, "<s> ▁hello"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := loadSPTiny(t, tt.edit)
			got := tok.Encode(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Encode(%q) = %v, want %v", tt.text, got, tt.want)
			}
			if back := tok.Decode(got); back != tt.decode {
				t.Errorf("Decode(%v) = %q, want %q", got, back, tt.decode)
			}
			if tok.EOS() != 2 || tok.Pad() != -1 {
				t.Errorf("EOS %d, Pad %d; want 2, -1", tok.EOS(), tok.Pad())
			}
		})
	}
}

func TestLoadSentencePieceErrors(t *testing.T) {
	cfg := spTinyConfig
	model := func(m map[string]any) map[string]any { return m["model"].(map[string]any) }
	decoder := func(m map[string]any, i int) map[string]any {
		return m["decoder"].(map[string]any)["decoders"].([]any)[i].(map[string]any)
	}
	metaspace := func(opts map[string]any) func(m map[string]any) {
		return func(m map[string]any) {
			m["normalizer"] = nil
			pre := map[string]any{"type": "Metaspace", "replacement": "▁"}
			for k, v := range opts {
				pre[k] = v
			}
			m["pre_tokenizer"] = pre
		}
	}
	tests := []struct {
		name    string
		edit    func(m map[string]any)
		wantErr []string
	}{
		{"unknown normalizer", func(m map[string]any) {
			m["normalizer"].(map[string]any)["normalizers"].([]any)[0] = map[string]any{"type": "Precompiled", "precompiled_charsmap": "AAAA"}
		}, []string{"normalizer.normalizers[0].type", `"Precompiled"`}},
		{"Replace with a regex", func(m map[string]any) {
			m["normalizer"].(map[string]any)["normalizers"].([]any)[1] = map[string]any{"type": "Replace", "pattern": map[string]any{"Regex": " +"}, "content": "▁"}
		}, []string{"normalizer.normalizers[1].pattern", "Regex"}},
		{"unk_token outside the vocabulary", func(m map[string]any) { model(m)["unk_token"] = "<nope>" },
			[]string{"model.unk_token", `"<nope>" is not in model.vocab`}},
		{"ByteLevel decoder", func(m map[string]any) { m["decoder"] = map[string]any{"type": "ByteLevel"} },
			[]string{"decoder.type", "needs the ByteLevel pre-tokenizer"}},
		{"unknown decoder", func(m map[string]any) { decoder(m, 2)["type"] = "CTC" },
			[]string{"decoder.decoders[2].type", `"CTC"`}},
		{"Replace decoder with a regex", func(m map[string]any) { decoder(m, 0)["pattern"] = map[string]any{"Regex": "▁"} },
			[]string{"decoder.decoders[0].pattern", "Regex"}},
		{"Strip of two characters", func(m map[string]any) { decoder(m, 3)["content"] = "ab" },
			[]string{"decoder.decoders[3].content", "one character"}},
		{"unknown pre-tokenizer", func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "WhitespaceSplit"} },
			[]string{"pre_tokenizer", `"WhitespaceSplit"`}},
		{"Metaspace with a normalizer", func(m map[string]any) {
			metaspace(nil)(m)
			m["normalizer"] = map[string]any{"type": "NFC"}
		}, []string{"normalizer: unsupported together with the Metaspace pre-tokenizer"}},
		{"unknown prepend_scheme", metaspace(map[string]any{"prepend_scheme": "sometimes"}),
			[]string{"pre_tokenizer.prepend_scheme", `"sometimes"`}},
		{"add_prefix_space false beside prepend_scheme always", metaspace(map[string]any{"add_prefix_space": false}),
			[]string{"pre_tokenizer.add_prefix_space"}},
		{"replacement of two characters", metaspace(map[string]any{"replacement": "▁▁"}),
			[]string{"pre_tokenizer.replacement", "one character"}},
		{"merge of a missing token", func(m map[string]any) { model(m)["merges"] = [][2]string{{"h", "x"}} },
			[]string{"model.merges", "merge 0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := spTinyTokenizer()
			tt.edit(m)
			_, err := Load(writeDir(t, marshal(t, m), false, &cfg))
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}
