package configs

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/v2"
)

// decode decodes the merged map onto cfg strictly: unknown keys and values of the wrong type
// are problems, never ignored or converted (an integer is accepted where a number is wanted).
// With knownUnknown, the decoder's own unknown-key reports are dropped: the YAML walk already
// reported them with their lines.
func decode(k *koanf.Koanf, cfg *Config, knownUnknown bool) ErrorList {
	return decodeMap(k.Raw(), cfg, knownUnknown)
}

// decodeMap is decode of a nested map, which it only reads: the sweep's runs decode maps that
// share their unswept parts (see overlay).
func decodeMap(m map[string]any, cfg *Config, knownUnknown bool) ErrorList {
	dc := decoderConfig()
	dc.Result = cfg
	d, err := mapstructure.NewDecoder(dc)
	if err == nil {
		err = d.Decode(m)
	}
	var errs ErrorList
	collectDecodeErrors(err, &errs, knownUnknown)
	var sch *schema
	for i, p := range errs {
		if p.Msg != errWrongType {
			continue
		}
		if sch == nil {
			sch = newConfigSchema()
		}
		want := "another type"
		if s, _ := sch.lookup(p.path); s != nil {
			want = typeWant(s.typ)
		}
		errs[i].Msg = fmt.Sprintf("wrong type: want %s, got %s", want, describeValue(valueAt(m, p.path)))
	}
	return errs
}

// errWrongType marks a problem whose message decode writes from the schema and the value.
const errWrongType = "wrong type"

// valueAt returns the value at path in a nested map (list elements by index).
func valueAt(v any, path []string) any {
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i, err := strconv.Atoi(seg)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// decoderConfig is the strict mapstructure configuration: koanf's default turns on weak typing
// ("30" → 30, 1 → true) and ignores unknown keys.
func decoderConfig() *mapstructure.DecoderConfig {
	return &mapstructure.DecoderConfig{
		ErrorUnused:      true,
		WeaklyTypedInput: false,
		TagName:          "yaml",
		DecodeHook:       refuseFloatToInt,
	}
}

// errNotInteger is returned for a fractional number (or a number in float notation) where an
// integer is wanted: mapstructure would truncate it silently.
type errNotInteger struct{ v any }

func (e errNotInteger) Error() string {
	return fmt.Sprintf("wrong type: want an integer, got %s", describeValue(e.v))
}

func refuseFloatToInt(from, to reflect.Type, data any) (any, error) {
	if to.Kind() == reflect.Int && (from.Kind() == reflect.Float64 || from.Kind() == reflect.Float32) {
		return nil, errNotInteger{data}
	}
	return data, nil
}

// collectDecodeErrors flattens mapstructure's error tree into problems keyed by path.
func collectDecodeErrors(err error, errs *ErrorList, knownUnknown bool) {
	if err == nil {
		return
	}
	if de, ok := err.(*mapstructure.DecodeError); ok {
		inner := de.Unwrap()
		if hasDecodeError(inner) {
			collectDecodeErrors(inner, errs, knownUnknown)
			return
		}
		msg := errWrongType
		var ni errNotInteger
		switch {
		case errors.As(inner, &ni):
			msg = ni.Error()
		case strings.HasPrefix(inner.Error(), "has invalid keys"):
			if knownUnknown {
				return
			}
			msg = "unknown keys: " + strings.TrimPrefix(inner.Error(), "has invalid keys: ")
		}
		p := splitDecodeName(de.Name())
		*errs = append(*errs, Problem{Key: joinPath(p), Msg: msg, path: p})
		return
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			collectDecodeErrors(e, errs, knownUnknown)
		}
		return
	}
	if u := errors.Unwrap(err); u != nil {
		collectDecodeErrors(u, errs, knownUnknown)
		return
	}
	*errs = append(*errs, Problem{Msg: err.Error()})
}

func hasDecodeError(err error) bool {
	if _, ok := err.(*mapstructure.DecodeError); ok {
		return true
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return slices.ContainsFunc(j.Unwrap(), hasDecodeError)
	}
	return false
}

// splitDecodeName turns mapstructure's field name ("sweep.grid[data.format][1]") into path
// segments (["sweep", "grid", "data.format", "1"]).
func splitDecodeName(name string) []string {
	var out []string
	for name != "" {
		if name[0] == '[' {
			end := strings.IndexByte(name, ']')
			if end < 0 {
				out = append(out, name[1:])
				break
			}
			out = append(out, name[1:end])
			name = strings.TrimPrefix(name[end+1:], ".")
			continue
		}
		end := strings.IndexAny(name, ".[")
		if end < 0 {
			out = append(out, name)
			break
		}
		out = append(out, name[:end])
		name = strings.TrimPrefix(name[end:], ".")
	}
	return out
}

// typeWant describes the type a key wants.
func typeWant(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Int:
		return "an integer"
	case reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Struct, reflect.Map:
		return "a mapping of keys"
	case reflect.Slice:
		return "a list"
	default:
		return t.String()
	}
}
