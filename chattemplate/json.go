package chattemplate

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/nikolalohinski/gonja/v2/exec"
)

// jsonEncoder writes values as Python's json.dumps does. Hand-written because Go's encoding/json
// differs from it in every setting chat templates see: it sorts map keys, escapes <, > and &,
// writes floats in another notation and has no ", " / ": " separators.
type jsonEncoder struct {
	ensureASCII bool
	sortKeys    bool
	indented    bool   // indent was given (even "" or 0: then newlines without spaces)
	indent      string // one level of indentation
	itemSep     string
	keySep      string
}

// encode writes v at nesting depth level.
func (e *jsonEncoder) encode(b *strings.Builder, v any, level int) error {
	if val, ok := v.(*exec.Value); ok {
		if val.IsNil() {
			b.WriteString("null")
			return nil
		}
		v = val.Interface()
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
		return nil
	case string:
		e.writeString(b, x)
		return nil
	case bool:
		b.WriteString(strconv.FormatBool(x))
		return nil
	case exec.Dict:
		return e.encodeDict(b, &x, level)
	case *exec.Dict:
		return e.encodeDict(b, x, level)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		b.WriteString(strconv.FormatInt(rv.Int(), 10))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		b.WriteString(strconv.FormatUint(rv.Uint(), 10))
	case reflect.Float32, reflect.Float64:
		b.WriteString(pyFloat(rv.Float()))
	case reflect.Slice, reflect.Array:
		items := make([]any, rv.Len())
		for i := range items {
			items[i] = rv.Index(i).Interface()
		}
		return e.encodeList(b, items, level)
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("map with %s keys", rv.Type().Key())
		}
		d := exec.NewDict()
		keys := rv.MapKeys()
		// A Go map has no order; sorted keys make the output deterministic.
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			d.Pairs = append(d.Pairs, &exec.Pair{Key: exec.AsValue(k.String()), Value: exec.AsValue(rv.MapIndex(k).Interface())})
		}
		return e.encodeDict(b, d, level)
	case reflect.Pointer:
		if rv.IsNil() {
			b.WriteString("null")
			return nil
		}
		return e.encode(b, rv.Elem().Interface(), level)
	default:
		return fmt.Errorf("cannot encode %T as JSON", v)
	}
	return nil
}

func (e *jsonEncoder) newline(b *strings.Builder, level int) {
	if e.indented {
		b.WriteByte('\n')
		for range level {
			b.WriteString(e.indent)
		}
	}
}

func (e *jsonEncoder) encodeList(b *strings.Builder, items []any, level int) error {
	if len(items) == 0 {
		b.WriteString("[]")
		return nil
	}
	b.WriteByte('[')
	for i, item := range items {
		if i > 0 {
			b.WriteString(e.itemSep)
		}
		e.newline(b, level+1)
		if err := e.encode(b, item, level+1); err != nil {
			return err
		}
	}
	e.newline(b, level)
	b.WriteByte(']')
	return nil
}

func (e *jsonEncoder) encodeDict(b *strings.Builder, d *exec.Dict, level int) error {
	if len(d.Pairs) == 0 {
		b.WriteString("{}")
		return nil
	}
	pairs := d.Pairs
	if e.sortKeys {
		pairs = slices.Clone(pairs)
		slices.SortStableFunc(pairs, func(a, b *exec.Pair) int { return strings.Compare(a.Key.String(), b.Key.String()) })
	}
	b.WriteByte('{')
	for i, p := range pairs {
		if i > 0 {
			b.WriteString(e.itemSep)
		}
		e.newline(b, level+1)
		if !p.Key.IsString() {
			return fmt.Errorf("key %s is not a string", p.Key.String())
		}
		e.writeString(b, p.Key.String())
		b.WriteString(e.keySep)
		if err := e.encode(b, p.Value, level+1); err != nil {
			return err
		}
	}
	e.newline(b, level)
	b.WriteByte('}')
	return nil
}

// writeString writes s quoted as json.dumps does: ", \ and control characters escaped (\n, \r,
// \t, \b, \f by name, others as \u00XX) and, with ensure_ascii, every non-ASCII rune as \uXXXX
// (UTF-16 surrogate pairs above U+FFFF).
func (e *jsonEncoder) writeString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case e.ensureASCII && r > 0x7e:
				if r > 0xffff {
					hi, lo := utf16.EncodeRune(r)
					fmt.Fprintf(b, `\u%04x\u%04x`, hi, lo)
				} else {
					fmt.Fprintf(b, `\u%04x`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}

// pyFloat formats f as Python's float repr (which json.dumps uses): the shortest digits that
// read back to f, in positional notation with ".0" when the exponent is in [-4, 16), otherwise
// as d.ddde+XX; NaN and Infinity as json.dumps writes them.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expStr, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expStr)
	if exp < -4 || exp >= 16 {
		sign := "+"
		if exp < 0 {
			sign, exp = "-", -exp
		}
		return fmt.Sprintf("%se%s%02d", mant, sign, exp)
	}
	s = strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".") {
		s += ".0"
	}
	return s
}
