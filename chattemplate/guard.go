package chattemplate

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	controlStructures "github.com/nikolalohinski/gonja/v2/builtins/control_structures"
	"github.com/nikolalohinski/gonja/v2/config"
	"github.com/nikolalohinski/gonja/v2/exec"
	"github.com/nikolalohinski/gonja/v2/nodes"
	"github.com/nikolalohinski/gonja/v2/parser"
	"github.com/nikolalohinski/gonja/v2/tokens"
)

// checkNesting refuses a source whose brackets, blocks or runs of unary operators nest deeper
// than maxNesting, before gonja's recursive parser meets them.
func checkNesting(source string, cfg *config.Config) error {
	var toks []*tokens.Token
	stream := tokens.LexAll(source, cfg)
	for tok := stream.Current(); !stream.End(); tok = stream.Next() {
		if tok.Type != tokens.Whitespace {
			toks = append(toks, tok)
		}
	}
	brackets, blocks, unary := 0, 0, 0
	for i, tok := range toks {
		switch tok.Type {
		case tokens.LeftParenthesis, tokens.LeftBracket, tokens.LeftBrace:
			brackets++
		case tokens.RightParenthesis, tokens.RightBracket, tokens.RightBrace:
			brackets--
		case tokens.BlockBegin:
			brackets = 0 // a statement starts afresh; unclosed brackets are the parser's to report
			if i+1 < len(toks) && toks[i+1].Type == tokens.Name {
				switch name := toks[i+1].Val; {
				case strings.HasPrefix(name, "end"):
					blocks--
				case opensBlock(name, toks[i+2:]):
					blocks++
				}
			}
		}
		if tok.Type == tokens.Not || tok.Type == tokens.Subtraction || tok.Type == tokens.Addition {
			unary++
		} else {
			unary = 0
		}
		if brackets > maxNesting || blocks > maxNesting || unary > maxNesting {
			return &LimitError{Limit: fmt.Sprintf("nesting of %d levels (line %d)", maxNesting, tok.Line)}
		}
	}
	return nil
}

// opensBlock reports whether the statement named name, followed by the tokens rest, has a body
// that an end tag closes. A set does when it has no "=".
func opensBlock(name string, rest []*tokens.Token) bool {
	switch name {
	case "if", "for", "macro", "call", "filter", "with", "block", "autoescape", "generation", "trans":
		return true
	case "set":
		// The "=" of a set comes within its target's few tokens.
		for _, tok := range rest[:min(len(rest), 64)] {
			switch tok.Type {
			case tokens.Assign:
				return false
			case tokens.BlockEnd:
				return true
			}
		}
	}
	return false
}

// guardKind says what a guard node does when it runs.
type guardKind int

const (
	guardStep  guardKind = iota // one statement done: count it, check the output so far
	guardEnter                  // a block's body starts: one level deeper
	guardLeave                  // a block's body ends
	guardLoop                   // a loop's body starts: as guardEnter, and the depth is noted for loopControl
)

// guard is a statement that hardenTree puts into every block of a template: it counts the work
// of the rendering and checks its limits. It writes nothing.
type guard struct {
	kind     guardKind
	location *tokens.Token
}

func (g *guard) Position() *tokens.Token { return g.location }
func (g *guard) String() string          { return "guard" }

// Execute checks the rendering's budget.
func (g *guard) Execute(r *exec.Renderer, _ *nodes.ControlStructureBlock) error {
	b := budgetOf(r.Environment.Context)
	if b == nil {
		return nil
	}
	if err := b.step(); err != nil {
		return err
	}
	switch g.kind {
	case guardEnter, guardLoop:
		b.depth++
		if b.depth > maxDepth {
			return b.exceed("depth of %d nested blocks, loops and macro calls", maxDepth)
		}
		if g.kind == guardLoop {
			r.Environment.Context.Set(loopDepthKey, b.depth)
		}
	case guardLeave:
		b.depth--
	}
	// A macro's or a recursive loop's output goes to a buffer of gonja's, not to the
	// rendering's writer: bound it here.
	if l, ok := r.Output.(interface{ Len() int }); ok && l.Len() > maxOutputBytes {
		return b.exceed("output of %d bytes", maxOutputBytes)
	}
	return nil
}

// loopDepthKey names, in the context of a loop's body, the depth the body runs at.
const loopDepthKey = "sftlab loop depth"

// loopControl is break or continue: they end the blocks between them and their loop's body
// without the blocks' leave guards, so they set the depth back to the body's.
type loopControl struct {
	exec.ControlStructure
}

// Execute sets the depth back and runs the statement.
func (l *loopControl) Execute(r *exec.Renderer, block *nodes.ControlStructureBlock) error {
	if b := budgetOf(r.Environment.Context); b != nil {
		if d, ok := r.Environment.Context.Get(loopDepthKey); ok {
			b.depth = d.(int) - 1 // the body's leave guard does not run either
		}
	}
	return l.ControlStructure.Execute(r, block)
}

// loopControlParser wraps the parser of break or continue.
func loopControlParser(parse parser.ControlStructureParser) parser.ControlStructureParser {
	return func(p *parser.Parser, args *parser.Parser) (nodes.ControlStructure, error) {
		cs, err := parse(p, args)
		if err != nil {
			return nil, err
		}
		inner, ok := cs.(exec.ControlStructure)
		if !ok {
			return nil, fmt.Errorf("%s cannot be executed", cs)
		}
		return &loopControl{inner}, nil
	}
}

// Names of the filters the rewritten operators call; none is an identifier, so no template can
// call them by name.
const (
	opMultiply = "sftlab *"
	opAdd      = "sftlab +"
	opConcat   = "sftlab ~"
	opModulo   = "sftlab %"
	opNoCycle  = "sftlab no cycle"
)

// hardener rewrites a parsed template so that it runs within its limits (hardenTree).
type hardener struct {
	seen map[unsafe.Pointer]bool
	err  error
}

// hardenTree rewrites the parsed template root in place: a guard before, between and after the
// statements of every block, the operators that build strings and lists (*, +, ~) and % through
// filters that check their operands first, and a check against cycles on every set of an
// attribute or item. gonja keeps most of
// a statement's parts in unexported fields, so the tree is walked by reflection.
func hardenTree(root *nodes.Template) error {
	h := &hardener{seen: map[unsafe.Pointer]bool{}}
	h.walk(reflect.ValueOf(root), 0)
	return h.err
}

// gonjaPackages are the packages whose types make up a parsed template.
var gonjaPackages = []string{
	"github.com/nikolalohinski/gonja/v2/nodes",
	"github.com/nikolalohinski/gonja/v2/builtins/control_structures",
	"github.com/sftlab/sftlab/chattemplate",
}

// inTree reports whether values of type t are part of a parsed template (tokens are not walked).
func inTree(t reflect.Type) bool {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
		t = t.Elem()
	}
	if t.Kind() == reflect.Interface {
		return true
	}
	for _, p := range gonjaPackages {
		if t.PkgPath() == p {
			return true
		}
	}
	return false
}

// settable returns v (a field, possibly unexported) as a settable value.
func settable(v reflect.Value) reflect.Value {
	if v.CanSet() {
		return v
	}
	return reflect.NewAt(v.Type(), unsafe.Pointer(v.UnsafeAddr())).Elem()
}

func (h *hardener) walk(v reflect.Value, depth int) {
	if h.err != nil || !v.IsValid() {
		return
	}
	if depth > maxTreeDepth {
		h.err = &LimitError{Limit: fmt.Sprintf("template tree of %d levels", maxTreeDepth)}
		return
	}
	switch v.Kind() {
	case reflect.Interface:
		if !v.IsNil() {
			h.walk(v.Elem(), depth)
		}
	case reflect.Pointer:
		if v.IsNil() || !inTree(v.Type()) {
			return
		}
		p := v.UnsafePointer()
		if h.seen[p] {
			return
		}
		h.seen[p] = true
		ptr := reflect.NewAt(v.Type().Elem(), p) // v may come from an unexported field
		h.walk(ptr.Elem(), depth+1)
		h.rewrite(ptr.Interface(), ptr.Elem())
	case reflect.Struct:
		if !inTree(v.Type()) {
			return
		}
		for i := range v.NumField() {
			f := v.Field(i)
			if inTree(f.Type()) {
				h.walk(settable(f), depth)
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			h.walk(v.Index(i), depth)
		}
	case reflect.Map:
		iter := v.MapRange()
		for iter.Next() {
			h.walk(iter.Value(), depth)
		}
	}
}

// rewrite changes one node of the tree, its parts already rewritten; elem is the settable
// struct n points to.
func (h *hardener) rewrite(n any, elem reflect.Value) {
	switch n := n.(type) {
	case *nodes.Wrapper:
		n.Nodes = guarded(n.Nodes, n.Location)
	case *nodes.Template:
		n.Nodes = guarded(n.Nodes, nil)
	case *nodes.BinaryExpression:
		var filter string
		switch n.Operator.Token.Type {
		case tokens.Multiply:
			filter = opMultiply
		case tokens.Addition:
			filter = opAdd
		case tokens.Tilde:
			filter = opConcat
		case tokens.Modulo:
			filter = opModulo
		default:
			return
		}
		// gonja evaluates only its own expression types, so the operator becomes
		// `true and (left | filter(right))`, which evaluates to the filter's result.
		at := n.Operator.Token
		*n = nodes.BinaryExpression{
			Left:     &nodes.Bool{Location: &tokens.Token{Type: tokens.Name, Val: "true", Pos: at.Pos, Line: at.Line, Col: at.Col}, Val: true},
			Operator: &nodes.BinOperator{Token: &tokens.Token{Type: tokens.And, Val: "and", Pos: at.Pos, Line: at.Line, Col: at.Col}},
			Right:    &nodes.FilteredExpression{Expression: n.Left, Filters: []*nodes.FilterCall{{Token: at, Name: filter, Args: []nodes.Expression{n.Right}}}},
		}
	case *controlStructures.SetControlStructure:
		// set x.a = v and set x[k] = v store v into x: check that v does not contain x.
		expr := settable(elem.FieldByName("expression"))
		if expr.IsNil() {
			return // a block set stores the string its body renders
		}
		var container nodes.Expression
		switch t := settable(elem.FieldByName("target")).Interface().(type) {
		case *nodes.GetAttribute:
			container = t.Node
		case *nodes.GetItem:
			container = t.Node
		default:
			return
		}
		value := expr.Interface().(nodes.Expression)
		expr.Set(reflect.ValueOf(nodes.Expression(&nodes.FilteredExpression{
			Expression: value,
			Filters:    []*nodes.FilterCall{{Token: value.Position(), Name: opNoCycle, Args: []nodes.Expression{container}}},
		})))
	case *controlStructures.ForControlStructure:
		// The body's first statement is its enter guard (the body was rewritten first).
		if n.BodyWrapper == nil || len(n.BodyWrapper.Nodes) == 0 {
			return
		}
		if first, ok := n.BodyWrapper.Nodes[0].(*nodes.ControlStructureBlock); ok {
			if g, ok := first.ControlStructure.(*guard); ok {
				g.kind = guardLoop
			}
		}
	}
}

// guarded returns a block's statements with a guard before, between and after them.
func guarded(stmts []nodes.Node, at *tokens.Token) []nodes.Node {
	if at == nil {
		at = &tokens.Token{Line: 1, Col: 1}
	}
	block := func(kind guardKind) nodes.Node {
		return &nodes.ControlStructureBlock{Location: at, Name: "guard", ControlStructure: &guard{kind: kind, location: at}}
	}
	out := make([]nodes.Node, 0, 2*len(stmts)+2)
	out = append(out, block(guardEnter))
	for _, s := range stmts {
		out = append(out, s, block(guardStep))
	}
	return append(out, block(guardLeave))
}
