package configs

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// SweepOverride records a --set of a key that the sweep varies. The --set wins: the key's axis
// is replaced by the one value given (a grid axis of one value, so that run names still show
// it), and that value is validated like any other run value.
type SweepOverride struct {
	// Key is the key path set, e.g. "train.learning_rate".
	Key string
	// Axis is where the sweep varied it: "sweep.grid.KEY", "sweep.zip.KEY" or "sweep.seeds".
	Axis string
	// Values are the values the sweep gave it.
	Values []any
	// Value is the value of the --set.
	Value any
	// Runs and RunsBefore count the sweep's runs after and before the replacement.
	Runs, RunsBefore int
}

// String describes the replacement for the log, with the flag that sweeps the key instead.
func (o SweepOverride) String() string {
	vals := make([]string, len(o.Values))
	for i, v := range o.Values {
		vals[i] = FormatValue(v)
	}
	runs := "runs"
	if o.Runs == 1 {
		runs = "run"
	}
	return fmt.Sprintf("--set %s=%s replaces the swept values %s [%s]: %d %s instead of %d (to sweep other values, --set '%s=[...]')",
		o.Key, FormatValue(o.Value), o.Axis, strings.Join(vals, ", "), o.Runs, runs, o.RunsBefore, setSweepKey(o))
}

// setSweepKey is the --set key that sweeps the key of o.
func setSweepKey(o SweepOverride) string {
	if o.Axis == "sweep.seeds" {
		return "sweep.seeds"
	}
	return "sweep.grid." + o.Key
}

// size is the number of runs the sweep expands to (1 for none), saturating at math.MaxInt.
func (s Sweep) size() int {
	n := 1
	mul := func(k int) {
		if k > 0 && n > math.MaxInt/k {
			n = math.MaxInt
			return
		}
		n *= k
	}
	for _, v := range s.Grid {
		mul(len(v))
	}
	for _, k := range slices.Sorted(maps.Keys(s.Zip)) {
		mul(len(s.Zip[k]))
		break // the zipped lists advance together
	}
	if len(s.Seeds) > 0 {
		mul(len(s.Seeds))
	}
	return n
}

// applySetsToSweep replaces the sweep axis of every key that the --set layer sets and the
// sweep varies by that one value, and returns what it replaced. A key that the --set layer
// both sets and sweeps is a problem: the two flags contradict each other.
func applySetsToSweep(s *Sweep, set *layer, errs *ErrorList) []SweepOverride {
	if set == nil || set.k == nil {
		return nil
	}
	// sweptBySet reports whether the --set layer itself sets the axis, or the section holding it.
	sweptBySet := func(axis string) bool {
		section, _, _ := strings.Cut(strings.TrimPrefix(axis, "sweep."), ".")
		return set.set["sweep"] || set.set["sweep."+section] || set.set[axis]
	}
	var out []SweepOverride
	before := s.size()
	// explicit reports whether a --set names key or a section above it (a preset's dimensions,
	// which model.preset adds to the layer, are not the user's --set of them).
	explicit := func(key string) bool {
		for p := key; ; {
			if set.set[p] {
				return true
			}
			i := strings.LastIndex(p, ".")
			if i < 0 {
				return false
			}
			p = p[:i]
		}
	}
	for _, key := range set.k.Keys() {
		if key == "sweep" || strings.HasPrefix(key, "sweep.") || !explicit(key) {
			continue
		}
		var axis string
		var values []any
		if v, ok := s.Grid[key]; ok {
			axis, values = "sweep.grid."+key, v
		} else if v, ok := s.Zip[key]; ok {
			axis, values = "sweep.zip."+key, v
		} else if key == "train.seed" && len(s.Seeds) > 0 {
			axis = "sweep.seeds"
			for _, seed := range s.Seeds {
				values = append(values, seed)
			}
		} else {
			continue
		}
		if sweptBySet(axis) {
			*errs = append(*errs, Problem{File: setFile, Key: key, path: strings.Split(key, "."),
				Msg: fmt.Sprintf("also swept by --set %s: give one or the other", axis)})
			continue
		}
		o := SweepOverride{Key: key, Axis: axis, Values: values, Value: set.k.Get(key), RunsBefore: before}
		switch {
		case strings.HasPrefix(axis, "sweep.zip."):
			s.Zip = maps.Clone(s.Zip)
			delete(s.Zip, key)
		case axis == "sweep.seeds":
			s.Seeds = nil
		}
		s.Grid = maps.Clone(s.Grid)
		if s.Grid == nil {
			s.Grid = map[string][]any{}
		}
		s.Grid[key] = []any{o.Value}
		out = append(out, o)
	}
	for i := range out {
		out[i].Runs = s.size()
	}
	return out
}
