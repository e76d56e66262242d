package chattemplate

import (
	"errors"
	"fmt"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/loaders"
	"github.com/nikolalohinski/gonja/v2/parser"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`    // "system", "user", "assistant" or "tool"
	Content string `json:"content"` // the text of the turn
}

// Template is a parsed chat template. It is immutable and safe for concurrent use.
type Template struct {
	name string // where the template came from, for errors
	tpl  *exec.Template
}

// templateID names the template inside its loader.
const templateID = "/chat_template"

// Parse parses source, a Jinja chat template; name says where it came from (a file, or a file
// and a key) and prefixes every error about it. A source over the limits of limits.go is
// refused with a [LimitError]; gonja panicking on a broken source is an error too.
func Parse(name, source string) (t *Template, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("%s: the chat template does not parse: the parser failed: %v", name, p)
		}
	}()
	if len(source) > MaxSourceBytes {
		return nil, fmt.Errorf("%s: %w", name, &LimitError{Limit: fmt.Sprintf("source of %d bytes", MaxSourceBytes)})
	}
	cfg := newConfig()
	source = lstripBlocks(source)
	if err := checkNesting(source, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	loader, err := loaders.NewMemoryLoader(map[string]string{templateID: source})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	tpl, err := exec.NewTemplate(templateID, cfg, loader, newEnvironment())
	if err != nil {
		// NewTemplate quotes the whole source in its message; keep only the parser's error.
		if inner := errors.Unwrap(err); inner != nil {
			err = inner
		}
		return nil, fmt.Errorf("%s: the chat template does not parse: %w", name, err)
	}
	if err := hardenTree(tpl.Root()); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Template{name: name, tpl: tpl}, nil
}

// Name returns where the template came from, as given to Parse.
func (t *Template) Name() string { return t.name }

// Render renders msgs with the variables transformers' apply_chat_template passes: messages,
// add_generation_prompt, tools and documents (none), and vars (the tokenizer's special tokens,
// such as bos_token and eos_token, and template options such as enable_thinking). A
// raise_exception in the template becomes an error with its message.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool, vars map[string]any) (string, error) {
	data := make(map[string]any, len(vars)+4)
	for k, v := range vars {
		data[k] = v
	}
	list := make([]any, len(msgs))
	for i, m := range msgs {
		// An ordered dict, as Python's: role first, then content.
		d := exec.NewDict()
		d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue("role"), Value: exec.AsValue(m.Role)},
			&exec.Pair{Key: exec.AsValue("content"), Value: exec.AsValue(m.Content)})
		list[i] = d
	}
	data["messages"] = list
	data["add_generation_prompt"] = addGenerationPrompt
	data["tools"] = nil
	data["documents"] = nil
	return t.execute(data)
}

// execute renders the template with the variables of data, within the limits of limits.go. A
// panic of gonja's becomes an error naming the template.
func (t *Template) execute(data map[string]any) (out string, err error) {
	// raise_exception is defined per rendering: gonja flattens a function's error into a string,
	// so the function keeps what it raised here. So does the budget with the limit reached.
	var raised *RaisedError
	b := newBudget()
	ctx := exec.NewContext(data)
	ctx.Set(budgetKey, b)
	ctx.Set("raise_exception", func(_ *exec.Evaluator, params *exec.VarArgs) (*exec.Value, error) {
		raised = &RaisedError{}
		if len(params.Args) > 0 {
			raised.Message = params.Args[0].String()
		}
		return nil, raised
	})
	defer func() {
		if p := recover(); p != nil {
			out, err = "", fmt.Errorf("%s: rendering the chat template: the renderer failed: %v", t.name, p)
		}
	}()
	w := &limitWriter{b: b}
	err = t.tpl.Execute(w, ctx)
	switch {
	case b.exceeded != nil:
		return "", fmt.Errorf("%s: %w", t.name, b.exceeded)
	case err == nil:
		return w.out.String(), nil
	case raised != nil:
		return "", fmt.Errorf("%s: the chat template refuses the conversation: %w", t.name, raised)
	}
	if le, ok := asLimitError(err); ok {
		return "", fmt.Errorf("%s: %w", t.name, le)
	}
	return "", fmt.Errorf("%s: rendering the chat template: %w", t.name, err)
}

// RaisedError is the error of a template's raise_exception(message), transformers' way for a
// template to refuse a conversation (roles that do not alternate, a role it does not know).
type RaisedError struct {
	Message string
}

// Error returns the template's message.
func (e *RaisedError) Error() string { return e.Message }

// newConfig returns the parser settings of Hugging Face's chat template environment:
// jinja2.Environment(trim_blocks=True, lstrip_blocks=True), the rest Jinja's defaults.
// lstrip_blocks is applied to the source by lstripBlocks, not by gonja.
func newConfig() *config.Config {
	c := config.New()
	c.TrimBlocks = true
	return c
}

// newEnvironment returns a private copy of gonja's built-ins with Hugging Face's additions.
// Copying (Update into fresh sets) leaves gonja's package-level sets untouched.
func newEnvironment() *exec.Environment {
	filters := exec.NewFilterSet(map[string]exec.FilterFunction{}).Update(builtins.Filters)
	tests := exec.NewTestSet(map[string]exec.TestFunction{}).Update(builtins.Tests)
	controls := exec.NewControlStructureSet(map[string]parser.ControlStructureParser{}).Update(builtins.ControlStructures)
	ctx := exec.EmptyContext().Update(builtins.GlobalFunctions)
	registerHuggingFace(filters, tests, controls)
	methods := builtins.Methods // a copy of the struct of method sets; Str and Dict are replaced
	methods.Str = exec.NewMethodSet(pyStrMethods())
	methods.Dict = exec.NewMethodSet(pyDictMethods())
	env := &exec.Environment{
		Context:           ctx,
		Filters:           filters,
		Tests:             tests,
		ControlStructures: controls,
		Methods:           methods,
	}
	boundEnvironment(env)
	return env
}
