package tokenizer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/sftlab/sftlab/chattemplate"
)

// Message is one turn of a conversation.
type Message = chattemplate.Message

// chatTemplateFile is the file transformers saves a chat template to; when present it replaces
// tokenizer_config.json's chat_template, as in transformers.
const chatTemplateFile = "chat_template.jinja"

// chatTemplate is the chat template of a tokenizer directory: parsed, or the error that keeps it
// from being used, reported when a conversation is rendered so that the other formats still work.
type chatTemplate struct {
	tpl  *chattemplate.Template
	err  error
	vars map[string]any // the special tokens and enable_thinking=false
}

// specialTokenKeys are the keys of tokenizer_config.json that transformers passes to a chat
// template (its special_tokens_map) when they are set.
var specialTokenKeys = []string{"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"}

// loadChatTemplate reads the chat template of a tokenizer directory: chat_template.jinja, or
// else tokenizer_config.json's chat_template (a string, or a list of named templates of which
// "default" is used). dir names the directory in errors.
func loadChatTemplate(fsys fs.FS, dir string, cfgData []byte) chatTemplate {
	var cfg map[string]json.RawMessage
	if err := json.Unmarshal(cfgData, &cfg); err != nil {
		return chatTemplate{err: fmt.Errorf("%s: %w", filepath.Join(dir, configFile), jsonError(err))}
	}
	vars := map[string]any{"enable_thinking": false}
	for _, key := range specialTokenKeys {
		if s, ok := tokenContent(cfg[key]); ok {
			vars[key] = s
		}
	}
	ct := chatTemplate{vars: vars}
	name, source := "", ""
	data, err := readBounded(fsys, chatTemplateFile, chattemplate.MaxSourceBytes)
	switch {
	case err == nil:
		name, source = filepath.Join(dir, chatTemplateFile), string(data)
	case !errors.Is(err, fs.ErrNotExist):
		ct.err = fmt.Errorf("%s: %w", filepath.Join(dir, chatTemplateFile), err)
		return ct
	default:
		name = filepath.Join(dir, configFile) + ": chat_template"
		source, err = configChatTemplate(cfg["chat_template"])
		if err != nil {
			ct.err = fmt.Errorf("%s: %w", name, err)
			return ct
		}
		if source == "" {
			ct.err = fmt.Errorf("%s: no chat template: %s has no chat_template and there is no %s (copy them from the model's Hugging Face repository, or use the sft or instruction format)",
				dir, configFile, chatTemplateFile)
			return ct
		}
	}
	ct.tpl, ct.err = chattemplate.Parse(name, source)
	return ct
}

// readBounded reads the file name of fsys, or its first limit+1 bytes when it is longer (enough
// for the reader to refuse it as too long).
func readBounded(fsys fs.FS, name string, limit int64) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, limit+1))
}

// configChatTemplate returns tokenizer_config.json's chat_template: a string, or the template
// named "default" of a list of {"name", "template"}; "" when there is none.
func configChatTemplate(raw json.RawMessage) (string, error) {
	if isNull(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var named []struct{ Name, Template string }
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", fmt.Errorf("want a string or a list of {\"name\", \"template\"}, got %s", bytes.TrimSpace(raw))
	}
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
	}
	return "", fmt.Errorf("none of the %d named templates is called \"default\"", len(named))
}

// tokenContent reads a token of tokenizer_config.json, a string or an object with "content".
func tokenContent(raw json.RawMessage) (string, bool) {
	if isNull(raw) {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, true
	}
	var obj struct{ Content string }
	if err := json.Unmarshal(raw, &obj); err == nil && obj.Content != "" {
		return obj.Content, true
	}
	return "", false
}

// RenderChat renders msgs with the tokenizer's own chat template (chat_template.jinja, or
// tokenizer_config.json's chat_template; for the built-in tokenizer, Qwen3's) as transformers'
// apply_chat_template(msgs, tokenize=False, add_generation_prompt=addGenerationPrompt,
// enable_thinking=False) does, with the special tokens of tokenizer_config.json. It fails when
// the directory has no template, when the template does not parse (the error names the file),
// and when the template refuses the conversation (its raise_exception).
func (t *Tokenizer) RenderChat(msgs []Message, addGenerationPrompt bool) (string, error) {
	if t.chat.err != nil {
		return "", fmt.Errorf("tokenizer: %w", t.chat.err)
	}
	return t.chat.tpl.Render(msgs, addGenerationPrompt, t.chat.vars)
}
