package chattemplate

import (
	"errors"
	"strings"
	"sync"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, source, want string
	}{
		{"unclosed if", "{% if messages %}x", "does not parse"},
		{"unknown tag", "{% frobnicate %}", "does not parse"},
		{"bad expression", "{{ messages[ }}", "does not parse"},
		{"unclosed for", "{% for m in messages %}{{ m.content }}", "does not parse"},
		// gonja's parser dereferences a nil token when a test ends the source.
		{"test at the end", "{{0 is ", "does not parse"},
		{"include", "{% include 'x' %}", "'include' is not available"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("model/tokenizer_config.json: chat_template", tt.source)
			if err == nil {
				t.Fatal("no error")
			}
			if msg := err.Error(); !strings.HasPrefix(msg, "model/tokenizer_config.json: chat_template: ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not name the file and say %q", msg, tt.want)
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	tests := []struct {
		name, source string
		raised       bool
		want         string
	}{
		{"raise_exception", "{% if messages[0].role != 'user' %}{{ raise_exception('first must be user') }}{% endif %}", true, "refuses the conversation: first must be user"},
		{"strftime_now is not defined", "{{ strftime_now('%d %b %Y') }}", false, "rendering the chat template"},
		{"method on none", "{{ messages[0].content.nosuchmethod() }}", false, "rendering the chat template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tpl, err := Parse("chat_template.jinja", tt.source)
			if err != nil {
				t.Fatal(err)
			}
			_, err = tpl.Render([]Message{{Role: "assistant", Content: "x"}}, false, nil)
			var raised *RaisedError
			if err == nil || !strings.HasPrefix(err.Error(), "chat_template.jinja: ") || !strings.Contains(err.Error(), tt.want) ||
				errors.As(err, &raised) != tt.raised {
				t.Errorf("error %v: want one naming the file, saying %q, raised %v", err, tt.want, tt.raised)
			}
		})
	}
}

// TestConcurrentRender checks that one Template renders from many goroutines at once, each
// getting its own result and its own raise_exception.
func TestConcurrentRender(t *testing.T) {
	tpl, err := Parse("t", "{% for m in messages %}{% if m.role == 'bad' %}{{ raise_exception(m.content) }}{% endif %}{{ m.content }}{% endfor %}")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			want := strings.Repeat("x", i)
			role := "user"
			if i%2 == 1 {
				role = "bad"
			}
			got, err := tpl.Render([]Message{{Role: role, Content: want}}, false, nil)
			var raised *RaisedError
			switch {
			case role == "bad" && (!errors.As(err, &raised) || raised.Message != want):
				t.Errorf("goroutine %d: error %v, want raise_exception(%q)", i, err, want)
			case role == "user" && (err != nil || got != want):
				t.Errorf("goroutine %d: %q, %v; want %q", i, got, err, want)
			}
		}()
	}
	wg.Wait()
}

// TestLstripBlocks checks the source rewrite behind lstrip_blocks on what the rendering tests
// do not reach: tag insides and string literals stay as they are.
func TestLstripBlocks(t *testing.T) {
	tests := []struct{ name, src, want string }{
		{"block at a line start", "a\n  {% if x %}", "a\n{% if x %}"},
		{"comment at a line start", "\t {# c #}", "{# c #}"},
		{"block in mid-line", "{{ x }}  {% endif %}", "{{ x }}  {% endif %}"},
		{"plus keeps the blanks", "  {%+ if x %}", "  {%+ if x %}"},
		{"variables are not stripped", "  {{ x }}", "  {{ x }}"},
		{"string literal with a newline and a tag", "{{ 'a\n  {% b' }}\n  {% c %}", "{{ 'a\n  {% b' }}\n{% c %}"},
		{"quote escaped in a literal", `{{ "x\"}}\n  {%" }}`, `{{ "x\"}}\n  {%" }}`},
		{"raw body untouched", "{% raw %}\n  {% x %}{% endraw %}\n  {% y %}", "{% raw %}\n  {% x %}{% endraw %}\n{% y %}"},
		{"unclosed tag", "  {% if", "{% if"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := lstripBlocks(tt.src); got != tt.want {
				t.Errorf("lstripBlocks(%q) = %q, want %q", tt.src, got, tt.want)
			}
		})
	}
}
