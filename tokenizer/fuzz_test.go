package tokenizer

import (
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

// FuzzParse feeds mutated tokenizer.json and tokenizer_config.json files to the loader: it must
// return a tokenizer or an error, never panic or allocate beyond the files' sizes, and a
// tokenizer it returns must encode and decode without panicking, with every id it produces
// inside its vocabulary.
func FuzzParse(f *testing.F) {
	tok, err := json.Marshal(tinyTokenizer())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok, []byte(tinyConfig))
	// Hostile ids: an added token at 10^18 (a growslice panic), one and a vocabulary entry
	// near 2^31 (32 GB of id table), a template id outside the vocabulary.
	for _, mutate := range []func(m map[string]any){
		func(m map[string]any) {
			m["added_tokens"] = []any{map[string]any{"id": int64(1e18), "content": "<|end|>"}}
		},
		func(m map[string]any) {
			m["added_tokens"] = []any{map[string]any{"id": 1<<31 - 2, "content": "<|end|>"}}
		},
		func(m map[string]any) { m["model"].(map[string]any)["vocab"].(map[string]any)["Ġworld"] = 1<<31 - 2 },
		func(m map[string]any) {
			pp := m["post_processor"].(map[string]any)["processors"].([]any)[1].(map[string]any)
			pp["special_tokens"] = map[string]any{"<|end|>": map[string]any{"id": "<|end|>", "ids": []int{1 << 30}, "tokens": []string{"<|end|>"}}}
		},
	} {
		m := tinyTokenizer()
		mutate(m)
		data, err := json.Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, []byte(tinyConfig))
	}
	// SentencePiece-style BPE: Llama 2's layout, and a Metaspace pre-tokenizer without byte
	// fallback.
	sp := spTinyTokenizer()
	data, err := json.Marshal(sp)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data, []byte(spTinyConfig))
	sp["normalizer"] = nil
	sp["pre_tokenizer"] = map[string]any{"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": true}
	sp["model"].(map[string]any)["byte_fallback"] = false
	if data, err = json.Marshal(sp); err != nil {
		f.Fatal(err)
	}
	f.Add(data, []byte(spTinyConfig))
	f.Fuzz(func(t *testing.T, tokJSON, cfgJSON []byte) {
		tk, err := parse(tokJSON, "tokenizer.json", cfgJSON, "tokenizer_config.json")
		if err != nil {
			return
		}
		if n := tk.VocabSize(); n > len(tokJSON) {
			t.Fatalf("vocabulary of %d ids from a %d-byte tokenizer.json", n, len(tokJSON))
		}
		for _, text := range []string{"hello world", "<|end|> 你好 <x>", "a\x00\xff b", " <s>hello  </s>"} {
			ids := tk.Encode(text)
			for _, id := range ids {
				if id < 0 || id >= tk.VocabSize() {
					t.Fatalf("Encode(%q) gave id %d outside the vocabulary of %d", text, id, tk.VocabSize())
				}
			}
			tk.Decode(ids)
		}
		tk.TokenText(tk.EOS())
	})
}

// FuzzLoadChatTemplate feeds mutated tokenizer_config.json files, with or without a
// chat_template.jinja beside them, to the chat template loader: it must return a template or an
// error naming the file, never panic, and a template it returns must render a conversation or
// fail with an error naming the file, within the template limits.
func FuzzLoadChatTemplate(f *testing.F) {
	qwen3, err := fs.ReadFile(os.DirFS("qwen3"), "tokenizer_config.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(qwen3, "", false)
	f.Add([]byte(`{"eos_token": "</s>", "chat_template": "{% for m in messages %}{{ m.role }}: {{ m.content }}{{ eos_token }}{% endfor %}"}`), "", false)
	f.Add([]byte(`{"eos_token": {"content": "</s>"}, "chat_template": [{"name": "tool_use", "template": "x"}, {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}"}]}`), "", false)
	f.Add([]byte(`{"chat_template": [{"name": "x", "template": "y"}]}`), "", false)
	f.Add([]byte(`{"chat_template": 5, "bos_token": ["a"]}`), "", false)
	f.Add([]byte(`{"eos_token": "</s>"}`), "{% for i in range(10**9) %}{{ raise_exception('no') }}{% endfor %}", true)
	f.Add([]byte(`{}`), "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", true)
	f.Fuzz(func(t *testing.T, cfg []byte, jinja string, withJinja bool) {
		const dir = "model"
		fsys := fstest.MapFS{}
		if withJinja {
			fsys[chatTemplateFile] = &fstest.MapFile{Data: []byte(jinja)}
		}
		ct := loadChatTemplate(fsys, dir, cfg)
		if ct.err != nil {
			if !strings.HasPrefix(ct.err.Error(), dir) {
				t.Fatalf("error %q does not name the directory", ct.err)
			}
			return
		}
		if ct.tpl == nil {
			t.Fatal("neither a template nor an error")
		}
		msgs := []Message{{Role: "system", Content: "be brief"}, {Role: "user", Content: "你好"}, {Role: "assistant", Content: "hi"}}
		out, err := ct.tpl.Render(msgs, true, ct.vars)
		if err != nil {
			if !strings.HasPrefix(err.Error(), ct.tpl.Name()+": ") {
				t.Fatalf("render error %q does not name the template", err)
			}
			return
		}
		if len(out) > 4<<20 {
			t.Fatalf("rendered %d bytes", len(out))
		}
	})
}
