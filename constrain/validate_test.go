package constrain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// validate checks v (decoded with UseNumber) against schema (decoded
// plainly) for the subset of JSON Schema this package supports. It is
// written from the JSON Schema specification, independently of the
// compiler, so the walks' outputs are checked by other code.
func validate(v, schema, root any) error {
	switch s := schema.(type) {
	case bool:
		if !s {
			return fmt.Errorf("false schema")
		}
		return nil
	case map[string]any:
		return validateObj(v, s, root)
	}
	return fmt.Errorf("bad schema %v", schema)
}

func resolve(root any, ref string) any {
	cur := root
	ptr := strings.TrimPrefix(ref, "#")
	if ptr == "" {
		return root
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch c := cur.(type) {
		case map[string]any:
			cur = c[tok]
		case []any:
			i, _ := strconv.Atoi(tok)
			cur = c[i]
		}
	}
	return cur
}

func canon(v any) string {
	// Numbers compare by value.
	var norm func(any) any
	norm = func(v any) any {
		switch v := v.(type) {
		case json.Number:
			f, _ := v.Float64()
			return f
		case float64:
			return v
		case []any:
			out := make([]any, len(v))
			for i, e := range v {
				out[i] = norm(e)
			}
			return out
		case map[string]any:
			out := map[string]any{}
			for k, e := range v {
				out[k] = norm(e)
			}
			return out
		}
		return v
	}
	b, _ := json.Marshal(norm(v))
	return string(b)
}

func jsonType(v any) []string {
	switch v := v.(type) {
	case nil:
		return []string{"null"}
	case bool:
		return []string{"boolean"}
	case string:
		return []string{"string"}
	case []any:
		return []string{"array"}
	case map[string]any:
		return []string{"object"}
	case json.Number:
		f, err := v.Float64()
		if err == nil && f == float64(int64(f)) {
			return []string{"number", "integer"}
		}
		return []string{"number"}
	}
	return nil
}

func validateObj(v any, s map[string]any, root any) error {
	if r, ok := s["$ref"].(string); ok {
		return validate(v, resolve(root, r), root)
	}
	if a, ok := s["allOf"].([]any); ok {
		for _, sub := range a {
			if err := validate(v, sub, root); err != nil {
				return err
			}
		}
	}
	if a, ok := s["anyOf"].([]any); ok {
		okAny := false
		for _, sub := range a {
			if validate(v, sub, root) == nil {
				okAny = true
			}
		}
		if !okAny {
			return fmt.Errorf("no anyOf branch matches %s", canon(v))
		}
	}
	if a, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, sub := range a {
			if validate(v, sub, root) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%d oneOf branches match %s", n, canon(v))
		}
	}
	if e, ok := s["enum"].([]any); ok {
		found := false
		for _, x := range e {
			if canon(x) == canon(v) {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s not in enum", canon(v))
		}
	}
	if k, ok := s["const"]; ok && canon(k) != canon(v) {
		return fmt.Errorf("%s is not the const %s", canon(v), canon(k))
	}
	if t, ok := s["type"]; ok {
		var want []string
		switch t := t.(type) {
		case string:
			want = []string{t}
		case []any:
			for _, e := range t {
				want = append(want, e.(string))
			}
		}
		match := false
		for _, have := range jsonType(v) {
			for _, w := range want {
				match = match || have == w
			}
		}
		if !match {
			return fmt.Errorf("%s is not of type %v", canon(v), want)
		}
	}
	num := func(k string) (int, bool) {
		f, ok := s[k].(float64)
		return int(f), ok
	}
	switch v := v.(type) {
	case string:
		n := utf8.RuneCountInString(v)
		if m, ok := num("minLength"); ok && n < m {
			return fmt.Errorf("%q shorter than %d", v, m)
		}
		if m, ok := num("maxLength"); ok && n > m {
			return fmt.Errorf("%q longer than %d", v, m)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(v) {
			return fmt.Errorf("%q does not match %q", v, p)
		}
	case []any:
		if m, ok := num("minItems"); ok && len(v) < m {
			return fmt.Errorf("%d items, fewer than %d", len(v), m)
		}
		if m, ok := num("maxItems"); ok && len(v) > m {
			return fmt.Errorf("%d items, more than %d", len(v), m)
		}
		if it, ok := s["items"]; ok {
			for i, e := range v {
				if err := validate(e, it, root); err != nil {
					return fmt.Errorf("[%d]: %w", i, err)
				}
			}
		}
	case map[string]any:
		props, _ := s["properties"].(map[string]any)
		if req, ok := s["required"].([]any); ok {
			for _, r := range req {
				if _, ok := v[r.(string)]; !ok {
					return fmt.Errorf("required %q missing", r)
				}
			}
		}
		for k, e := range v {
			if ps, ok := props[k]; ok {
				if err := validate(e, ps, root); err != nil {
					return fmt.Errorf(".%s: %w", k, err)
				}
			} else if ap, ok := s["additionalProperties"]; ok {
				if err := validate(e, ap, root); err != nil {
					return fmt.Errorf(".%s (additional): %w", k, err)
				}
			}
		}
	}
	return nil
}

// parseOutput decodes one JSON text, numbers as json.Number.
func parseOutput(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data")
	}
	return v, nil
}
