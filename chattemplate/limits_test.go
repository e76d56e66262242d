package chattemplate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

const hostileFile = "model/chat_template.jinja"

// TestHostileTemplates renders templates that would loop for ever, recurse without end, build
// strings or lists of any size or make a value contain itself: each must fail quickly with an
// error that names the file and the limit or the fault, never panic or hang.
func TestHostileTemplates(t *testing.T) {
	tests := []struct {
		name, source, want string
		limit              bool // the error is a *LimitError
	}{
		{"range of a billion", "{% for i in range(1000000000) %}x{% endfor %}", "list of 65536 items", true},
		{"range of 10**9", "{% for i in range(10**9) %}x{% endfor %}", "integers", false},
		{"string times 10**10", "{{ 'x' * 10000000000 }}", "string of 4194304 bytes", true},
		{"string doubled in a loop", "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}", "string of 4194304 bytes", true},
		{"string added in a loop", "{% set ns = namespace(s='x') %}{% for i in range(100) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "string of 4194304 bytes", true},
		{"list doubled in a loop", "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "list of 65536 items", true},
		{"recursive macro", "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "depth of 256", true},
		{"mutually recursive macros", "{% macro f() %}{{ g() }}{% endmacro %}{% macro g() %}{{ f() }}{% endmacro %}{{ f() }}", "depth of 256", true},
		{"recursive loop", "{% for m in messages recursive %}{{ loop(messages) }}{% endfor %}", "depth of 256", true},
		{"nested loops", "{% for a in range(60000) %}{% for b in range(60000) %}{% endfor %}{% endfor %}", "262144 statements", true},
		{"output", "{% for i in range(60000) %}{{ 'x' * 1000 }}{% endfor %}", "output of 4194304 bytes", true},
		{"macro output", "{% macro m() %}{% for i in range(60000) %}{{ 'x' * 1000 }}{% endfor %}{% endmacro %}{% set y = m() %}", "output of 4194304 bytes", true},
		{"center", "{{ 'a' | center(10000000000) }}", "string of 4194304 bytes", true},
		// A method gets no evaluator, so its limit error reaches the rendering as text.
		{"center method", "{{ 'a'.center(10000000000) }}", "string of 4194304 bytes", false},
		{"zfill", "{{ 'a'.zfill(10000000000) }}", "string of 4194304 bytes", false},
		{"indent", "{{ ('\n' * 1000000) | indent(1000) }}", "string of 4194304 bytes", true},
		{"replace", "{% set s = 'x' * 100000 %}{{ s.replace('', 'yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy') }}", "string of 4194304 bytes", false},
		{"replace filter", "{{ ('x' * 100000) | replace('x', 'y' * 100) }}", "string of 4194304 bytes", true},
		{"format widths", "{{ ('%999999d' * 100) | format(1,2,3,4,5,6,7,8,9,10) }}", "string of 4194304 bytes", true},
		{"join", "{{ range(65536) | join('x' * 4000000) }}", "string of 4194304 bytes", true},
		{"join method", "{% set s = 'x' * 4000000 %}{{ s.join(range(65536) | map('string')) }}", "string of 4194304 bytes", false},
		{"batch", "{{ [1] | batch(1000000000, 0) | list }}", "list of 65536 items", true},
		{"tojson indent", "{{ messages | tojson(indent=1000000000) }}", "tojson indent", true},
		{"lipsum", "{{ lipsum(1000000000) }}", "lipsum", false},
		{"namespace set to itself", "{% set ns = namespace(a=1) %}{% set ns.a = ns %}{{ ns }}", "stored into itself", false},
		{"namespace in a list set to itself", "{% set ns = namespace(a=1) %}{% set ns.a = [1, [ns]] %}{{ ns }}", "stored into itself", false},
		{"modulo by zero", "{{ 1 % 0 }}", "by zero", false},
		{"include itself", "{% include '/chat_template' %}", "not available", false},
		{"import", "{% import '/chat_template' as t %}", "not available", false},
		{"extends", "{% extends '/chat_template' %}", "not available", false},
		{"deep brackets", strings.Repeat("{{ ", 1) + strings.Repeat("(", 100000) + "1" + strings.Repeat(")", 100000) + " }}", "nesting of 100 levels", true},
		{"deep blocks", strings.Repeat("{% if true %}", 1000) + strings.Repeat("{% endif %}", 1000), "nesting of 100 levels", true},
		{"deep unary", "{{ " + strings.Repeat("not ", 50000) + "1 }}", "nesting of 100 levels", true},
		{"long operator chain", "{{ 1" + strings.Repeat(" + 1", 20000) + " }}", "template tree of 1000 levels", true},
		{"source too long", strings.Repeat("x", MaxSourceBytes+1), "source of 262144 bytes", true},
		{"syntax error", "{% for %}", "does not parse", false},
		{"unclosed string", "{{ 'abc }}", "does not parse", false},
		{"raise_exception", "{{ raise_exception('no') }}", "refuses the conversation: no", false},
	}
	msgs := []Message{{Role: "user", Content: "hi"}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			out, err := render(tt.source, msgs)
			if err == nil {
				t.Fatalf("no error; rendered %d bytes", len(out))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, hostileFile+": ") || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not name the file and say %q", msg, tt.want)
			}
			var le *LimitError
			if errors.As(err, &le) != tt.limit {
				t.Errorf("error %q: a *LimitError is %v, want %v", msg, errors.As(err, &le), tt.limit)
			}
			if d := time.Since(start); d > maxRenderTime/2 {
				t.Errorf("took %s", d)
			}
		})
	}
}

// render parses and renders source as hostileFile.
func render(source string, msgs []Message) (string, error) {
	tpl, err := Parse(hostileFile, source)
	if err != nil {
		return "", err
	}
	return tpl.Render(msgs, true, nil)
}

// TestWithinLimits checks that templates just inside the limits still render, and as gonja
// renders them: the checks sit before the operators and filters, and change no result.
func TestWithinLimits(t *testing.T) {
	tests := []struct{ source, want string }{
		{"{{ 'ab' * 3 }}|{{ 'ab' * 0 }}|{{ 'ab' * -2 }}|{{ 2 * 3 }}|{{ 1.5 * 2 }}", "ababab|||6|3.0"},
		{"{{ 'a' + 'b' }}|{{ 1 + 2 }}|{{ [1] + [2] }}|{{ 'a' ~ 1 }}|{{ 7 % 3 }}", "ab|3|[1, 2]|a1|1"},
		{"{{ range(3) | list }}|{{ range(1, 7, 2) | list }}|{{ range(5, 0, -2) | list }}|{{ range(0) | list }}", "[0, 1, 2]|[1, 3, 5]|[5, 3, 1]|[]"},
		{"{% set l = [1] %}{% set _ = l.append([2]) %}{{ l }}", "[1, [2]]"},
		// gonja's append stores a copy of the list appended, so no cycle comes of it.
		{"{% set l = [] %}{% set _ = l.append(l) %}{{ l }}", "[[]]"},
		{"{% set ns = namespace(a=[1]) %}{% set ns.a = ns.a + [2] %}{{ ns.a }}", "[1, 2]"},
		{"{% for i in range(65536) %}{% endfor %}{{ ('x' * 4194304) | length }}", "4194304"},
		// continue and break leave blocks without their end; the depth must not count them.
		{"{% for x in range(300) %}{% if x > 0 %}{% continue %}{% endif %}{{ x }}{% endfor %}{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{{ n }}{% endmacro %}{{ f(100) | length }}", "0193"},
	}
	for _, tt := range tests {
		got, err := render(tt.source, nil)
		if err != nil {
			t.Errorf("%s: %v", tt.source, err)
			continue
		}
		if got != tt.want {
			t.Errorf("%s = %q, want %q", tt.source, got, tt.want)
		}
	}
}
