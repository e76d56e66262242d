package chattemplate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nikolalohinski/gonja/v2/exec"
)

type templateInfo struct {
	Name          string            `json:"name"`
	File          string            `json:"file"`
	SpecialTokens map[string]string `json:"special_tokens"`
}

type conversation struct {
	Name     string    `json:"name"`
	Messages []Message `json:"messages"`
}

type referenceCase struct {
	Template            string  `json:"template"`
	Conversation        string  `json:"conversation"`
	Prefix              int     `json:"prefix"`
	AddGenerationPrompt bool    `json:"add_generation_prompt"`
	Text                *string `json:"text"`
	Error               string  `json:"error"`
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestReference renders every template of testdata/templates.json on every conversation (and its
// prefixes) and compares byte for byte with Python's Jinja2 set up as transformers sets it up
// (testdata/render_reference_jinja2.py) and with @huggingface/jinja (testdata/render_reference.mjs)
// wherever @huggingface/jinja agrees with Python.
func TestReference(t *testing.T) {
	var infos []templateInfo
	var convs []conversation
	var ref, js struct {
		Engine string          `json:"engine"`
		Cases  []referenceCase `json:"cases"`
	}
	readJSON(t, "templates.json", &infos)
	readJSON(t, "conversations.json", &convs)
	readJSON(t, "reference_jinja2.json", &ref)
	readJSON(t, "reference.json", &js)
	if len(js.Cases) != len(ref.Cases) {
		t.Fatalf("%d renderings by %s, %d by %s: regenerate both", len(js.Cases), js.Engine, len(ref.Cases), ref.Engine)
	}
	// @huggingface/jinja ignores the argument of strip, lstrip and rstrip ("\n\n x".lstrip("\n")
	// gives "x", not " x"): the Qwen3 template lstrips "\n" from a reply that starts with " ".
	jsWrong := map[string]bool{
		"Qwen3/whitespace around content[:3]/gen=false": true,
		"Qwen3/whitespace around content[:3]/gen=true":  true,
	}
	for i, c := range ref.Cases {
		o := js.Cases[i]
		if o.Template != c.Template || o.Conversation != c.Conversation || o.Prefix != c.Prefix || o.AddGenerationPrompt != c.AddGenerationPrompt {
			t.Fatalf("case %d: %s and %s rendered different inputs: regenerate both", i, js.Engine, ref.Engine)
		}
		key := fmt.Sprintf("%s/%s[:%d]/gen=%v", c.Template, c.Conversation, c.Prefix, c.AddGenerationPrompt)
		same := (o.Text == nil) == (c.Text == nil) && (o.Text == nil || *o.Text == *c.Text)
		if same == jsWrong[key] {
			t.Errorf("%s: %s and %s agree: %v, listed as disagreeing: %v", key, js.Engine, ref.Engine, same, jsWrong[key])
		}
	}
	templates := map[string]*Template{}
	vars := map[string]map[string]any{}
	for _, info := range infos {
		src, err := os.ReadFile(filepath.Join("testdata", info.File))
		if err != nil {
			t.Fatal(err)
		}
		tpl, err := Parse(info.File, string(src))
		if err != nil {
			t.Fatal(err)
		}
		templates[info.Name] = tpl
		v := map[string]any{"enable_thinking": false}
		for k, tok := range info.SpecialTokens {
			v[k] = tok
		}
		vars[info.Name] = v
	}
	msgs := map[string][]Message{}
	for _, c := range convs {
		msgs[c.Name] = c.Messages
	}
	for _, c := range ref.Cases {
		t.Run(fmt.Sprintf("%s/%s[:%d]/gen=%v", c.Template, c.Conversation, c.Prefix, c.AddGenerationPrompt), func(t *testing.T) {
			got, err := templates[c.Template].Render(msgs[c.Conversation][:c.Prefix], c.AddGenerationPrompt, vars[c.Template])
			switch {
			case c.Text == nil && err == nil:
				t.Fatalf("rendered %q, want the error %q", got, c.Error)
			case c.Text == nil:
				var raised *RaisedError
				if !errors.As(err, &raised) || raised.Message != c.Error {
					t.Errorf("error %v, want raise_exception(%q)", err, c.Error)
				}
			case err != nil:
				t.Fatal(err)
			case got != *c.Text:
				t.Errorf("got  %q\nwant %q", got, *c.Text)
			}
		})
	}
}

type featureCase struct {
	Name            string          `json:"name"`
	Template        string          `json:"template"`
	Vars            json.RawMessage `json:"vars"`
	KnownDifference string          `json:"known_difference"` // why gonja cannot render it as Python does
	Text            *string         `json:"text"`
	Error           string          `json:"error"`
}

// pyJSON decodes data as Python's json.loads does: objects keep their key order (exec.Dict),
// numbers without a fraction or exponent are integers.
func pyJSON(t *testing.T, data []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func() any
	walk = func() any {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		switch x := tok.(type) {
		case json.Delim:
			switch x {
			case '{':
				d := exec.NewDict()
				for dec.More() {
					k, err := dec.Token()
					if err != nil {
						t.Fatal(err)
					}
					d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue(k.(string)), Value: exec.AsValue(walk())})
				}
				dec.Token() // }
				return d
			case '[':
				list := []any{}
				for dec.More() {
					list = append(list, walk())
				}
				dec.Token() // ]
				return list
			}
		case json.Number:
			if i, err := x.Int64(); err == nil && !strings.ContainsAny(x.String(), ".eE") {
				return int(i)
			}
			f, err := x.Float64()
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
		return tok
	}
	return walk()
}

// TestFeatures renders the small templates of testdata/features.json, one Jinja feature each,
// and compares with Python's Jinja2 set up as transformers sets it up
// (testdata/render_reference_jinja2.py). The few that gonja cannot render as Python does say why
// in known_difference.
func TestFeatures(t *testing.T) {
	var feats []featureCase
	var ref struct {
		Features []featureCase `json:"features"`
	}
	readJSON(t, "features.json", &feats)
	readJSON(t, "reference_jinja2.json", &ref)
	for i, f := range feats {
		want := ref.Features[i]
		t.Run(f.Name, func(t *testing.T) {
			tpl, err := Parse(f.Name, f.Template)
			if err != nil {
				t.Fatal(err)
			}
			vars := map[string]any{}
			for _, p := range pyJSON(t, f.Vars).(*exec.Dict).Pairs {
				vars[p.Key.String()] = p.Value.Interface()
			}
			got, err := tpl.execute(vars)
			if f.KnownDifference != "" {
				// Documented, not fixable from outside gonja: keep it documented only while true.
				if err == nil && want.Text != nil && got == *want.Text {
					t.Fatalf("renders as Python now (%q): remove its known_difference", got)
				}
				t.Logf("differs from Python as documented (%s): %q, Python %q", f.KnownDifference, got, *want.Text)
				return
			}
			switch {
			case want.Text == nil && err == nil:
				t.Fatalf("rendered %q, want the error %q", got, want.Error)
			case want.Text == nil:
				var raised *RaisedError
				if !errors.As(err, &raised) || raised.Message != want.Error {
					t.Errorf("error %v, want raise_exception(%q)", err, want.Error)
				}
			case err != nil:
				t.Fatal(err)
			case got != *want.Text:
				t.Errorf("got  %q\nwant %q", got, *want.Text)
			}
		})
	}
}
