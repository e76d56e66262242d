package tokenizer

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// TestChatTemplateSources loads the chat template from each place a tokenizer directory keeps it
// and checks the rendering, or the error, which must name the file.
func TestChatTemplateSources(t *testing.T) {
	const tpl = `{% for m in messages %}[{{ m.role }}]{{ m.content }}{{ eos_token }}{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}{{ bos_token }}`
	tok := marshal(t, tinyTokenizer())
	quoted := func(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) }
	tests := []struct {
		name    string
		config  string
		jinja   *string // chat_template.jinja, nil for none
		want    string
		wantErr string
	}{
		{name: "tokenizer_config.json chat_template",
			config: `{"eos_token": {"content": "<|end|>"}, "chat_template": "` + quoted(tpl) + `"}`,
			want:   "[user]hi<|end|>[assistant]"},
		{name: "named templates use default",
			config: `{"eos_token": "<|end|>", "bos_token": "<x>", "chat_template": [{"name": "tool_use", "template": "no"}, {"name": "default", "template": "` + quoted(tpl) + `"}]}`,
			want:   "[user]hi<|end|>[assistant]<x>"},
		{name: "chat_template.jinja replaces the config's",
			config: `{"eos_token": "<|end|>", "chat_template": "not this"}`, jinja: ptr(tpl),
			want: "[user]hi<|end|>[assistant]"},
		{name: "no template",
			config:  `{"eos_token": "<|end|>"}`,
			wantErr: "no chat template: tokenizer_config.json has no chat_template and there is no chat_template.jinja"},
		{name: "no default among named templates",
			config:  `{"eos_token": "<|end|>", "chat_template": [{"name": "tool_use", "template": "x"}]}`,
			wantErr: `tokenizer_config.json: chat_template: none of the 1 named templates is called "default"`},
		{name: "config template does not parse",
			config:  `{"eos_token": "<|end|>", "chat_template": "{% for m in messages %}"}`,
			wantErr: "tokenizer_config.json: chat_template: the chat template does not parse"},
		{name: "chat_template.jinja does not parse",
			config: `{"eos_token": "<|end|>"}`, jinja: ptr("{{ messages[ }}"),
			wantErr: "chat_template.jinja: the chat template does not parse"},
		{name: "template refuses the conversation",
			config:  `{"eos_token": "<|end|>", "chat_template": "{{ raise_exception('only assistants here') }}"}`,
			wantErr: "tokenizer_config.json: chat_template: the chat template refuses the conversation: only assistants here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tok, false, &tt.config)
			if tt.jinja != nil {
				if err := os.WriteFile(filepath.Join(dir, chatTemplateFile), []byte(*tt.jinja), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			tk, err := Load(dir)
			if err != nil {
				t.Fatalf("Load: %v (a chat template problem must not keep the tokenizer from loading)", err)
			}
			got, err := tk.RenderChat([]Message{{Role: "user", Content: "hi"}}, true)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), dir) {
					t.Fatalf("error %v, want one naming %s and saying %q", err, dir, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("RenderChat = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestEncodePlain checks that EncodePlain leaves out the post-processor's special tokens and
// otherwise equals Encode.
func TestEncodePlain(t *testing.T) {
	cfg := tinyConfig
	tok, err := Load(writeDir(t, marshal(t, tinyTokenizer()), false, &cfg))
	if err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"hello", "", "<|end|>hello world", " world hello<x>"} {
		full, plain := tok.Encode(text), tok.EncodePlain(text)
		if full[0] != 264 || !slices.Equal(full[1:], plain) {
			t.Errorf("Encode(%q) = %v, EncodePlain = %v; want the same without the leading 264", text, full, plain)
		}
	}
	q := loadQwen3(t)
	text := "<|im_start|>user\n你好<|im_end|>\n"
	if !slices.Equal(q.Encode(text), q.EncodePlain(text)) {
		t.Errorf("Qwen3 has no post-processor tokens, yet Encode and EncodePlain differ on %q", text)
	}
}

// TestChatTemplateTooLong checks that an oversized chat_template.jinja is read only up to the
// template limit and refused with an error naming the file and the limit.
func TestChatTemplateTooLong(t *testing.T) {
	fsys := fstest.MapFS{chatTemplateFile: &fstest.MapFile{Data: bytes.Repeat([]byte("x"), 10<<20)}}
	ct := loadChatTemplate(fsys, "model", []byte(`{"eos_token": "</s>"}`))
	if ct.err == nil {
		t.Fatal("a 10 MB chat_template.jinja parses")
	}
	want := filepath.Join("model", chatTemplateFile) + ": the chat template exceeds its limit: source of 262144 bytes"
	if ct.err.Error() != want {
		t.Errorf("error %q, want %q", ct.err, want)
	}
}
