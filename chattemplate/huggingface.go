package chattemplate

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nikolalohinski/gonja/v2/builtins"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// registerHuggingFace adds to gonja's built-ins what Hugging Face's chat template environment
// has (its tojson, the generation block; raise_exception is set per rendering by execute) and replaces the built-ins that behave
// unlike Python's Jinja in ways chat templates meet (see each function).
func registerHuggingFace(filters *exec.FilterSet, tests *exec.TestSet, controls *exec.ControlStructureSet) {
	must(filters.Replace("tojson", filterToJSON))
	must(filters.Replace("trim", filterTrim))
	must(filters.Replace("reverse", filterReverse))
	must(filters.Replace("items", filterItems))
	must(filters.Replace("dictsort", filterDictSort))
	must(tests.Replace("true", testTrue))
	must(tests.Replace("false", testFalse))
	must(controls.Register("generation", generationParser))
}

// must panics on an error that only a programming mistake can cause (registering a name twice).
func must(err error) {
	if err != nil {
		panic(err)
	}
}

// filterToJSON is transformers' tojson: json.dumps(x, ensure_ascii=False, indent=indent,
// separators=separators, sort_keys=sort_keys). gonja's own is Go's json.Marshal (sorted keys,
// no spaces, HTML escaped), which no chat template expects.
func filterToJSON(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var indent, separators *exec.Value
	var ensureASCII, sortKeys bool
	if err := params.Take(
		exec.KeywordArgument("ensure_ascii", exec.AsValue(false), exec.BoolArgument(&ensureASCII)),
		exec.KeywordArgument("indent", exec.AsValue(nil), valueArgument(&indent)),
		exec.KeywordArgument("separators", exec.AsValue(nil), valueArgument(&separators)),
		exec.KeywordArgument("sort_keys", exec.AsValue(false), exec.BoolArgument(&sortKeys)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	enc := jsonEncoder{ensureASCII: ensureASCII, sortKeys: sortKeys, itemSep: ", ", keySep: ": "}
	if !indent.IsNil() {
		switch {
		case indent.IsInteger():
			enc.indent = strings.Repeat(" ", indent.Integer())
		case indent.IsString():
			enc.indent = indent.String()
		default:
			return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf("tojson: indent must be an integer or a string, got %s", indent.String())))
		}
		enc.indented = true
		enc.itemSep = ","
	}
	if !separators.IsNil() {
		if !separators.IsList() || separators.Len() != 2 {
			return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf("tojson: separators must be a pair of strings, got %s", separators.String())))
		}
		enc.itemSep, enc.keySep = separators.Index(0).String(), separators.Index(1).String()
	}
	var b strings.Builder
	if err := enc.encode(&b, in.Interface(), 0); err != nil {
		return exec.AsValue(fmt.Errorf("tojson: %w", err))
	}
	return exec.AsSafeValue(b.String())
}

// valueArgument takes an argument as it is.
func valueArgument(dst **exec.Value) exec.ArgumentTransmuter {
	return func(v *exec.Value) error {
		*dst = v
		return nil
	}
}

// isPySpace reports whether Python's str.isspace holds for r: Go's unicode.IsSpace plus the
// information separators U+001C to U+001F.
func isPySpace(r rune) bool { return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f) }

// pyStrip is Python's str.strip, lstrip and rstrip: chars nil strips whitespace, otherwise every
// rune in *chars.
func pyStrip(s string, chars *string, left, right bool) string {
	cut := isPySpace
	if chars != nil {
		set := *chars
		cut = func(r rune) bool { return strings.ContainsRune(set, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, cut)
	}
	if right {
		s = strings.TrimRightFunc(s, cut)
	}
	return s
}

// optionalString reads an optional string argument that may also be none.
func optionalString(v *exec.Value) (*string, error) {
	if v == nil || v.IsNil() {
		return nil, nil
	}
	if !v.IsString() {
		return nil, fmt.Errorf("want a string or none, got %s", v.String())
	}
	s := v.String()
	return &s, nil
}

// filterTrim is Jinja's trim(value, chars=None), Python's str.strip. gonja's strips Go's
// whitespace and fails on non-string values.
func filterTrim(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var chars *exec.Value
	if err := params.Take(exec.KeywordArgument("chars", exec.AsValue(nil), valueArgument(&chars))); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	set, err := optionalString(chars)
	if err != nil {
		return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf("trim: chars: %w", err)))
	}
	return exec.AsValue(pyStrip(in.String(), set, true, true))
}

// filterReverse is Jinja's reverse: the items in reverse order. gonja's sorts them first.
func filterReverse(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if in.IsString() {
		r := []rune(in.String())
		slices.Reverse(r)
		return exec.AsValue(string(r))
	}
	var out []any
	in.Iterate(func(_, _ int, key, _ *exec.Value) bool {
		out = append(out, key.Interface())
		return true
	}, func() {})
	slices.Reverse(out)
	return exec.AsValue(out)
}

// pairs returns the key-value pairs of a mapping in its order (a Go map's in sorted key order,
// as it has none), or false when v is not a mapping.
func pairs(v *exec.Value) ([]*exec.Pair, bool) {
	switch d := v.Interface().(type) {
	case *exec.Dict:
		return d.Pairs, true
	case exec.Dict:
		return d.Pairs, true
	}
	if !v.IsDict() {
		return nil, false
	}
	var out []*exec.Pair
	v.IterateOrder(func(_, _ int, key, value *exec.Value) bool {
		out = append(out, &exec.Pair{Key: key, Value: value})
		return true
	}, func() {}, false, true, true)
	return out, true
}

// filterItems is Jinja's items: the (key, value) pairs of a mapping in its order, none giving
// none. gonja's does not read its own ordered dicts.
func filterItems(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	if err := params.Take(); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if in.IsNil() {
		return exec.AsValue([]any{})
	}
	ps, ok := pairs(in)
	if !ok {
		return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf("items: %s is not a mapping", in.String())))
	}
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = []any{p.Key.Interface(), p.Value.Interface()}
	}
	return exec.AsValue(out)
}

// filterDictSort is Jinja's dictsort(case_sensitive=False, by="key", reverse=False): the pairs
// sorted by key or value. gonja's does not read its own ordered dicts.
func filterDictSort(_ *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	if in.IsError() {
		return in
	}
	var caseSensitive, reverse bool
	var by string
	if err := params.Take(
		exec.KeywordArgument("case_sensitive", exec.AsValue(false), exec.BoolArgument(&caseSensitive)),
		exec.KeywordArgument("by", exec.AsValue("key"), exec.StringEnumArgument(&by, []string{"key", "value"})),
		exec.KeywordArgument("reverse", exec.AsValue(false), exec.BoolArgument(&reverse)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	ps, ok := pairs(in)
	if !ok {
		return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf("dictsort: %s is not a mapping", in.String())))
	}
	ps = slices.Clone(ps)
	sortKey := func(p *exec.Pair) *exec.Value {
		v := p.Key
		if by == "value" {
			v = p.Value
		}
		if !caseSensitive && v.IsString() {
			return exec.AsValue(strings.ToLower(v.String()))
		}
		return v
	}
	slices.SortStableFunc(ps, func(a, b *exec.Pair) int {
		x, y := sortKey(a), sortKey(b)
		c := 0
		switch {
		case x.IsNumber() && y.IsNumber():
			c = cmpFloat(x.Float(), y.Float())
		default:
			c = strings.Compare(x.String(), y.String())
		}
		if reverse {
			c = -c
		}
		return c
	})
	out := make([]any, len(ps))
	for i, p := range ps {
		out[i] = []any{p.Key.Interface(), p.Value.Interface()}
	}
	return exec.AsValue(out)
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// testTrue and testFalse are Jinja's `is true` and `is false`: the value is that boolean, as
// Python's `is True`. gonja's test truthiness, so 0 and "" were `false`.
func testTrue(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	return in.IsBool() && in.Bool(), nil
}

func testFalse(_ *exec.Context, in *exec.Value, _ *exec.VarArgs) (bool, error) {
	return in.IsBool() && !in.Bool(), nil
}

// generationBlock is transformers' {% generation %}...{% endgeneration %}, which marks the
// assistant's text for return_assistant_tokens_mask; it renders as its body.
type generationBlock struct {
	location *tokens.Token
	body     *nodes.Wrapper
}

func (g *generationBlock) Position() *tokens.Token { return g.location }

func (g *generationBlock) String() string {
	return fmt.Sprintf("generation(Line=%d Col=%d)", g.location.Line, g.location.Col)
}

func (g *generationBlock) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	return r.Inherit().ExecuteWrapper(g.body)
}

func generationParser(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
	g := &generationBlock{location: p.Current()}
	if !args.End() {
		return nil, args.Error("generation takes no arguments", args.Current())
	}
	body, endArgs, err := p.WrapUntil("endgeneration")
	if err != nil {
		return nil, err
	}
	if !endArgs.End() {
		return nil, endArgs.Error("endgeneration takes no arguments", endArgs.Current())
	}
	g.body = body
	return g, nil
}

// pyStrMethods returns gonja's string methods with strip, lstrip, rstrip, split, rsplit and
// replace replaced by Python's: gonja's strip family strips " " (not whitespace) when called
// without arguments and miscounts multi-byte runes, its split counts maxsplit as pieces, and
// its replace demands the optional count.
func pyStrMethods() map[string]exec.Method[string] {
	names := []string{"capitalize", "capwords", "casefold", "center", "count", "encode", "endswith",
		"expandtabs", "find", "format", "format_map", "isalnum", "isalpha", "isascii", "isdecimal",
		"isdigit", "islower", "isnumeric", "isprintable", "isspace", "istitle", "isupper", "join",
		"ljust", "lower", "partition", "removeprefix", "removesuffix", "rfind", "rjust", "rpartition",
		"splitlines", "startswith", "swapcase", "title", "upper", "zfill"}
	methods := pick(builtins.Methods.Str, names)
	strip := func(left, right bool) exec.Method[string] {
		return func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			var chars *exec.Value
			if err := args.Take(exec.KeywordArgument("chars", exec.AsValue(nil), valueArgument(&chars))); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			set, err := optionalString(chars)
			if err != nil {
				return nil, exec.ErrInvalidCall(fmt.Errorf("chars: %w", err))
			}
			return pyStrip(self, set, left, right), nil
		}
	}
	methods["strip"] = strip(true, true)
	methods["lstrip"] = strip(true, false)
	methods["rstrip"] = strip(false, true)
	split := func(fromRight bool) exec.Method[string] {
		return func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
			var sep *exec.Value
			var maxSplit int
			if err := args.Take(
				exec.KeywordArgument("sep", exec.AsValue(nil), valueArgument(&sep)),
				exec.KeywordArgument("maxsplit", exec.AsValue(-1), exec.IntArgument(&maxSplit)),
			); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			s, err := optionalString(sep)
			if err != nil {
				return nil, exec.ErrInvalidCall(fmt.Errorf("sep: %w", err))
			}
			if s != nil && *s == "" {
				return nil, exec.ErrInvalidCall(errors.New("empty separator"))
			}
			return pySplit(self, s, maxSplit, fromRight), nil
		}
	}
	methods["split"] = split(false)
	methods["rsplit"] = split(true)
	methods["replace"] = func(self string, _ *exec.Value, args *exec.VarArgs) (any, error) {
		var old, repl string
		var count int
		if err := args.Take(
			exec.PositionalArgument("old", nil, exec.StringArgument(&old)),
			exec.PositionalArgument("new", nil, exec.StringArgument(&repl)),
			exec.KeywordArgument("count", exec.AsValue(-1), exec.IntArgument(&count)),
		); err != nil {
			return nil, exec.ErrInvalidCall(err)
		}
		return strings.Replace(self, old, repl, count), nil
	}
	return methods
}

// pyDictMethods returns gonja's dict methods with keys, values and items replaced by ones that
// keep the dict's order, as Python's do; gonja's sort the keys.
func pyDictMethods() map[string]exec.Method[map[string]any] {
	methods := pick(builtins.Methods.Dict, []string{"get", "pop", "setdefault", "update", "copy", "clear"})
	view := func(part func(p *exec.Pair) any) exec.Method[map[string]any] {
		return func(_ map[string]any, self *exec.Value, args *exec.VarArgs) (any, error) {
			if err := args.Take(); err != nil {
				return nil, exec.ErrInvalidCall(err)
			}
			ps, _ := pairs(self)
			out := make([]any, len(ps))
			for i, p := range ps {
				out[i] = part(p)
			}
			return out, nil
		}
	}
	methods["keys"] = view(func(p *exec.Pair) any { return p.Key.Interface() })
	methods["values"] = view(func(p *exec.Pair) any { return p.Value.Interface() })
	methods["items"] = view(func(p *exec.Pair) any { return []any{p.Key.Interface(), p.Value.Interface()} })
	return methods
}

// pick returns the methods names of set (those it has).
func pick[I any](set *exec.MethodSet[I], names []string) map[string]exec.Method[I] {
	methods := map[string]exec.Method[I]{}
	for _, name := range names {
		if m, ok := set.Get(name); ok {
			methods[name] = m
		}
	}
	return methods
}

// pySplit is Python's str.split (fromRight false) and str.rsplit: on runs of whitespace when sep
// is nil, at most maxSplit splits when it is not negative.
func pySplit(s string, sep *string, maxSplit int, fromRight bool) []any {
	var parts []string
	switch {
	case sep != nil && !fromRight:
		parts = strings.SplitN(s, *sep, limit(maxSplit))
	case sep != nil:
		// Split from the right: reverse, split on the reversed separator, reverse back.
		rev := func(x string) string { r := []rune(x); slices.Reverse(r); return string(r) }
		parts = strings.SplitN(rev(s), rev(*sep), limit(maxSplit))
		for i := range parts {
			parts[i] = rev(parts[i])
		}
		slices.Reverse(parts)
	default:
		parts = splitSpace(s, maxSplit, fromRight)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

// limit turns Python's maxsplit (-1: no limit) into strings.SplitN's piece count.
func limit(maxSplit int) int {
	if maxSplit < 0 {
		return -1
	}
	return maxSplit + 1
}

// splitSpace splits on runs of whitespace, dropping empty pieces, as Python's split() and
// rsplit() without a separator; past maxSplit splits the rest is one piece with its inner
// whitespace kept.
func splitSpace(s string, maxSplit int, fromRight bool) []string {
	if !fromRight {
		var parts []string
		for {
			s = strings.TrimLeftFunc(s, isPySpace)
			if s == "" {
				return parts
			}
			if maxSplit >= 0 && len(parts) == maxSplit {
				return append(parts, s)
			}
			end := strings.IndexFunc(s, isPySpace)
			if end < 0 {
				return append(parts, s)
			}
			parts = append(parts, s[:end])
			s = s[end:]
		}
	}
	var parts []string
	for {
		s = strings.TrimRightFunc(s, isPySpace)
		if s == "" {
			break
		}
		if maxSplit >= 0 && len(parts) == maxSplit {
			parts = append(parts, s)
			break
		}
		start := strings.LastIndexFunc(s, isPySpace)
		if start < 0 {
			parts = append(parts, s)
			break
		}
		_, width := utf8.DecodeRuneInString(s[start:])
		parts = append(parts, s[start+width:])
		s = s[:start]
	}
	slices.Reverse(parts)
	return parts
}
