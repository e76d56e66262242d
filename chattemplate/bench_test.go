package chattemplate

import (
	"os"
	"testing"
)

// BenchmarkRender renders a four-message conversation with Qwen3's template, the chat format's
// cost per rendering (it renders three times per assistant message).
func BenchmarkRender(b *testing.B) {
	src, err := os.ReadFile("testdata/templates/Qwen3.jinja")
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := Parse("Qwen3.jinja", string(src))
	if err != nil {
		b.Fatal(err)
	}
	msgs := []Message{
		{Role: "system", Content: "你是一个老师。"},
		{Role: "user", Content: "什么是机器学习？"},
		{Role: "assistant", Content: "机器学习是人工智能的一个分支。"},
		{Role: "user", Content: "举个例子"},
	}
	vars := map[string]any{"eos_token": "<|im_end|>", "enable_thinking": false}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(msgs, true, vars); err != nil {
			b.Fatal(err)
		}
	}
}
