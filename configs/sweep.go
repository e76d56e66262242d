package configs

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Param is one swept key and the value it takes in a run.
type Param struct {
	// Key is the full key path, e.g. "train.learning_rate".
	Key string
	// Value is the value as decoded from YAML: string, int, float64 or bool.
	Value any
}

// aliases are the short names of the keys most often swept, used in run names and selectors.
var aliases = [...]struct{ key, short string }{
	{"data.format", "format"},
	{"data.masking", "masking"},
	{"data.padding", "padding"},
	{"data.packing", "packing"},
	{"model.lora.rank", "rank"},
	{"model.preset", "preset"},
	{"train.batch_size", "batch"},
	{"train.learning_rate", "lr"},
	{"train.max_steps", "steps"},
	{"train.seed", "seed"},
	{"train.warmup_steps", "warmup"},
}

// Alias returns the short name of a key path used in run names ("train.learning_rate" →
// "lr"), or the key path itself when it has none.
func Alias(key string) string {
	for _, a := range aliases {
		if a.key == key {
			return a.short
		}
	}
	return key
}

// aliasKey returns the key path of a short name.
func aliasKey(short string) (string, bool) {
	for _, a := range aliases {
		if a.short == short {
			return a.key, true
		}
	}
	return "", false
}

// String renders the parameter as "alias=value", e.g. "lr=1e-4".
func (p Param) String() string { return Alias(p.Key) + "=" + FormatValue(p.Value) }

// FormatValue renders a config value compactly for run names and selectors: floats in the
// shorter of plain and exponent notation (0.0001 → "1e-4", 0.01 → "0.01").
func FormatValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case float32:
		return FormatValue(float64(x))
	case float64:
		plain := strconv.FormatFloat(x, 'g', -1, 64)
		mant, exp, ok := strings.Cut(strconv.FormatFloat(x, 'e', -1, 64), "e")
		if !ok {
			return plain
		}
		sign := ""
		if exp[0] == '-' {
			sign = "-"
		}
		exp = strings.TrimLeft(exp[1:], "0")
		if exp == "" {
			return plain
		}
		if e := mant + "e" + sign + exp; len(e) < len(plain) {
			return e
		}
		return plain
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// RunName joins the parameters into a run name ("format=sft,lr=1e-4,seed=1"), or returns
// "default" for a run with none.
func RunName(params []Param) string {
	if len(params) == 0 {
		return "default"
	}
	parts := make([]string, len(params))
	for i, p := range params {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

// sweepAxis is one dimension of the expansion: one or more keys advanced together.
type sweepAxis struct {
	section string   // "grid", "zip" or "seeds": where the values are written
	keys    []string // key paths
	values  [][]any  // values[i][j] is the value of keys[j] at step i
}

// point is one sweep point: its parameters and, for each, where in the sweep it was written.
type point struct {
	params []Param
	origin map[string][]string // key → YAML path of the value, e.g. sweep.grid.<key>.<i>
}

// axes returns the sweep's axes in expansion order: the grid keys sorted, then the zip keys
// as one axis, then the seeds. The shape must have been validated (validateSweep).
func (s Sweep) axes() []sweepAxis {
	var out []sweepAxis
	for _, k := range slices.Sorted(maps.Keys(s.Grid)) {
		ax := sweepAxis{section: "grid", keys: []string{k}}
		for _, v := range s.Grid[k] {
			ax.values = append(ax.values, []any{v})
		}
		out = append(out, ax)
	}
	if len(s.Zip) > 0 {
		ax := sweepAxis{section: "zip", keys: slices.Sorted(maps.Keys(s.Zip))}
		for i := range s.Zip[ax.keys[0]] {
			row := make([]any, len(ax.keys))
			for j, k := range ax.keys {
				row[j] = s.Zip[k][i]
			}
			ax.values = append(ax.values, row)
		}
		out = append(out, ax)
	}
	if len(s.Seeds) > 0 {
		ax := sweepAxis{section: "seeds", keys: []string{"train.seed"}}
		for _, seed := range s.Seeds {
			ax.values = append(ax.values, []any{seed})
		}
		out = append(out, ax)
	}
	return out
}

// points expands the sweep into its Cartesian product, the last axis varying fastest. An
// empty sweep has one point with no parameters.
func (s Sweep) points() []point {
	pts := []point{{origin: map[string][]string{}}}
	for _, ax := range s.axes() {
		var next []point
		for _, pt := range pts {
			for i, row := range ax.values {
				np := point{params: slices.Clone(pt.params), origin: maps.Clone(pt.origin)}
				for j, k := range ax.keys {
					np.params = append(np.params, Param{Key: k, Value: row[j]})
					if ax.section == "seeds" {
						np.origin[k] = []string{"sweep", "seeds", strconv.Itoa(i)}
					} else {
						np.origin[k] = []string{"sweep", ax.section, k, strconv.Itoa(i)}
					}
				}
				next = append(next, np)
			}
		}
		pts = next
	}
	for i := range pts {
		slices.SortFunc(pts[i].params, func(a, b Param) int { return strings.Compare(a.Key, b.Key) })
	}
	return pts
}

// validateSweep checks the shape of the sweep: known keys, non-empty lists, zip lists of one
// length, and no key set by two axes. Values are checked per run, after decoding.
func (s Sweep) validateSweep(errs *ErrorList) {
	sch := newConfigSchema()
	seen := map[string]string{}
	for _, section := range []string{"grid", "zip"} {
		m := s.Grid
		if section == "zip" {
			m = s.Zip
		}
		zipLen, zipFirst := -1, ""
		for _, k := range slices.Sorted(maps.Keys(m)) {
			path := []string{"sweep", section, k}
			if msg := sch.fields["sweep"].fields[section].checkKey(k); msg != "" {
				errs.add(path, "%s", msg)
				continue
			}
			if prev, ok := seen[k]; ok {
				errs.add(path, "also swept in sweep.%s: a key may appear in one axis only", prev)
			}
			seen[k] = section
			if len(m[k]) == 0 {
				errs.add(path, "empty list: give at least one value")
			}
			if section == "zip" {
				if zipLen < 0 {
					zipLen, zipFirst = len(m[k]), k
				} else if len(m[k]) != zipLen {
					errs.add(path, "has %d values but sweep.zip.%s has %d: zipped lists advance together and must have the same length",
						len(m[k]), zipFirst, zipLen)
				}
			}
		}
	}
	if len(s.Seeds) > 0 {
		if prev, ok := seen["train.seed"]; ok {
			errs.add([]string{"sweep", "seeds"}, "train.seed is also swept in sweep.%s: use one or the other", prev)
		}
	}
}
