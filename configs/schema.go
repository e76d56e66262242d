package configs

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// schemaKind says how a key's value is structured.
type schemaKind int

const (
	leafKind   schemaKind = iota // a scalar or a list
	structKind                   // a section with fixed keys
	mapKind                      // free keys (sweep.grid, regress.tolerances)
)

// schema mirrors the Config struct, so that keys can be checked in the YAML tree, where lines
// are known, before the merged map is decoded.
type schema struct {
	kind   schemaKind
	typ    reflect.Type
	names  []string           // struct keys, in declaration order
	fields map[string]*schema // struct keys
	elem   *schema            // map values
	// checkKey validates the free key of a map; it returns "" for a valid key.
	checkKey func(key string) string
}

// extendsKey is the only top-level key that is not a Config field: it names the base file.
const extendsKey = "extends"

// newConfigSchema builds the schema of Config.
func newConfigSchema() *schema {
	s := schemaOf(reflect.TypeFor[Config]())
	sweepable := sweepablePaths(s)
	checkSweepKey := func(key string) string {
		if slices.Contains(sweepable, key) {
			return ""
		}
		if strings.HasPrefix(key, "cluster.") {
			return "cannot be swept: the cluster section sets the jobs of the whole experiment"
		}
		return "cannot be swept: not a config key" + suggestion(strings.Split(key, "."), sweepable)
	}
	s.fields["sweep"].fields["grid"].checkKey = checkSweepKey
	s.fields["sweep"].fields["zip"].checkKey = checkSweepKey
	s.fields["regress"].fields["tolerances"].checkKey = func(key string) string {
		if slices.Contains(Metrics(), key) {
			return ""
		}
		return fmt.Sprintf("unknown metric%s (metrics: %s)",
			suggestion([]string{key}, Metrics()), strings.Join(Metrics(), ", "))
	}
	return s
}

func schemaOf(t reflect.Type) *schema {
	switch t.Kind() {
	case reflect.Struct:
		s := &schema{kind: structKind, typ: t, fields: map[string]*schema{}}
		for f := range t.Fields() {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			s.names = append(s.names, name)
			s.fields[name] = schemaOf(f.Type)
		}
		return s
	case reflect.Map:
		return &schema{kind: mapKind, typ: t, elem: schemaOf(t.Elem())}
	default:
		return &schema{kind: leafKind, typ: t}
	}
}

// paths lists the dotted paths of the struct keys below s (sections and leaves), in
// declaration order. Free map keys are not listed.
func (s *schema) paths(prefix []string, leavesOnly bool) []string {
	var out []string
	for _, name := range s.names {
		child := s.fields[name]
		p := append(slices.Clone(prefix), name)
		if child.kind == structKind {
			if !leavesOnly {
				out = append(out, joinPath(p))
			}
			out = append(out, child.paths(p, leavesOnly)...)
			continue
		}
		if child.kind == leafKind || !leavesOnly {
			out = append(out, joinPath(p))
		}
	}
	return out
}

// sweepablePaths are the leaf keys a sweep may set: every leaf but name, the sweep itself and
// the cluster section (it describes the jobs of the whole sweep, not one run).
func sweepablePaths(s *schema) []string {
	var out []string
	for _, p := range s.paths(nil, true) {
		if p != "name" && !strings.HasPrefix(p, "sweep.") && !strings.HasPrefix(p, "cluster.") {
			out = append(out, p)
		}
	}
	return out
}

// lookup returns the schema of the key at path, or the length of the longest known prefix.
func (s *schema) lookup(path []string) (*schema, int) {
	cur := s
	for i, seg := range path {
		switch cur.kind {
		case structKind:
			next, ok := cur.fields[seg]
			if !ok {
				return nil, i
			}
			cur = next
		case mapKind:
			if cur.checkKey != nil && cur.checkKey(seg) != "" {
				return nil, i
			}
			cur = cur.elem
		default:
			if _, err := strconv.Atoi(seg); err == nil && cur.typ.Kind() == reflect.Slice {
				cur = schemaOf(cur.typ.Elem()) // a list element
				continue
			}
			return nil, i
		}
	}
	return cur, len(path)
}

// unknownKeyMsg explains why the key at path is not known, suggesting the nearest valid key.
func (s *schema) unknownKeyMsg(path []string) string {
	parent, _ := s.lookup(path[:len(path)-1])
	if parent != nil && parent.kind == mapKind && parent.checkKey != nil {
		return parent.checkKey(path[len(path)-1])
	}
	if parent != nil && parent.kind == leafKind {
		return fmt.Sprintf("unknown key: %s is a value, not a section", joinPath(path[:len(path)-1]))
	}
	return "unknown key" + suggestion(path, append(s.paths(nil, false), extendsKey))
}

// checkTree walks the YAML tree of one file against the schema. It records an unknown key at
// the line of the key, and a key with no value (null): a null section is dropped (returned, to
// be deleted before merging), a null leaf is an error.
func (s *schema) checkTree(root *schema, file string, n *yaml.Node, path []string, errs *ErrorList) (nullSections [][]string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode || (s.kind != structKind && s.kind != mapKind) {
		return nil // wrong shapes are reported by the strict decoder, with their type
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		p := append(slices.Clone(path), k.Value)
		if len(path) == 0 && k.Value == extendsKey {
			continue
		}
		if k.Tag == "!!merge" { // `<<: *anchor` merges the anchored mapping(s) here
			merged := []*yaml.Node{v}
			if v.Kind == yaml.SequenceNode {
				merged = v.Content
			}
			for _, m := range merged {
				nullSections = append(nullSections, s.checkTree(root, file, m, path, errs)...)
			}
			continue
		}
		var child *schema
		if s.kind == structKind {
			child = s.fields[k.Value]
		} else if s.checkKey == nil || s.checkKey(k.Value) == "" {
			child = s.elem
		}
		if child == nil {
			*errs = append(*errs, Problem{File: file, Line: k.Line, Key: joinPath(p), Msg: root.unknownKeyMsg(p), path: p})
			continue
		}
		if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
			if child.kind == leafKind {
				*errs = append(*errs, Problem{File: file, Line: k.Line, Key: joinPath(p), path: p,
					Msg: `no value given (write "" for an empty string, or remove the key)`})
			} else {
				nullSections = append(nullSections, p)
			}
			continue
		}
		nullSections = append(nullSections, child.checkTree(root, file, v, p, errs)...)
	}
	return nullSections
}

// suggestion returns " (did you mean X?)" for the candidate nearest to path, or "" when none
// is close. A candidate matches on its full path or on its last segment (a key written in the
// wrong section), and the short names of Aliases count as their full keys.
func suggestion(path []string, candidates []string) string {
	full, last := joinPath(path), path[len(path)-1]
	if key, ok := aliasKey(last); ok && slices.Contains(candidates, key) {
		return fmt.Sprintf(" (did you mean %s?)", key)
	}
	best, bestScore := "", -1
	for _, c := range candidates {
		segs := strings.Split(c, ".")
		score := min(levenshtein(full, c), levenshtein(last, segs[len(segs)-1])+1)
		if bestScore < 0 || score < bestScore {
			best, bestScore = c, score
		}
	}
	if bestScore < 0 || bestScore > 1+len(last)/3 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", best)
}

// levenshtein is the edit distance between a and b, counted in runes.
func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
