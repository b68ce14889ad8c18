package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ardanlabs/jinja"
)

// Filters and tests github.com/ardanlabs/jinja v1.8.0 implements (its
// registerFilters and evalTest). Parse refuses a template that uses any
// other, naming it; the engine itself would only fail when a render
// reaches the use.
var (
	knownFilters = []string{"abs", "batch", "capitalize", "count", "d", "default", "dictsort", "e", "escape",
		"first", "float", "from_json", "fromjson", "indent", "int", "items", "join", "last", "length", "list",
		"lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse", "round", "safe", "select",
		"selectattr", "sort", "string", "sum", "title", "tojson", "trim", "unique", "upper", "wordcount"}
	knownTests = []string{"boolean", "callable", "defined", "eq", "equalto", "even", "false", "float", "ge", "greaterthan",
		"gt", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping", "ne", "none", "number", "odd",
		"sameas", "sequence", "string", "true", "undefined", "upper"}
)

// blocks returns the insides of src's {{ }} and {% %} blocks (comments
// skipped); a delimiter inside a string literal does not close a block.
func blocks(src string) []string {
	var out []string
	for _, r := range blockSpans(src) {
		out = append(out, src[r[0]:r[1]])
	}
	return out
}

// blockSpans returns the [start, end) offsets of the insides of src's {{ }}
// and {% %} blocks.
func blockSpans(src string) [][2]int {
	var out [][2]int
	for i := 0; i+1 < len(src); i++ {
		if src[i] != '{' {
			continue
		}
		switch src[i+1] {
		case '#':
			end := strings.Index(src[i+2:], "#}")
			if end < 0 {
				return out
			}
			i += 2 + end + 1
		case '{', '%':
			closer := byte('}')
			if src[i+1] == '%' {
				closer = '%'
			}
			j, quote, closed := i+2, byte(0), false
			for ; j+1 < len(src) && !closed; j++ {
				c := src[j]
				switch {
				case quote != 0 && c == '\\':
					j++
				case quote != 0 && c == quote:
					quote = 0
				case quote != 0:
				case c == '\'' || c == '"':
					quote = c
				case c == closer && src[j+1] == '}':
					closed = true
					j--
				}
			}
			if !closed {
				return append(out, [2]int{i + 2, len(src)})
			}
			out = append(out, [2]int{i + 2, j})
			i = j + 1
		}
	}
	return out
}

// renameFilter rewrites uses of filter from as filter to (outside string
// literals, inside blocks).
func renameFilter(src, from, to string) string {
	var b strings.Builder
	prev := 0
	for _, r := range blockSpans(src) {
		quote := byte(0)
		for i := r[0]; i < r[1]; i++ {
			c := src[i]
			switch {
			case quote != 0 && c == '\\':
				i++
			case quote != 0 && c == quote:
				quote = 0
			case quote != 0:
			case c == '\'' || c == '"':
				quote = c
			case c == '|':
				k := i + 1
				for k < r[1] && (src[k] == ' ' || src[k] == '\t' || src[k] == '\n' || src[k] == '\r') {
					k++
				}
				end := k + len(from)
				if end <= r[1] && src[k:end] == from && (end == r[1] || !isIdent(src[end])) {
					b.WriteString(src[prev:k])
					b.WriteString(to)
					prev = end
					i = end - 1
				}
			}
		}
	}
	b.WriteString(src[prev:])
	return b.String()
}

func isIdent(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// stripStrings empties the string literals of a block's text.
func stripStrings(b string) string {
	var s strings.Builder
	quote := byte(0)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
			s.WriteByte(c)
		case quote != 0:
		case c == '\'' || c == '"':
			quote = c
			s.WriteByte(c)
		default:
			s.WriteByte(c)
		}
	}
	return s.String()
}

var (
	filterUse = regexp.MustCompile(`\|\s*([A-Za-z_][A-Za-z0-9_]*)`)
	testUse   = regexp.MustCompile(`(?:^|[^A-Za-z0-9_.])is\s+(?:not\s+)?([A-Za-z_][A-Za-z0-9_]*)`)
)

// checkNames reports filters and tests src uses that the engine lacks.
func checkNames(src string) error {
	var filters, tests []string
	for _, b := range blocks(src) {
		b = stripStrings(b)
		for _, m := range filterUse.FindAllStringSubmatch(b, -1) {
			if !slices.Contains(knownFilters, m[1]) && !slices.Contains(filters, m[1]) {
				filters = append(filters, m[1])
			}
		}
		for _, m := range testUse.FindAllStringSubmatch(b, -1) {
			if !slices.Contains(knownTests, m[1]) && !slices.Contains(tests, m[1]) {
				tests = append(tests, m[1])
			}
		}
	}
	var msgs []string
	if len(filters) > 0 {
		msgs = append(msgs, fmt.Sprintf("unknown filter %s (the engine has %s)", quoteAll(filters), strings.Join(knownFilters, ", ")))
	}
	if len(tests) > 0 {
		msgs = append(msgs, fmt.Sprintf("unknown test %s (the engine has %s)", quoteAll(tests), strings.Join(knownTests, ", ")))
	}
	if len(msgs) > 0 {
		return fmt.Errorf("%s", strings.Join(msgs, "; "))
	}
	return nil
}

func quoteAll(names []string) string {
	sort.Strings(names)
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = fmt.Sprintf("%q", n)
	}
	return strings.Join(q, ", ")
}

// jsonValue decodes JSON into a jinja value keeping object key order
// (templates print tool schemas with tojson, and the order is part of the
// prompt the model was trained on).
func jsonValue(b []byte) (jinja.Value, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	v, err := decodeValue(d)
	if err != nil {
		return jinja.Value{}, err
	}
	if _, err := d.Token(); err != io.EOF {
		return jinja.Value{}, fmt.Errorf("trailing data after the JSON value")
	}
	return v, nil
}

func decodeValue(d *json.Decoder) (jinja.Value, error) {
	tok, err := d.Token()
	if err != nil {
		return jinja.Value{}, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '[':
			l := jinja.NewList(nil)
			for d.More() {
				v, err := decodeValue(d)
				if err != nil {
					return jinja.Value{}, err
				}
				l.AsList().Append(v)
			}
			_, err := d.Token()
			return l, err
		case '{':
			m := jinja.NewDict()
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return jinja.Value{}, err
				}
				v, err := decodeValue(d)
				if err != nil {
					return jinja.Value{}, err
				}
				m.AsDict().Set(k.(string), v)
			}
			_, err := d.Token()
			return m, err
		}
		return jinja.Value{}, fmt.Errorf("unexpected %v", t)
	default:
		return jinja.FromGoValue(t), nil
	}
}
