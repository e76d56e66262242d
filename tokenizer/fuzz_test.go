package tokenizer

import (
	"encoding/json"
	"testing"
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
	f.Fuzz(func(t *testing.T, tokJSON, cfgJSON []byte) {
		tk, err := parse(tokJSON, "tokenizer.json", cfgJSON, "tokenizer_config.json")
		if err != nil {
			return
		}
		if n := tk.VocabSize(); n > len(tokJSON) {
			t.Fatalf("vocabulary of %d ids from a %d-byte tokenizer.json", n, len(tokJSON))
		}
		for _, text := range []string{"hello world", "<|end|> 你好 <x>", "a\x00\xff b"} {
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
