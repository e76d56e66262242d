package configs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	kyaml "github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/rawbytes"
	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// readChain reads the experiment file and every base it extends, and returns them as layers,
// deepest base first. It returns nil layers when the chain cannot be read (the reasons are in
// errs), and an error only when the experiment file itself cannot be read.
func readChain(path string, sch *schema, errs *ErrorList) ([]*layer, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("load experiment %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("load experiment %s: %w", path, err)
	}
	src := source{id: abs, display: displayPath(abs), data: data}
	var layers []*layer
	seen := map[string]bool{}
	var chain []string
	for {
		if seen[src.id] {
			*errs = append(*errs, Problem{File: chain[len(chain)-1], Key: extendsKey, path: []string{extendsKey},
				Msg: fmt.Sprintf("extends cycle: %s -> %s", strings.Join(chain, " -> "), src.display)})
			return nil, nil
		}
		if len(chain) == maxChain {
			*errs = append(*errs, Problem{File: src.display, Key: extendsKey,
				Msg: fmt.Sprintf("extends chain longer than %d files", maxChain)})
			return nil, nil
		}
		seen[src.id] = true
		chain = append(chain, src.display)
		l, extends, ok := readLayer(src, len(layers) == 0, sch, errs)
		if !ok {
			return nil, nil
		}
		layers = append([]*layer{l}, layers...)
		if extends == "" {
			return layers, nil
		}
		next, tried := src.resolve(extends)
		if next == nil {
			line, _ := l.line([]string{extendsKey})
			*errs = append(*errs, Problem{File: l.file, Line: line, Key: extendsKey, path: []string{extendsKey},
				Msg: fmt.Sprintf("%s not found (tried %s)", extends, strings.Join(tried, ", "))})
			return nil, nil
		}
		src = *next
	}
}

// source is one file of the chain, on disk or embedded.
type source struct {
	id       string // absolute path, or builtin:configs/NAME.yaml
	display  string
	data     []byte
	embedded bool
}

// resolve finds the file that src's `extends: rel` names (see the package doc for the order)
// and returns it with the list of places tried.
func (src source) resolve(rel string) (*source, []string) {
	var tried []string
	try := func(abs string) *source {
		if slices.Contains(tried, displayPath(abs)) {
			return nil
		}
		tried = append(tried, displayPath(abs))
		data, err := os.ReadFile(abs)
		if err != nil {
			return nil
		}
		return &source{id: abs, display: displayPath(abs), data: data}
	}
	tryBuiltin := func(name string) *source {
		name = path.Clean(name)
		display := builtinPrefix + name
		if slices.Contains(tried, display) || !strings.HasPrefix(name, builtinDir+"/") {
			return nil
		}
		tried = append(tried, display)
		data, err := fs.ReadFile(builtinFS, strings.TrimPrefix(name, builtinDir+"/"))
		if err != nil {
			return nil
		}
		return &source{id: display, display: display, data: data, embedded: true}
	}
	rel = filepath.ToSlash(rel)
	if src.embedded {
		dir := path.Dir(strings.TrimPrefix(src.id, builtinPrefix))
		for _, name := range []string{path.Join(dir, rel), rel} {
			if s := tryBuiltin(name); s != nil {
				return s, tried
			}
		}
		return nil, tried
	}
	if filepath.IsAbs(rel) {
		if s := try(rel); s != nil {
			return s, tried
		}
		return nil, tried
	}
	dir := filepath.Dir(src.id)
	candidates := []string{filepath.Join(dir, rel), filepath.Join(repoRoot(dir), rel)}
	if wd, err := os.Getwd(); err == nil {
		candidates = append(candidates, filepath.Join(repoRoot(wd), rel))
	}
	for _, c := range candidates {
		if s := try(c); s != nil {
			return s, tried
		}
	}
	if s := tryBuiltin(rel); s != nil {
		return s, tried
	}
	return nil, tried
}

// repoRoot returns the nearest directory at or above dir that holds go.mod or .git, or dir.
func repoRoot(dir string) string {
	for d := dir; ; d = filepath.Dir(d) {
		for _, marker := range []string{"go.mod", ".git"} {
			if _, err := os.Stat(filepath.Join(d, marker)); err == nil {
				return d
			}
		}
		if filepath.Dir(d) == d {
			return dir
		}
	}
}

// displayPath shows abs relative to the working directory when it lies below it.
func displayPath(abs string) string {
	wd, err := os.Getwd()
	if err != nil {
		return abs
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return abs
	}
	return rel
}

// yamlLine finds "line N" in a YAML parser error.
var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlProblem turns a YAML parser error into a problem at its line.
func yamlProblem(file string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0] // e.g. a duplicate key: "line 3: mapping key ... already defined at line 2"
	}
	p := Problem{File: file, Msg: "malformed YAML: " + msg}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		p.Line, _ = strconv.Atoi(m[1])
		p.Msg = "malformed YAML: " + m[2]
	}
	return p
}

// readLayer parses one file into a layer and returns the path it extends. A problem that makes
// the file unusable (malformed YAML, not a mapping) returns ok = false; unknown keys are
// recorded and the file is still used, so that type errors are reported too.
func readLayer(src source, top bool, sch *schema, errs *ErrorList) (l *layer, extends string, ok bool) {
	l = &layer{file: src.display}
	var doc yaml.Node
	if err := yaml.Unmarshal(src.data, &doc); err != nil {
		*errs = append(*errs, yamlProblem(src.display, err))
		return nil, "", false
	}
	root := &yaml.Node{Kind: yaml.MappingNode}
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		root = &yaml.Node{Kind: yaml.MappingNode}
	}
	if root.Kind != yaml.MappingNode {
		*errs = append(*errs, Problem{File: src.display, Line: root.Line,
			Msg: "the file must be a mapping of keys to values (e.g. `train:` with `max_steps: 30` below it)"})
		return nil, "", false
	}
	l.doc = root
	nulls := sch.checkTree(sch, src.display, root, nil, errs)

	l.k = koanf.New(".")
	if err := l.k.Load(rawbytes.Provider(src.data), kyaml.Parser()); err != nil {
		*errs = append(*errs, yamlProblem(src.display, err))
		return nil, "", false
	}
	for _, p := range nulls {
		l.k.Delete(joinPath(p))
	}
	if v := l.k.Get(extendsKey); v != nil {
		s, isString := v.(string)
		if !isString || s == "" {
			line, _ := l.line([]string{extendsKey})
			*errs = append(*errs, Problem{File: src.display, Line: line, Key: extendsKey,
				Msg: fmt.Sprintf("want the path of a base file, got %s", describeValue(v))})
			return nil, "", false
		}
		extends = s
	}
	l.k.Delete(extendsKey)
	if !top {
		l.k.Delete("name") // a base never names the experiment
	}
	return l, extends, true
}

// line returns the line of the key at path in this layer's file, if the file sets it.
func (l *layer) line(path []string) (int, bool) {
	if l.doc == nil {
		return 0, false
	}
	n, line := l.doc, 0
	for _, seg := range path {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		switch n.Kind {
		case yaml.MappingNode:
			found := false
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == seg {
					line, n, found = n.Content[i].Line, n.Content[i+1], true
					break
				}
			}
			if !found {
				return 0, false
			}
		case yaml.SequenceNode:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(n.Content) {
				return 0, false
			}
			n = n.Content[i]
			line = n.Line
		default:
			return 0, false
		}
	}
	return line, true
}

// locate fills in the file and line of a problem: the highest-priority layer that sets its key
// (or, for a --set, a prefix of it). A key no layer sets keeps its default, so the problem is
// put on the experiment file.
func locate(p Problem, layers []*layer) Problem {
	if p.path == nil && p.Key != "" {
		p.path = strings.Split(p.Key, ".")
	}
	if p.Key == "" {
		p.Key = joinPath(p.path)
	}
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		if l.set != nil {
			for n := len(p.path); n > 0; n-- {
				if l.set[joinPath(p.path[:n])] {
					p.File, p.Key = setFile, joinPath(p.path[:n])
					if n < len(p.path) {
						p.Msg = joinPath(p.path) + ": " + p.Msg
					}
					return p
				}
			}
			continue
		}
		if line, ok := l.line(p.path); ok {
			p.File, p.Line = l.file, line
			return p
		}
	}
	for i := len(layers) - 1; i >= 0; i-- {
		if layers[i].set == nil {
			p.File = layers[i].file // the default applies: name the experiment file
			break
		}
	}
	return p
}
