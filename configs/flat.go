package configs

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Flat returns the config as key path → value: every struct leaf (string, int, float64, bool),
// a map entry as "path.key" (e.g. "regress.tolerances.eval_loss.abs"), and a list (the sweep's)
// as one value. Empty maps and lists are left out.
func (c Config) Flat() map[string]any {
	out := map[string]any{}
	flatten(reflect.ValueOf(c), "", out)
	return out
}

func flatten(v reflect.Value, prefix string, out map[string]any) {
	join := func(name string) string {
		if prefix == "" {
			return name
		}
		return prefix + "." + name
	}
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
			flatten(v.Field(i), join(name), out)
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			flatten(v.MapIndex(k), join(k.String()), out)
		}
	case reflect.Slice:
		if v.Len() > 0 {
			out[prefix] = v.Interface()
		}
	default:
		out[prefix] = v.Interface()
	}
}

// AffectsResults reports whether a config key can change a run's numbers. Keys that cannot are
// left out of the run ID, and the report does not split runs into groups by them. They are: names and prose (name, description), where results go (output.dir), how
// they are shown or judged (report.*, regress.*), the sweep that produced the run (sweep.*), the
// preset's label (model.preset: its dimensions are hashed), scoring completions during training
// besides at the end (eval.generate_every; eval.samples and eval.max_new_tokens change the
// recorded scores, so they count), checkpoint frequency (resuming is exact), the divergence
// check (it only decides when a run is declared diverged, so a diverged run is trained again,
// never reused), where the GPU plugin lives (backend.plugin; backend.name is hashed), the order
// the cpu backend runs a step's operations in (backend.schedule: same results) and how a
// scheduler runs it (cluster.*).
func AffectsResults(key string) bool {
	switch key {
	case "name", "description", "output.dir", "model.preset", "eval.generate_every",
		"train.checkpoint_every", "train.divergence_factor", "backend.plugin", "backend.schedule":
		return false
	}
	for _, section := range []string{"report.", "regress.", "sweep.", "cluster."} {
		if strings.HasPrefix(key, section) {
			return false
		}
	}
	return true
}

// loraOff reports whether the LoRA keys are left out of c's run ID: with model.lora.rank 0
// LoRA is off and its other keys change nothing (and IDs stay those of before LoRA existed).
func (c Config) loraOff(key string) bool {
	return c.Model.LoRA.Rank == 0 && strings.HasPrefix(key, "model.lora.")
}

// idVersion prefixes the hashed text, so that a change in the canonical form changes every ID.
const idVersion = "sftlab-config-v1\n"

// Canonical returns the text the run ID hashes: a version line, then one "key=value" line per
// hashed key of Flat, sorted by key, each value in JSON.
func (c Config) Canonical() string {
	flat := c.Flat()
	var b strings.Builder
	b.WriteString(idVersion)
	for _, k := range sortedKeys(flat) {
		if !AffectsResults(k) || c.loraOff(k) {
			continue
		}
		v, err := json.Marshal(flat[k])
		if err != nil { // unreachable: Flat holds only scalars and lists of scalars
			v = fmt.Appendf(nil, "%q", fmt.Sprint(flat[k]))
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String()
}

// ID returns the run ID of c: the first 12 hex digits of the SHA-256 of Canonical. Keys that
// do not change what training computes are not hashed (see AffectsResults): name,
// description, output.dir, report.*, regress.*, sweep.*, model.preset (its dimensions are
// hashed), eval.generate_every, train.checkpoint_every, backend.plugin, cluster.*, and
// model.lora.* while model.lora.rank is 0.
func (c Config) ID() string {
	sum := sha256.Sum256([]byte(c.Canonical()))
	return hex.EncodeToString(sum[:])[:12]
}

// YAML renders the resolved config in the experiment-file schema, keys in declaration order
// (map keys sorted), for runs/NAME/RUN_ID/config.yaml. Loading the result gives back c.
func (c Config) YAML() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, fmt.Errorf("render config %q as YAML: %w", c.Name, err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("render config %q as YAML: %w", c.Name, err)
	}
	return b.Bytes(), nil
}

// Term is one key=value term of a run selector, its key a full key path.
type Term struct {
	Key, Value string
}

// ParseSelector reads a run selector: comma-separated key=value terms, each key a full key path
// or an Alias ("format=sft", "lr=1e-4,seed=1"), returned with full key paths. The empty selector
// has no terms. Config.Matches and the report's baseline selection both read selectors here.
func ParseSelector(selector string) ([]Term, error) {
	if strings.TrimSpace(selector) == "" {
		return nil, nil
	}
	var terms []Term
	for term := range strings.SplitSeq(selector, ",") {
		key, value, ok := strings.Cut(strings.TrimSpace(term), "=")
		if !ok {
			return nil, fmt.Errorf("selector %q: term %q: want key=value", selector, term)
		}
		if full, ok := aliasKey(key); ok {
			key = full
		}
		terms = append(terms, Term{Key: key, Value: value})
	}
	return terms, nil
}

// Matches reports whether c satisfies a selector (see ParseSelector), each value compared in
// FormatValue's rendering. An empty selector matches everything; an unknown key is an error.
func (c Config) Matches(selector string) (bool, error) {
	terms, err := ParseSelector(selector)
	if err != nil {
		return false, err
	}
	flat := c.Flat()
	for _, t := range terms {
		got, ok := flat[t.Key]
		if !ok {
			return false, fmt.Errorf("selector %q: %s: not a config key%s", selector, t.Key,
				suggestion(strings.Split(t.Key, "."), slices.Sorted(maps.Keys(flat))))
		}
		if FormatValue(got) != t.Value && fmt.Sprint(got) != t.Value {
			return false, nil
		}
	}
	return true, nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
