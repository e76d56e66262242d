package configs

import (
	"errors"
	"fmt"
	"strings"

	"github.com/knadh/koanf/v2"
	"go.yaml.in/yaml/v3"
)

// parseSets turns the --set flags into the top layer.
func parseSets(sets []string, sch *schema, errs *ErrorList) *layer {
	l := &layer{file: setFile, set: map[string]bool{}, k: koanf.New(".")}
	values := map[string]any{}
	for _, s := range sets {
		key, raw, ok := strings.Cut(s, "=")
		key = strings.TrimSpace(key)
		if !ok || key == "" {
			*errs = append(*errs, Problem{File: setFile, Key: s, Msg: "want key=value, e.g. --set train.learning_rate=1e-4"})
			continue
		}
		p := splitSetKey(key)
		if key == extendsKey {
			*errs = append(*errs, Problem{File: setFile, Key: key, Msg: "extends cannot be overridden: edit the file"})
			continue
		}
		child, n := sch.lookup(p)
		if child == nil {
			*errs = append(*errs, Problem{File: setFile, Key: key, Msg: sch.unknownKeyMsg(p[:n+1]), path: p})
			continue
		}
		var node yaml.Node
		var v any
		if strings.TrimSpace(raw) == "" {
			v = ""
		} else if err := yaml.Unmarshal([]byte(raw), &node); err != nil {
			*errs = append(*errs, Problem{File: setFile, Key: key, path: p,
				Msg: fmt.Sprintf("value %q is not valid YAML: %s", raw, strings.TrimPrefix(err.Error(), "yaml: "))})
			continue
		} else {
			if len(node.Content) > 0 {
				child.checkTree(sch, setFile, node.Content[0], p, errs)
			}
			if err := node.Decode(&v); err != nil || v == nil {
				*errs = append(*errs, Problem{File: setFile, Key: key, path: p, Msg: fmt.Sprintf("value %q is null: give a value (for an empty string write %s=)", raw, key)})
				continue
			}
		}
		setPath(values, p, v)
		l.set[joinPath(p)] = true
	}
	if err := l.k.Load(mapProvider(values), nil); err != nil {
		*errs = append(*errs, Problem{File: setFile, Msg: err.Error()})
	}
	return l
}

// splitSetKey splits a --set key path; under sweep.grid and sweep.zip the rest is one key.
func splitSetKey(key string) []string {
	p := strings.Split(key, ".")
	if len(p) > 2 && p[0] == "sweep" && (p[1] == "grid" || p[1] == "zip") {
		return []string{p[0], p[1], strings.Join(p[2:], ".")}
	}
	return p
}

// setPath sets m[p0][p1]...= v, creating the maps on the way.
func setPath(m map[string]any, p []string, v any) {
	for _, seg := range p[:len(p)-1] {
		next, ok := m[seg].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[seg] = next
		}
		m = next
	}
	m[p[len(p)-1]] = v
}

// mapProvider is a koanf.Provider over an already parsed map.
type mapProvider map[string]any

// ReadBytes is not supported: the map is already parsed.
func (m mapProvider) ReadBytes() ([]byte, error) {
	return nil, errors.New("mapProvider: no bytes, use Read")
}

// Read returns the map.
func (m mapProvider) Read() (map[string]any, error) { return m, nil }

// applyPreset sets the dimensions of the model preset a layer names, except those the layer
// sets itself. An unknown preset is left for Validate to report.
func applyPreset(k *koanf.Koanf) {
	name, ok := k.Get("model.preset").(string)
	if !ok {
		return
	}
	size, ok := Preset(name)
	if !ok {
		return
	}
	for key, v := range map[string]int{"d_model": size.DModel, "n_heads": size.NHeads,
		"n_layers": size.NLayers, "d_mlp": size.DMLP, "context": size.Context} {
		if !k.Exists("model." + key) {
			_ = k.Set("model."+key, v) // Set fails only for an empty key
		}
	}
}
