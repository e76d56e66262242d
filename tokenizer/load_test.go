package tokenizer

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// tinyTokenizer returns a small byte-level BPE tokenizer.json as a JSON object: the 256 byte
// symbols, merges building "hello" and " world", and one special added token. The Split pattern is
// Llama 3's.
func tinyTokenizer() map[string]any {
	alphabet := byteLevelAlphabet()
	vocab := map[string]any{}
	for b := range 256 {
		vocab[string(alphabet[b])] = b
	}
	merges := [][2]string{{"l", "l"}, {"h", "e"}, {"he", "ll"}, {"hell", "o"}, {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}}
	for i, m := range merges {
		vocab[m[0]+m[1]] = 256 + i
	}
	vocab["Ġworld"] = 300 // reachable only through ignore_merges
	return map[string]any{
		"version":    "1.0",
		"truncation": nil,
		"padding":    nil,
		"added_tokens": []any{
			map[string]any{"id": 264, "content": "<|end|>", "special": true},
			map[string]any{"id": 265, "content": "<x>", "special": false},
		},
		"normalizer": map[string]any{"type": "NFC"},
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": llama3Pattern}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false},
		}},
		"post_processor": map[string]any{"type": "Sequence", "processors": []any{
			map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
			map[string]any{"type": "TemplateProcessing",
				"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": "<|end|>", "type_id": 0}}, map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}},
				"special_tokens": map[string]any{"<|end|>": map[string]any{"id": "<|end|>", "ids": []int{264}, "tokens": []string{"<|end|>"}}},
			},
		}},
		"decoder": map[string]any{"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
		"model": map[string]any{"type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil,
			"end_of_word_suffix": nil, "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
			"vocab": vocab, "merges": merges},
	}
}

const tinyConfig = `{"eos_token": {"content": "<|end|>", "special": true}, "pad_token": null}`

// writeDir writes a tokenizer directory: tokenizer.json (gzipped when gz) and the config; a nil
// value leaves that file out.
func writeDir(t *testing.T, tok []byte, gz bool, cfg *string) string {
	t.Helper()
	dir := t.TempDir()
	if tok != nil {
		name := tokenizerFile
		if gz {
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(tok)
			zw.Close()
			tok, name = buf.Bytes(), tokenizerGzFile
		}
		if err := os.WriteFile(filepath.Join(dir, name), tok, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if cfg != nil {
		if err := os.WriteFile(filepath.Join(dir, configFile), []byte(*cfg), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func marshal(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestLoadTiny(t *testing.T) {
	cfg := tinyConfig
	tests := []struct {
		name string
		edit func(m map[string]any)
		gz   bool
		text string
		want []int
	}{
		{"merges in rank order", nil, false, "hello", []int{264, 259}},
		{"gzipped", nil, true, "hello", []int{264, 259}},
		{"added tokens split first", nil, false, "hello<|end|><x>", []int{264, 259, 264, 265}},
		{"merges do not reach Ġworld", nil, false, " world", []int{264, 262, 'l', 'd'}},
		{"ignore_merges takes whole words from the vocabulary", func(m map[string]any) {
			m["model"].(map[string]any)["ignore_merges"] = true
		}, false, " world hello", []int{264, 300, ' ', 259}},
		{"up to three digits per pre-token", nil, false, "12345", []int{264, '1', '2', '3', '4', '5'}},
		{"merges as strings", func(m map[string]any) {
			var strs []string
			for _, p := range m["model"].(map[string]any)["merges"].([][2]string) {
				strs = append(strs, p[0]+" "+p[1])
			}
			m["model"].(map[string]any)["merges"] = strs
		}, false, "hello", []int{264, 259}},
		{"no post-processor", func(m map[string]any) { m["post_processor"] = nil }, false, "hello", []int{259}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tinyTokenizer()
			if tt.edit != nil {
				tt.edit(m)
			}
			tok, err := Load(writeDir(t, marshal(t, m), tt.gz, &cfg))
			if err != nil {
				t.Fatal(err)
			}
			got := tok.Encode(tt.text)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Encode(%q) = %v, want %v", tt.text, got, tt.want)
			}
			if back := tok.Decode(got); !strings.HasSuffix(back, tt.text) {
				t.Errorf("Decode(%v) = %q, want it to end with %q", got, back, tt.text)
			}
			if tok.EOS() != 264 || tok.Pad() != -1 || !slices.Equal(tok.SpecialIDs(), []int{264}) || tok.VocabSize() != 301 {
				t.Errorf("EOS %d, Pad %d, SpecialIDs %v, VocabSize %d; want 264, -1, [264], 301",
					tok.EOS(), tok.Pad(), tok.SpecialIDs(), tok.VocabSize())
			}
		})
	}
}

// TestEncodePlainAndAffixes checks that Encode is Affixes' prefix, EncodePlain, then the suffix,
// for a template that puts a token before the sequence, one that puts it after, and none.
func TestEncodePlainAndAffixes(t *testing.T) {
	cfg := tinyConfig
	template := func(single ...any) func(m map[string]any) {
		return func(m map[string]any) {
			m["post_processor"] = map[string]any{"type": "TemplateProcessing", "single": single,
				"special_tokens": map[string]any{"<|end|>": map[string]any{"id": "<|end|>", "ids": []int{264}, "tokens": []string{"<|end|>"}}}}
		}
	}
	end := map[string]any{"SpecialToken": map[string]any{"id": "<|end|>", "type_id": 0}}
	seq := map[string]any{"Sequence": map[string]any{"id": "A", "type_id": 0}}
	tests := []struct {
		name                 string
		edit                 func(m map[string]any)
		wantPrefix, wantSuff []int
	}{
		{"token before", nil, []int{264}, nil},
		{"token after", template(seq, end), nil, []int{264}},
		{"token around", template(end, seq, end), []int{264}, []int{264}},
		{"no post-processor", func(m map[string]any) { m["post_processor"] = nil }, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tinyTokenizer()
			if tt.edit != nil {
				tt.edit(m)
			}
			tok, err := Load(writeDir(t, marshal(t, m), false, &cfg))
			if err != nil {
				t.Fatal(err)
			}
			prefix, suffix := tok.Affixes()
			if !slices.Equal(prefix, tt.wantPrefix) || !slices.Equal(suffix, tt.wantSuff) {
				t.Fatalf("Affixes() = %v, %v; want %v, %v", prefix, suffix, tt.wantPrefix, tt.wantSuff)
			}
			plain := tok.EncodePlain("hello world")
			if want := []int{259, 262, 'l', 'd'}; !slices.Equal(plain, want) {
				t.Errorf("EncodePlain = %v, want %v", plain, want)
			}
			if got, want := tok.Encode("hello world"), slices.Concat(prefix, plain, suffix); !slices.Equal(got, want) {
				t.Errorf("Encode = %v, want prefix ++ EncodePlain ++ suffix = %v", got, want)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	good := marshal(t, tinyTokenizer())
	edited := func(edit func(m map[string]any)) []byte {
		m := tinyTokenizer()
		edit(m)
		return marshal(t, m)
	}
	cfg, badCfg, unknownEOS := tinyConfig, `{"eos_token": `, `{"eos_token": "<|nope|>"}`
	tests := []struct {
		name    string
		tok     []byte
		gz      bool
		cfg     *string
		wantErr []string // substrings of the error
	}{
		{"missing tokenizer.json", nil, false, &cfg, []string{"found neither tokenizer.json nor tokenizer.json.gz"}},
		{"missing tokenizer_config.json", good, false, nil, []string{"tokenizer_config.json: missing"}},
		{"truncated JSON", good[:len(good)/2], false, &cfg, []string{"tokenizer.json: invalid JSON", "truncated"}},
		{"truncated gzip", good, true, &cfg, nil}, // made truncated below
		{"invalid JSON", []byte(`{"model": [}`), false, &cfg, []string{"tokenizer.json: invalid JSON at byte"}},
		{"unsupported model type", edited(func(m map[string]any) { m["model"].(map[string]any)["type"] = "WordPiece" }),
			false, &cfg, []string{"model.type", `unsupported model type "WordPiece"`}},
		{"missing model", edited(func(m map[string]any) { delete(m, "model") }), false, &cfg, []string{"model: missing"}},
		{"dropout", edited(func(m map[string]any) { m["model"].(map[string]any)["dropout"] = 0.1 }), false, &cfg, []string{"model.dropout"}},
		{"byte fallback with the ByteLevel pre-tokenizer", edited(func(m map[string]any) { m["model"].(map[string]any)["byte_fallback"] = true }),
			false, &cfg, []string{"model.byte_fallback", "ByteLevel pre-tokenizer"}},
		{"not byte-level vocabulary", edited(func(m map[string]any) { m["model"].(map[string]any)["vocab"].(map[string]any)["▁the"] = 305 }),
			false, &cfg, []string{"model.vocab", "not a byte-level"}},
		{"merge of unknown tokens", edited(func(m map[string]any) {
			m["model"].(map[string]any)["merges"] = [][2]string{{"h", "e"}, {"x", "yz"}}
		}), false, &cfg, []string{"model.merges", "merge 1"}},
		{"unsupported normalizer", edited(func(m map[string]any) { m["normalizer"] = map[string]any{"type": "NFKC"} }),
			false, &cfg, []string{"normalizer.type", `"NFKC"`}},
		{"unsupported pattern", edited(func(m map[string]any) {
			pre := m["pre_tokenizer"].(map[string]any)["pretokenizers"].([]any)[0].(map[string]any)
			pre["pattern"] = map[string]any{"Regex": `\w+`}
		}), false, &cfg, []string{"pre_tokenizer.pretokenizers[0].pattern.Regex", "unsupported pattern"}},
		{"unsupported pre-tokenizer", edited(func(m map[string]any) { m["pre_tokenizer"] = map[string]any{"type": "Whitespace"} }),
			false, &cfg, []string{"pre_tokenizer", `"Whitespace"`}},
		{"unsupported post-processor", edited(func(m map[string]any) { m["post_processor"] = map[string]any{"type": "BertProcessing"} }),
			false, &cfg, []string{"post_processor.type", `"BertProcessing"`}},
		{"unsupported decoder", edited(func(m map[string]any) { m["decoder"] = map[string]any{"type": "WordPiece"} }),
			false, &cfg, []string{"decoder.type", `"WordPiece"`}},
		{"truncation set", edited(func(m map[string]any) { m["truncation"] = map[string]any{"max_length": 8} }),
			false, &cfg, []string{"truncation: unsupported"}},
		{"lstrip added token", edited(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["lstrip"] = true
		}), false, &cfg, []string{`added_tokens[0] ("<|end|>")`, "lstrip"}},
		{"added token numbered unlike Hugging Face", edited(func(m map[string]any) {
			m["added_tokens"].([]any)[1].(map[string]any)["id"] = 270
		}), false, &cfg, []string{`added_tokens[1] ("<x>")`, "id 270, but Hugging Face's tokenizers gives it id 265"}},
		{"added token in the vocabulary under another id", edited(func(m map[string]any) {
			m["added_tokens"].([]any)[1].(map[string]any)["content"] = "he"
		}), false, &cfg, []string{`added_tokens[1] ("he")`, "gives it id 257 (model.vocab's id for it)"}},
		{"added token twice", edited(func(m map[string]any) {
			m["added_tokens"] = append(m["added_tokens"].([]any), map[string]any{"id": 264, "content": "<|end|>"})
		}), false, &cfg, []string{`added_tokens[2] ("<|end|>")`, "same content as added_tokens[0]"}},
		{"added token id of 10^18", edited(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["id"] = int64(1e18)
		}), false, &cfg, []string{`added_tokens[0] ("<|end|>")`, "id 1000000000000000000 is beyond"}},
		{"added token id near 2^31", edited(func(m map[string]any) {
			m["added_tokens"].([]any)[0].(map[string]any)["id"] = 1<<31 - 2
		}), false, &cfg, []string{`added_tokens[0] ("<|end|>")`, "id 2147483646 is beyond"}},
		{"vocabulary id near 2^31", edited(func(m map[string]any) { m["model"].(map[string]any)["vocab"].(map[string]any)["Ġworld"] = 1<<31 - 2 }),
			false, &cfg, []string{"model.vocab", `entry "Ġworld": id 2147483646 is beyond`}},
		{"two entries share an id", edited(func(m map[string]any) { m["model"].(map[string]any)["vocab"].(map[string]any)["Ġworld"] = 5 }),
			false, &cfg, []string{"model.vocab", "share id 5"}},
		{"template id outside the vocabulary", edited(func(m map[string]any) {
			pp := m["post_processor"].(map[string]any)["processors"].([]any)[1].(map[string]any)
			pp["special_tokens"] = map[string]any{"<|end|>": map[string]any{"id": "<|end|>", "ids": []int{305}, "tokens": []string{"<|end|>"}}}
		}), false, &cfg, []string{"post_processor", "adds id 305"}},
		{"invalid config", good, false, &badCfg, []string{"tokenizer_config.json: invalid JSON"}},
		{"unknown eos token", good, false, &unknownEOS, []string{"eos_token", `"<|nope|>" is not in tokenizer.json`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.tok, tt.gz, tt.cfg)
			want := tt.wantErr
			if tt.gz {
				path := filepath.Join(dir, tokenizerGzFile)
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, data[:len(data)/2], 0o644); err != nil {
					t.Fatal(err)
				}
				want = []string{"tokenizer.json.gz: gunzip", "truncated"}
			}
			_, err := Load(dir)
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		_, err := Load(filepath.Join(t.TempDir(), "nope"))
		if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
			t.Errorf("Load = %v, want a not-exist error", err)
		}
	})
}

// TestLoadQwen3Dir loads the plain Qwen3 tokenizer.json from a directory and checks it matches the
// embedded one.
func TestLoadQwen3Dir(t *testing.T) {
	if testing.Short() {
		t.Skip("parses the 11 MB tokenizer.json a second time")
	}
	emb := loadQwen3(t)
	data, err := readGzip(qwen3Files, "qwen3/tokenizer.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := qwen3Files.ReadFile("qwen3/tokenizer_config.json")
	if err != nil {
		t.Fatal(err)
	}
	cfgs := string(cfg)
	tok, err := Load(writeDir(t, data, false, &cfgs))
	if err != nil {
		t.Fatal(err)
	}
	text := "Load 目录 <|im_end|> 😀"
	if tok.Hash() != qwen3Sum || !slices.Equal(tok.Encode(text), emb.Encode(text)) {
		t.Errorf("directory tokenizer differs from the embedded one: hash %s", tok.Hash())
	}
}

func TestMergeTableGrows(t *testing.T) {
	m := newMergeTable(1)
	for i := range int32(1000) {
		m.add(i, i+1, uint32(i), 2000+i)
	}
	m.add(5, 6, 99, 99) // a later rank for a known pair is ignored
	for i := range int32(1000) {
		if rank, merged := m.lookup(i, i+1); rank != uint32(i) || merged != 2000+i {
			t.Fatalf("lookup(%d, %d) = %d, %d; want %d, %d", i, i+1, rank, merged, i, 2000+i)
		}
	}
	if rank, _ := m.lookup(1, 0); rank != noMerge {
		t.Errorf("lookup of an unknown pair = rank %d, want noMerge", rank)
	}
}
