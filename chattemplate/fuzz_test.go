package chattemplate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FuzzRender parses mutated chat templates and renders them on a mutated conversation: Parse
// and Render must return a result or an error that names the file, never panic, hang or build
// an output past the limits, whatever the template does.
func FuzzRender(f *testing.F) {
	var infos []templateInfo
	data, err := os.ReadFile(filepath.Join("testdata", "templates.json"))
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(data, &infos); err != nil {
		f.Fatal(err)
	}
	for _, info := range infos {
		src, err := os.ReadFile(filepath.Join("testdata", info.File))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(src), "user", "你好", "assistant", "<think>\n</think>\nhi", true)
	}
	var features []struct {
		Template string `json:"template"`
	}
	data, err = os.ReadFile(filepath.Join("testdata", "features.json"))
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(data, &features); err != nil {
		f.Fatal(err)
	}
	for _, ft := range features {
		f.Add(ft.Template, "system", "be brief", "user", "x", false)
	}
	for _, src := range []string{
		"{% for i in range(10**9) %}x{% endfor %}",
		"{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}",
		"{{ 'x' * 10**10 }}{{ 'x' * 10000000000 }}",
		"{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
		"{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}",
		"{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
		"{% set ns = namespace(a=1) %}{% set ns.a = ns %}{{ ns }}",
		"{{ raise_exception('x') }}",
		"{% if messages[0]['role'] == 'system' %}{{ messages[0]['content'] | trim }}{% endif %}",
		"{{ messages | tojson(indent=2) }}{{ messages[0].content.split('\\n') | join(',') }}",
		"{% include '/chat_template' %}",
		"{{ (((((((((1))))))))) }}{% if %}",
	} {
		f.Add(src, "user", "hi", "assistant", "hello", true)
	}
	f.Fuzz(func(t *testing.T, source, role1, content1, role2, content2 string, addGenerationPrompt bool) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			fuzzRender(t, source, []Message{{Role: role1, Content: content1}, {Role: role2, Content: content2}}, addGenerationPrompt)
		}()
		select {
		case <-done:
		case <-time.After(maxRenderTime + 5*time.Second):
			t.Fatalf("parsing and rendering did not end within %s", maxRenderTime+5*time.Second)
		}
	})
}

// fuzzRender is one input of FuzzRender.
func fuzzRender(t *testing.T, source string, msgs []Message, addGenerationPrompt bool) {
	const name = "fuzz/chat_template.jinja"
	tpl, err := Parse(name, source)
	if err != nil {
		if !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("parse error %q does not name the file", err)
		}
		return
	}
	vars := map[string]any{"bos_token": "<s>", "eos_token": "</s>", "enable_thinking": false}
	out, err := tpl.Render(msgs, addGenerationPrompt, vars)
	if err != nil {
		if !strings.HasPrefix(err.Error(), name+": ") {
			t.Errorf("render error %q does not name the file", err)
		}
		return
	}
	if len(out) > maxOutputBytes {
		t.Errorf("rendered %d bytes, past the limit of %d", len(out), maxOutputBytes)
	}
}
