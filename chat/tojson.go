package chat

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/ardanlabs/jinja"
)

// tojson replaces the engine's tojson filter. ardanlabs/jinja v1.8.0
// encodes tojson(indent=N) through encoding/json on Go maps, which sorts
// object keys and escapes <, > and & — unlike Hugging Face (transformers
// and @huggingface/jinja), which keep insertion order and escape only
// what JSON requires; Llama 3.x templates print every tool definition
// that way. This encoder keeps key order in both forms, matches
// JSON.stringify's string escaping, and uses "," plus newlines when
// indenting (Python's json.dumps with indent). The engine takes a filter
// it does not have from the render's variables, so Parse renames the
// template's tojson filter to tojsonName and Render passes this function
// under that name.
const tojsonName = "__loom_tojson"

func tojson(args []jinja.Value, kwargs map[string]jinja.Value) (jinja.Value, error) {
	if len(args) == 0 {
		return jinja.Undefined(), fmt.Errorf("tojson: missing value")
	}
	itemSep, keySep := ", ", ": "
	indent, indented := "", false
	if v, ok := kwargs["indent"]; ok && !v.IsNone() && !v.IsUndefined() {
		switch {
		case v.IsInt():
			indent = strings.Repeat(" ", int(max(0, min(v.AsInt(), 64))))
		case v.IsString():
			indent = v.AsString()
		default:
			return jinja.Undefined(), fmt.Errorf("tojson: indent is %s, want a number or a string", v)
		}
		itemSep, indented = ",", true
	}
	if v, ok := kwargs["separators"]; ok && !v.IsNone() && !v.IsUndefined() {
		if !v.IsList() || v.AsList().Len() != 2 || !v.AsList().Get(0).IsString() || !v.AsList().Get(1).IsString() {
			return jinja.Undefined(), fmt.Errorf("tojson: separators must be two strings")
		}
		itemSep, keySep = v.AsList().Get(0).AsString(), v.AsList().Get(1).AsString()
	}
	e := jsonEncoder{indent: indent, indented: indented, itemSep: itemSep, keySep: keySep}
	if err := e.value(args[0], 0); err != nil {
		return jinja.Undefined(), err
	}
	return jinja.NewString(e.b.String()), nil
}

type jsonEncoder struct {
	b        strings.Builder
	indent   string
	indented bool
	itemSep  string
	keySep   string
}

func (e *jsonEncoder) newline(depth int) {
	if e.indented {
		e.b.WriteByte('\n')
		for range depth {
			e.b.WriteString(e.indent)
		}
	}
}

func (e *jsonEncoder) value(v jinja.Value, depth int) error {
	switch {
	case v.IsUndefined(), v.IsNone(), v.IsCallable():
		e.b.WriteString("null")
	case v.IsBool():
		e.b.WriteString(strconv.FormatBool(v.AsBool()))
	case v.IsInt():
		e.b.WriteString(strconv.FormatInt(v.AsInt(), 10))
	case v.IsFloat():
		f := v.AsFloat()
		if math.IsInf(f, 0) || math.IsNaN(f) {
			e.b.WriteString("null") // as JSON.stringify
			return nil
		}
		e.b.WriteString(strconv.FormatFloat(f, 'g', -1, 64))
	case v.IsString():
		writeJSONString(&e.b, v.AsString())
	case v.IsList():
		items := v.AsList().Items
		if len(items) == 0 {
			e.b.WriteString("[]")
			return nil
		}
		e.b.WriteByte('[')
		for i, it := range items {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(depth + 1)
			if err := e.value(it, depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.b.WriteByte(']')
	case v.IsDict():
		d := v.AsDict()
		if d.Len() == 0 {
			e.b.WriteString("{}")
			return nil
		}
		e.b.WriteByte('{')
		for i, k := range d.Keys {
			if i > 0 {
				e.b.WriteString(e.itemSep)
			}
			e.newline(depth + 1)
			writeJSONString(&e.b, k)
			e.b.WriteString(e.keySep)
			if err := e.value(d.Data[k], depth+1); err != nil {
				return err
			}
		}
		e.newline(depth)
		e.b.WriteByte('}')
	default:
		e.b.WriteString("null")
	}
	return nil
}

// writeJSONString writes s as JSON.stringify does: only ", \ and control
// characters escaped (invalid UTF-8 becomes U+FFFD).
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
