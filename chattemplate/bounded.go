package chattemplate

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// filterNames are gonja's filters with those registerHuggingFace adds; the FilterSet cannot be
// listed, so the names are.
var filterNames = []string{"abs", "attr", "batch", "capitalize", "center", "default", "d",
	"dictsort", "e", "escape", "filesizeformat", "first", "float", "forceescape", "format",
	"groupby", "indent", "int", "join", "items", "last", "length", "count", "list", "lower", "map",
	"max", "min", "pprint", "random", "rejectattr", "reject", "replace", "reverse", "round",
	"safe", "selectattr", "select", "slice", "sort", "string", "striptags", "sum", "title",
	"tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount",
	"wordwrap", "xmlattr"}

// boundEnvironment puts the limits of limits.go on what a template can call: every filter and
// method is charged to the rendering's budget and checked before (the arguments that size its
// result) and after (the size of its result); the operators that hardenTree rewrites get
// their filters; range builds a bounded list (gonja's feeds a channel from a goroutine that
// leaks when a loop stops early); include, import, from and extends are refused (a chat
// template is one file, and including itself would recurse for ever); break and continue keep
// the depth count right (loopControl).
func boundEnvironment(env *exec.Environment) {
	for _, name := range filterNames {
		if f, ok := env.Filters.Get(name); ok {
			must(env.Filters.Replace(name, boundFilter(name, f)))
		}
	}
	must(env.Filters.Register(opMultiply, filterMultiply))
	must(env.Filters.Register(opAdd, filterOperator(tokens.Addition, "+")))
	must(env.Filters.Register(opConcat, filterOperator(tokens.Tilde, "~")))
	must(env.Filters.Register(opModulo, filterModulo))
	must(env.Filters.Register(opNoCycle, filterNoCycle))
	// The string and dict methods are the ones newEnvironment installed (the same functions
	// build them); gonja's list methods cannot be listed, so they are named.
	env.Methods.Str = boundMethods(pyStrMethods())
	env.Methods.List = boundMethods(pick(env.Methods.List, []string{"append", "reverse", "copy"}))
	env.Methods.Dict = boundMethods(pyDictMethods())
	env.Context.Set("range", rangeFunction)
	env.Context.Set("lipsum", lipsumFunction)
	for _, name := range []string{"include", "import", "from", "extends"} {
		must(env.ControlStructures.Replace(name, refusedStatement(name)))
	}
	for _, name := range []string{"break", "continue"} {
		if parse, ok := env.ControlStructures.Get(name); ok {
			must(env.ControlStructures.Replace(name, loopControlParser(parse)))
		}
	}
}

// refusedStatement is the parser of a statement chat templates may not use.
func refusedStatement(name string) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		return nil, args.Error(fmt.Sprintf("'%s' is not available in a chat template", name), p.Current())
	}
}

// budgetError turns a limit error into the value a filter returns.
func budgetError(err error) *exec.Value { return exec.AsValue(err) }

// boundFilter wraps a filter with the limits.
func boundFilter(name string, f exec.FilterFunction) exec.FilterFunction {
	return func(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
		b := budgetOf(e.Environment.Context)
		if b == nil {
			return f(e, in, params)
		}
		if err := b.step(); err != nil {
			return budgetError(err)
		}
		if err := checkCall(b, name, in, params); err != nil {
			return budgetError(err)
		}
		out := f(e, in, params)
		if err := b.checkValue(out); err != nil {
			return budgetError(err)
		}
		return out
	}
}

// boundMethods returns the set of methods, each wrapped with the limits.
func boundMethods[I any](methods map[string]exec.Method[I]) *exec.MethodSet[I] {
	bound := make(map[string]exec.Method[I], len(methods))
	for name, m := range methods {
		bound[name] = func(self I, selfValue *exec.Value, args *exec.VarArgs) (any, error) {
			// A method gets no evaluator, so no way to the rendering's budget: it is
			// checked against a budget of its own, which bounds the sizes (the work it
			// does is bounded by them, and counted by the statement that calls it), with no
			// deadline: it counts no steps.
			b := &budget{}
			if err := checkCall(b, name, selfValue, args); err != nil {
				return nil, err
			}
			if name == "append" || name == "update" || name == "setdefault" {
				for _, a := range args.Args {
					if err := checkNoCycle(b, a, selfValue); err != nil {
						return nil, err
					}
				}
				for _, a := range args.KwArgs {
					if err := checkNoCycle(b, a, selfValue); err != nil {
						return nil, err
					}
				}
			}
			out, err := m(self, selfValue, args)
			if err != nil {
				return nil, err
			}
			if err := b.checkValue(exec.ToValue(out)); err != nil {
				return nil, err
			}
			if name == "append" {
				if err := b.checkList(selfValue.Len()); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
	}
	return exec.NewMethodSet(bound)
}

// checkCall checks, before a filter or method named name runs on in with params, the
// arguments that size its result.
func checkCall(b *budget, name string, in *exec.Value, params *exec.VarArgs) error {
	intArg := func(i int, key string) int {
		v := params.KwArgs[key]
		if i < len(params.Args) {
			v = params.Args[i]
		}
		if v == nil || !v.IsInteger() {
			return 0
		}
		return v.Integer()
	}
	strArg := func(i int, key string) string {
		v := params.KwArgs[key]
		if i < len(params.Args) {
			v = params.Args[i]
		}
		if v == nil || !v.IsString() {
			return ""
		}
		return v.String()
	}
	inLen := 0
	if in != nil && in.IsString() {
		inLen = len(in.String())
	}
	switch name {
	case "center", "ljust", "rjust", "zfill":
		return b.checkString(max(intArg(0, "width"), 0))
	case "indent":
		width := max(intArg(0, "width"), len(strArg(0, "width")))
		return b.checkString(inLen + (strings.Count(in.String(), "\n")+1)*width)
	case "expandtabs":
		return b.checkString(inLen + strings.Count(in.String(), "\t")*max(intArg(0, "tabsize"), 0))
	case "wordwrap":
		return b.checkString(inLen * (2 + len(strArg(2, "wrapstring"))))
	case "replace":
		if in == nil || !in.IsString() {
			return nil
		}
		old, repl := strArg(0, "old"), strArg(1, "new")
		n := inLen + 1
		if old != "" {
			n = strings.Count(in.String(), old)
		}
		if count := intArg(2, "count"); count >= 0 && len(params.Args) > 2 {
			n = min(n, count)
		}
		if len(repl) > len(old) && n > 0 && (len(repl)-len(old)) > (maxOutputBytes-inLen)/n {
			return b.exceed("string of %d bytes", maxOutputBytes)
		}
	case "join":
		// The filter joins its input with its argument; the string method joins its
		// argument with its input. Either way: items × separator, plus the items' text.
		list, sep := in, strArg(0, "d")
		if in.IsString() {
			list, sep = nil, in.String()
			if len(params.Args) > 0 {
				list = params.Args[0]
			}
		}
		if list == nil || list.IsString() {
			return nil
		}
		if err := checkValueDepth(b, list); err != nil {
			return err
		}
		if list.Len() > 0 && len(sep) > maxOutputBytes/list.Len() {
			return b.exceed("string of %d bytes", maxOutputBytes)
		}
		return b.checkString(list.Len()*len(sep) + len(list.String()))
	case "format", "format_map":
		return b.checkString(formatBound(in, params))
	case "batch", "slice":
		return b.checkList(max(intArg(0, ""), 0) + in.Len())
	case "list":
		return b.checkList(in.Len())
	case "tojson":
		if intArg(0, "indent") > maxNesting || len(strArg(0, "indent")) > maxNesting {
			return b.exceed("tojson indent of %d", maxNesting)
		}
	}
	return nil
}

// formatBound bounds the length of what a format filter or method gives: the format string,
// every width and precision in it, every argument's text and integer (a * width), and room
// for a float's digits per placeholder.
func formatBound(in *exec.Value, params *exec.VarArgs) int {
	s := in.String()
	n := len(s) + 400*(strings.Count(s, "%")+strings.Count(s, "{"))
	digits := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] >= '0' && s[i] <= '9' {
			digits = min(digits*10+int(s[i]-'0'), 1<<40)
			continue
		}
		n += digits
		digits = 0
	}
	args := append([]*exec.Value{}, params.Args...)
	for _, v := range params.KwArgs {
		args = append(args, v)
	}
	for _, v := range args {
		switch {
		case v.IsInteger():
			n += min(max(v.Integer(), -v.Integer()), 1<<40) + 20
		case v.IsString():
			n += len(v.String())
		default:
			n += 64 * (v.Len() + 1)
		}
	}
	return n
}

// filterMultiply is the * operator: gonja's, with a string's repetition checked first (and
// a negative count giving "", as in Python, where strings.Repeat panics).
func filterMultiply(e *exec.Evaluator, left *exec.Value, params *exec.VarArgs) *exec.Value {
	b, right, err := operands(e, params)
	if err != nil {
		return budgetError(err)
	}
	if left.IsString() && !left.IsFloat() && !right.IsFloat() {
		n := right.Integer()
		if n <= 0 || left.String() == "" {
			return exec.AsValue("")
		}
		if n > maxOutputBytes/len(left.String()) {
			return budgetError(b.exceed("string of %d bytes", maxOutputBytes))
		}
	}
	return binary(e, b, left, right, tokens.Multiply, "*")
}

// filterOperator is the + or ~ operator: gonja's, with the size of the result checked first.
func filterOperator(op tokens.Type, val string) exec.FilterFunction {
	return func(e *exec.Evaluator, left *exec.Value, params *exec.VarArgs) *exec.Value {
		b, right, err := operands(e, params)
		if err != nil {
			return budgetError(err)
		}
		switch {
		case op == tokens.Addition && left.IsList() && right.IsList():
			err = b.checkList(left.Len() + right.Len())
		case op == tokens.Tilde || left.IsString() || right.IsString():
			if err = checkValueDepth(b, left); err == nil {
				err = checkValueDepth(b, right)
			}
			if err == nil {
				err = b.checkString(len(left.String()) + len(right.String()))
			}
		}
		if err != nil {
			return budgetError(err)
		}
		return binary(e, b, left, right, op, val)
	}
}

// filterModulo is the % operator: gonja's integer remainder, with division by zero an error
// rather than a panic.
func filterModulo(e *exec.Evaluator, left *exec.Value, params *exec.VarArgs) *exec.Value {
	b, right, err := operands(e, params)
	if err != nil {
		return budgetError(err)
	}
	if right.Integer() == 0 {
		return budgetError(errors.New("integer division or modulo by zero"))
	}
	return binary(e, b, left, right, tokens.Modulo, "%")
}

// operands returns the budget and the right operand of an operator's filter.
func operands(e *exec.Evaluator, params *exec.VarArgs) (*budget, *exec.Value, error) {
	if len(params.Args) != 1 {
		return nil, nil, errors.New("an operator takes two operands")
	}
	b := budgetOf(e.Environment.Context)
	if b == nil {
		b = newBudget()
	}
	if err := b.step(); err != nil {
		return nil, nil, err
	}
	return b, params.Args[0], nil
}

// binary evaluates left op right with gonja's own evaluator, so that the operator means what
// gonja means by it, and charges the result to b.
func binary(e *exec.Evaluator, b *budget, left, right *exec.Value, op tokens.Type, val string) *exec.Value {
	const l, r = "sftlab left", "sftlab right"
	ctx := e.Environment.Context.Inherit()
	ctx.Set(l, left)
	ctx.Set(r, right)
	sub := &exec.Evaluator{Config: e.Config, Loader: e.Loader, Environment: &exec.Environment{
		Context: ctx, Filters: e.Environment.Filters, Tests: e.Environment.Tests,
		ControlStructures: e.Environment.ControlStructures, Methods: e.Environment.Methods,
	}}
	out := sub.Eval(&nodes.BinaryExpression{
		Left:     &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: l}},
		Right:    &nodes.Name{Name: &tokens.Token{Type: tokens.Name, Val: r}},
		Operator: &nodes.BinOperator{Token: &tokens.Token{Type: op, Val: val}},
	})
	if err := b.checkValue(out); err != nil {
		return budgetError(err)
	}
	return out
}

// filterNoCycle passes its input through after checking that storing it into the container
// (its argument) makes no value contain itself or nest deeper than maxValueDepth.
func filterNoCycle(e *exec.Evaluator, in *exec.Value, params *exec.VarArgs) *exec.Value {
	b, container, err := operands(e, params)
	if err != nil {
		return budgetError(err)
	}
	if err := checkNoCycle(b, in, container); err != nil {
		return budgetError(err)
	}
	return in
}

// checkNoCycle fails when v contains container (so that storing v into it would make a cycle)
// or nests deeper than maxValueDepth.
func checkNoCycle(b *budget, v, container *exec.Value) error {
	target := identity(reflect.ValueOf(container))
	return walkValue(b, reflect.ValueOf(v), target, 0)
}

// checkValueDepth fails when v nests deeper than maxValueDepth.
func checkValueDepth(b *budget, v *exec.Value) error {
	return walkValue(b, reflect.ValueOf(v), nil, 0)
}

// identity returns what makes a list or mapping the same one: its *exec.Value, map, *Dict or
// slice array; nil for other values.
func identity(v reflect.Value) []uintptr {
	var ids []uintptr
	for v.IsValid() {
		switch v.Kind() {
		case reflect.Interface:
			if v.IsNil() {
				return ids
			}
			v = v.Elem()
			continue
		case reflect.Pointer:
			if v.IsNil() {
				return ids
			}
			ids = append(ids, v.Pointer())
			if x, ok := v.Interface().(*exec.Value); ok {
				v = x.Val
				continue
			}
			v = v.Elem()
			continue
		case reflect.Map:
			if !v.IsNil() {
				ids = append(ids, v.Pointer())
			}
		case reflect.Slice:
			if v.Cap() > 0 {
				ids = append(ids, v.Pointer())
			}
		case reflect.Struct:
			if d, ok := v.Interface().(exec.Dict); ok {
				ids = append(ids, reflect.ValueOf(d.Pairs).Pointer())
			}
		}
		return ids
	}
	return ids
}

// walkValue walks v, failing when it nests deeper than maxValueDepth or holds something with an
// identity in target.
func walkValue(b *budget, v reflect.Value, target []uintptr, depth int) error {
	if depth > maxValueDepth {
		return b.exceed("value nesting of %d levels", maxValueDepth)
	}
	if err := b.charge(1); err != nil {
		return err
	}
	if len(target) > 0 {
		for _, id := range identity(v) {
			for _, t := range target {
				if id == t {
					return errors.New("a value cannot be stored into itself")
				}
			}
		}
	}
	switch v.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		if x, ok := v.Interface().(*exec.Value); ok {
			return walkValue(b, x.Val, target, depth)
		}
		if d, ok := v.Interface().(*exec.Dict); ok {
			return walkPairs(b, d.Pairs, target, depth)
		}
		return walkValue(b, v.Elem(), target, depth)
	case reflect.Struct:
		if d, ok := v.Interface().(exec.Dict); ok {
			return walkPairs(b, d.Pairs, target, depth)
		}
	case reflect.Slice, reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			return nil
		}
		for i := range v.Len() {
			if err := walkValue(b, v.Index(i), target, depth+1); err != nil {
				return err
			}
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			if err := walkValue(b, iter.Value(), target, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

func walkPairs(b *budget, pairs []*exec.Pair, target []uintptr, depth int) error {
	for _, p := range pairs {
		if err := walkValue(b, reflect.ValueOf(p.Value), target, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// rangeFunction is Python's range as a list, at most maxItems long.
func rangeFunction(e *exec.Evaluator, params *exec.VarArgs) ([]int, error) {
	var start, stop, step = 0, 0, 1
	for _, a := range params.Args {
		if !a.IsInteger() {
			return nil, exec.ErrInvalidCall(errors.New("expected signature is [start, ]stop[, step] where all arguments are integers"))
		}
	}
	switch len(params.Args) {
	case 1:
		stop = params.Args[0].Integer()
	case 2:
		start, stop = params.Args[0].Integer(), params.Args[1].Integer()
	case 3:
		start, stop, step = params.Args[0].Integer(), params.Args[1].Integer(), params.Args[2].Integer()
	default:
		return nil, exec.ErrInvalidCall(errors.New("expected signature is [start, ]stop[, step] where all arguments are integers"))
	}
	if step == 0 {
		return nil, exec.ErrInvalidCall(errors.New("step cannot be 0"))
	}
	// The length in float64: start, stop and step may be anywhere in int's range.
	n := (float64(stop) - float64(start) + float64(step) - sign(step)) / float64(step)
	if n <= 0 {
		return []int{}, nil
	}
	b := budgetOf(e.Environment.Context)
	if b == nil {
		b = newBudget()
	}
	if n > maxItems {
		return nil, b.exceed("list of %d items", maxItems)
	}
	if err := b.charge(int(n)); err != nil {
		return nil, err
	}
	out := make([]int, 0, int(n))
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		out = append(out, i)
		if len(out) == int(n) {
			break
		}
	}
	return out, nil
}

func sign(x int) float64 {
	if x < 0 {
		return -1
	}
	return 1
}

// lipsumFunction is Jinja's lipsum(n=5, html=True, min=20, max=100), its sizes bounded.
func lipsumFunction(e *exec.Evaluator, params *exec.VarArgs) *exec.Value {
	var n, lo, hi int
	var html bool
	if err := params.Take(
		exec.KeywordArgument("n", exec.AsValue(5), exec.IntArgument(&n)),
		exec.KeywordArgument("html", exec.AsValue(true), exec.BoolArgument(&html)),
		exec.KeywordArgument("min", exec.AsValue(20), exec.IntArgument(&lo)),
		exec.KeywordArgument("max", exec.AsValue(100), exec.IntArgument(&hi)),
	); err != nil {
		return exec.AsValue(exec.ErrInvalidCall(err))
	}
	if n < 0 || lo < 0 || hi < lo || n > 100 || hi > 1000 {
		return exec.AsValue(exec.ErrInvalidCall(fmt.Errorf("lipsum: n must be in [0, 100] and min ≤ max ≤ 1000")))
	}
	words := make([]string, 0, n*hi)
	for p := range n {
		for w := range lo + (p*7)%(hi-lo+1) {
			words = append(words, lorem[(p+w)%len(lorem)])
		}
		words = append(words, "\n\n")
	}
	return exec.AsSafeValue(strings.Join(words, " "))
}

var lorem = strings.Fields("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et dolore magna aliqua")
