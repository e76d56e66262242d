package datasets

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/sftlab/sftlab/tokenizer"
)

// The real chat templates and conversations of package chattemplate's test data, with their
// renderings by Python's Jinja2 set up as transformers sets it up.
const chatTestdata = "../chattemplate/testdata"

// byteTokenizer writes a tokenizer directory with a byte-level BPE tokenizer.json that has no
// merges (one token per byte: small and quick to load, yet every text round-trips), the given
// special tokens as added tokens, and a tokenizer_config.json with those tokens and the chat
// template. With bos set, the post-processor puts bos before every sequence, as Llama 3's does.
func byteTokenizer(t *testing.T, special map[string]string, template, bos string) string {
	t.Helper()
	vocab := map[string]int{}
	n := 0
	for b := range 256 {
		r := rune(b)
		if !((b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)) {
			r = rune(256 + n)
			n++
		}
		vocab[string(r)] = b
	}
	var added []any
	ids := map[string]int{}
	for _, content := range special {
		if _, ok := ids[content]; !ok {
			ids[content] = 256 + len(ids)
			added = append(added, map[string]any{"id": ids[content], "content": content, "special": true})
		}
	}
	var post any
	if bos != "" {
		post = map[string]any{"type": "TemplateProcessing",
			"single":         []any{map[string]any{"SpecialToken": map[string]any{"id": bos}}, map[string]any{"Sequence": map[string]any{"id": "A"}}},
			"special_tokens": map[string]any{bos: map[string]any{"id": bos, "ids": []int{ids[bos]}, "tokens": []string{bos}}}}
	}
	tok := map[string]any{
		"truncation": nil, "padding": nil, "added_tokens": added, "normalizer": nil, "post_processor": post,
		"pre_tokenizer": map[string]any{"type": "Sequence", "pretokenizers": []any{
			map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`}, "behavior": "Isolated", "invert": false},
			map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": false},
		}},
		"decoder": map[string]any{"type": "ByteLevel"},
		"model":   map[string]any{"type": "BPE", "vocab": vocab, "merges": []any{}},
	}
	cfg := map[string]any{"chat_template": template}
	for k, v := range special {
		cfg[k] = v
	}
	dir := t.TempDir()
	for name, v := range map[string]any{"tokenizer.json": tok, "tokenizer_config.json": cfg} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestChatTemplates encodes conversations in the chat format with the real templates of Qwen3,
// Qwen2.5, Llama 3.1, SmolLM2, Mistral and Zephyr and checks, against Python's renderings, that
// the sequence is the template's rendering of the conversation, that every response starts
// right after the rendering of the messages before it with add_generation_prompt (TRL's
// boundary) and ends with its eos, and that a template's raise_exception is an error.
func TestChatTemplates(t *testing.T) {
	var templates []struct {
		Name          string            `json:"name"`
		File          string            `json:"file"`
		SpecialTokens map[string]string `json:"special_tokens"`
	}
	var convs []struct {
		Name     string              `json:"name"`
		Messages []tokenizer.Message `json:"messages"`
	}
	var ref struct {
		Cases []struct {
			Template            string  `json:"template"`
			Conversation        string  `json:"conversation"`
			Prefix              int     `json:"prefix"`
			AddGenerationPrompt bool    `json:"add_generation_prompt"`
			Text                *string `json:"text"`
			Error               string  `json:"error"`
		} `json:"cases"`
	}
	for name, v := range map[string]any{"templates.json": &templates, "conversations.json": &convs, "reference_jinja2.json": &ref} {
		data, err := os.ReadFile(filepath.Join(chatTestdata, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	type key struct {
		template, conv string
		prefix         int
		gen            bool
	}
	rendered, raised := map[key]string{}, map[key]string{}
	for _, c := range ref.Cases {
		k := key{c.Template, c.Conversation, c.Prefix, c.AddGenerationPrompt}
		if c.Text != nil {
			rendered[k] = *c.Text
		} else {
			raised[k] = c.Error
		}
	}
	// Qwen3 renders a <think> block of the last turn apart from the content: no boundary there.
	noBoundary := map[string]bool{"Qwen3/assistant with think block": true, "Qwen3/earlier assistant with think block": true}
	checked := 0
	for _, tpl := range templates {
		src, err := os.ReadFile(filepath.Join(chatTestdata, tpl.File))
		if err != nil {
			t.Fatal(err)
		}
		bos := ""
		if tpl.Name == "Llama-3.1" {
			bos = tpl.SpecialTokens["bos_token"]
		}
		tok, err := tokenizer.Load(byteTokenizer(t, tpl.SpecialTokens, string(src), bos))
		if err != nil {
			t.Fatal(err)
		}
		eosText := tpl.SpecialTokens["eos_token"]
		rewrites := 0 // turns rendered differently once the conversation goes on
		for _, c := range convs {
			if validateChat(c.Messages) != nil {
				continue
			}
			name := tpl.Name + "/" + c.Name
			t.Run(name, func(t *testing.T) {
				ex, err := Encode(tok, Record{Messages: c.Messages}, EncodeOptions{Format: FormatChat, Masking: MaskCompletionOnly, MaxLength: 1 << 20})
				full := key{tpl.Name, c.Name, len(c.Messages), false}
				switch {
				case raised[full] != "":
					if err == nil || !strings.Contains(err.Error(), raised[full]) {
						t.Fatalf("Encode error %v, want the template's %q", err, raised[full])
					}
					return
				case noBoundary[name]:
					if err == nil || !strings.Contains(err.Error(), "cannot be told from the prompt") {
						t.Fatalf("Encode error %v, want no boundary", err)
					}
					return
				case err != nil:
					t.Fatal(err)
				}
				checked++
				want := rendered[full]
				if tail, ok := strings.CutPrefix(want, ex.Text); !ok || strings.TrimSpace(tail) != "" || !strings.HasSuffix(ex.Text, eosText) {
					t.Fatalf("Text = %q\nPython %q: want it up to the final %s", ex.Text, want, eosText)
				}
				if bos != "" && (ex.IDs[0] != int32(tok.EncodePlain(bos)[0]) || ex.IDs[1] == ex.IDs[0]) {
					t.Errorf("ids start %v: want the template's one %s", ex.IDs[:2], bos)
				}
				// The trained runs, one per assistant message, each ending with the eos.
				var starts, ends []int
				for p, l := range ex.Labels {
					if l != IgnoreIndex && (p == 0 || ex.Labels[p-1] == IgnoreIndex) {
						starts = append(starts, p)
					}
					if l != IgnoreIndex && (p == len(ex.Labels)-1 || ex.Labels[p+1] == IgnoreIndex) {
						ends = append(ends, p+1)
					}
				}
				k := 0
				for i, m := range c.Messages {
					if m.Role != RoleAssistant {
						continue
					}
					if k >= len(starts) {
						t.Fatalf("%d trained runs, want one per assistant message", len(starts))
					}
					run := tok.Decode(toInts(ex.IDs[starts[k]:ends[k]]))
					if !strings.HasSuffix(run, eosText) {
						t.Errorf("assistant message %d: trained %q, want it to end with %s", k, run, eosText)
					}
					prompt := rendered[key{tpl.Name, c.Name, i, true}]
					before := tok.Decode(toInts(ex.IDs[:starts[k]]))
					if strings.HasPrefix(want, prompt) {
						if before != prompt {
							t.Errorf("assistant message %d: the text before it is\n%q\nPython's prompt for it is\n%q", k, before, prompt)
						}
					} else {
						// The template renders this turn otherwise later (Qwen3's history).
						rewrites++
						if run != m.Content+eosText {
							t.Errorf("assistant message %d: trained %q, want its content and eos %q", k, run, m.Content+eosText)
						}
					}
					k++
				}
				if k != len(starts) {
					t.Errorf("%d trained runs, %d assistant messages", len(starts), k)
				}
			})
		}
		if (rewrites > 0) != (tpl.Name == "Qwen3") {
			t.Errorf("%s: %d turns rendered differently once the conversation goes on; only Qwen3 does that here", tpl.Name, rewrites)
		}
	}
	if checked < 40 {
		t.Errorf("only %d encodings checked", checked)
	}
}

// TestChatTemplatesSentencePiece encodes the conversations in the chat format with Mistral's
// SentencePiece-style tokenizer and the Mistral Instruct and Zephyr templates: every piece after
// the first is encoded as it is inside the whole rendering (a response right after "[/INST]" or
// "<|assistant|>\n" gets no "▁" of its own; the text after an eos starts a new piece and gets
// one), so the ids are those of the whole rendering encoded at once, as Hugging Face's
// tokenizer(text, add_special_tokens=False) gives them.
func TestChatTemplatesSentencePiece(t *testing.T) {
	mistral := filepath.Join("..", "tokenizer", "testdata", "mistral")
	tokJSON, err := os.ReadFile(filepath.Join(mistral, "tokenizer.json.gz"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	data, err := os.ReadFile(filepath.Join(mistral, "tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	var convs []struct {
		Name     string              `json:"name"`
		Messages []tokenizer.Message `json:"messages"`
	}
	data, err = os.ReadFile(filepath.Join(chatTestdata, "conversations.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &convs); err != nil {
		t.Fatal(err)
	}
	// A response starting with "<" or a backslash right after "[/INST]": the whole rendering
	// merges "]<" or "]\" into one token, which the boundary between prompt and response keeps
	// apart.
	merged := map[string]bool{
		"Mistral-7B-Instruct-v0.1/assistant with think block":         true,
		"Mistral-7B-Instruct-v0.1/earlier assistant with think block": true,
		"Mistral-7B-Instruct-v0.1/quotes and braces":                  true,
	}
	checked := 0
	for _, name := range []string{"Mistral-7B-Instruct-v0.1", "zephyr-7b-beta"} {
		src, err := os.ReadFile(filepath.Join(chatTestdata, "templates", name+".jinja"))
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		cfg["chat_template"] = string(src)
		data, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		for file, content := range map[string][]byte{"tokenizer.json.gz": tokJSON, "tokenizer_config.json": data} {
			if err := os.WriteFile(filepath.Join(dir, file), content, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		tok, err := tokenizer.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range convs {
			if validateChat(c.Messages) != nil {
				continue
			}
			t.Run(name+"/"+c.Name, func(t *testing.T) {
				ex, err := Encode(tok, Record{Messages: c.Messages}, EncodeOptions{Format: FormatChat, Masking: MaskCompletionOnly, MaxLength: 1 << 20})
				if err != nil {
					if !strings.Contains(err.Error(), "roles must alternate") {
						t.Fatal(err)
					}
					return // Mistral's template refuses a system message
				}
				full, err := tok.RenderChat(c.Messages, false)
				if err != nil {
					t.Fatal(err)
				}
				want := tok.EncodePlain(strings.TrimRightFunc(full, unicode.IsSpace))
				got := toInts(ex.IDs)
				if merged[name+"/"+c.Name] {
					if slices.Equal(got, want) || tok.Decode(got) != tok.Decode(want) {
						t.Errorf("IDs %v\nwant the same text as the whole rendering's %v, with the junction kept", got, want)
					}
				} else if !slices.Equal(got, want) {
					t.Errorf("IDs %v\nwant the whole rendering's %v", got, want)
				}
				checked++
			})
		}
	}
	if checked < 10 {
		t.Errorf("only %d encodings checked", checked)
	}
}
