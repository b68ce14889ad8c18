// Package suggest finds the valid name nearest to a mistyped one, for error
// messages ("unknown key "trian"; did you mean "train"?").
package suggest

import (
	"encoding/json"
	"reflect"
	"strings"
)

// Nearest returns the candidate closest to word in edit distance, or ""
// when none is close (more than a third of the longer word differs).
func Nearest(word string, candidates []string) string {
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(strings.ToLower(word), strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	if bestD < 0 || bestD > max(1, max(len(word), len(best))/3) {
		return ""
	}
	return best
}

// DidYouMean is "; did you mean "x"?" for the nearest candidate, or "; want
// one of a, b, c" when none is near.
func DidYouMean(word string, candidates []string) string {
	if n := Nearest(word, candidates); n != "" {
		return `; did you mean "` + n + `"?`
	}
	return "; want one of " + strings.Join(candidates, ", ")
}

// distance is the optimal-string-alignment distance between a and b
// (insertions, deletions, substitutions and swaps of neighbours, in bytes).
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// JSONKeys lists the JSON object keys of struct type v (a struct or a
// pointer to one), including those of embedded structs.
func JSONKeys(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var keys []string
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			keys = append(keys, JSONKeys(reflect.New(f.Type).Interface())...)
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		keys = append(keys, name)
	}
	return keys
}

// UnknownKeys returns the keys of the JSON object raw that are not in
// known, in their order in raw; an error when raw is not an object.
func UnknownKeys(raw []byte, known []string) ([]string, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, &json.UnmarshalTypeError{Value: "non-object", Type: reflect.TypeOf(map[string]any{})}
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key := tok.(string)
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
		found := false
		for _, k := range known {
			if k == key {
				found = true
				break
			}
		}
		if !found {
			out = append(out, key)
		}
	}
	return out, nil
}
