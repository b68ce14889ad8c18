package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/loomml/loom/internal/suggest"
	"github.com/loomml/loom/train"
)

// Axis is one --grid flag: a dotted key path into the spec JSON and the
// values it takes, in the order given.
type Axis struct {
	Key    string   // "train.lr"
	Path   []string // ["train", "lr"]
	Values []Value
}

// Value is one value of an axis.
type Value struct {
	// JSON is what is set into the spec: numbers in a canonical form (1e-3
	// and 0.001 are the same value), strings quoted, other JSON compacted.
	JSON json.RawMessage
	// Text is the value as run names and tables show it: a string
	// unquoted, anything else as its JSON.
	Text string
}

// Setting is one key set to one value: a grid point's coordinate.
type Setting struct {
	Key   string
	Path  []string
	Value Value
}

// Point is one grid point: a setting per axis, in the axes' order.
type Point []Setting

const gridForm = "KEY=V1,V2,… (a dotted key into the spec such as train.lr or model.hidden_size, then comma-separated values)"

// ParseAxis parses a --grid flag, KEY=V1,V2,…. Each value is JSON when it
// parses as JSON (numbers, true, false, null, "quoted strings", [lists],
// {objects}) and a string otherwise; commas inside quotes, brackets and
// braces do not split values. Whether the key exists and the values have
// its type is checked against the spec (Sweep.Plan), not here.
func ParseAxis(s string) (Axis, error) {
	key, list, ok := strings.Cut(s, "=")
	if !ok {
		return Axis{}, fmt.Errorf("%q has no '='; want %s", s, gridForm)
	}
	key = strings.TrimSpace(key)
	if key == "" {
		return Axis{}, fmt.Errorf("%q has no key before '='; want %s", s, gridForm)
	}
	path := strings.Split(key, ".")
	for _, p := range path {
		if strings.TrimSpace(p) == "" || p != strings.TrimSpace(p) {
			return Axis{}, fmt.Errorf("key %q has an empty or blank part; want a dotted path such as train.lr", key)
		}
	}
	if strings.TrimSpace(list) == "" {
		return Axis{}, fmt.Errorf("%q has no values after '='; want %s", s, gridForm)
	}
	items, err := splitValues(list)
	if err != nil {
		return Axis{}, fmt.Errorf("%s: %w", key, err)
	}
	a := Axis{Key: key, Path: path}
	for i, it := range items {
		v, err := ParseValue(it)
		if err != nil {
			return Axis{}, fmt.Errorf("%s: value %d: %w", key, i+1, err)
		}
		for _, w := range a.Values {
			if bytes.Equal(w.JSON, v.JSON) {
				return Axis{}, fmt.Errorf("%s: the value %s is given twice", key, v.Text)
			}
		}
		a.Values = append(a.Values, v)
	}
	return a, nil
}

// String is the axis as a --grid flag, with its values in canonical form.
func (a Axis) String() string {
	var vs []string
	for _, v := range a.Values {
		vs = append(vs, string(v.JSON))
	}
	return a.Key + "=" + strings.Join(vs, ",")
}

// splitValues splits s at the commas outside quotes, brackets and braces.
func splitValues(s string) ([]string, error) {
	var out []string
	depth, inStr, esc, start := 0, false, false, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			depth--
			if depth < 0 {
				return nil, fmt.Errorf("values %q: %q closes nothing", s, c)
			}
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if inStr || depth != 0 {
		return nil, fmt.Errorf("values %q: an unclosed quote, bracket or brace", s)
	}
	return append(out, s[start:]), nil
}

// ParseValue reads one grid value: JSON when it parses as JSON, else a
// string.
func ParseValue(s string) (Value, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Value{}, errors.New("empty; want a number, true, false, a string or other JSON")
	}
	if !json.Valid([]byte(s)) {
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) && strings.Trim(s, "0123456789+-.eE") == "" {
			// +1, .5, 5.: numbers JSON spells otherwise
			t, err := canonicalNumber(json.Number(strconv.FormatFloat(f, 'g', -1, 64)))
			return Value{JSON: json.RawMessage(t), Text: t}, err
		}
		js, _ := json.Marshal(s)
		return Value{JSON: js, Text: s}, nil
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Value{}, err
	}
	switch x := v.(type) {
	case json.Number:
		t, err := canonicalNumber(x)
		if err != nil {
			return Value{}, err
		}
		return Value{JSON: json.RawMessage(t), Text: t}, nil
	case string:
		js, _ := json.Marshal(x)
		return Value{JSON: js, Text: x}, nil
	}
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		return Value{}, err
	}
	return Value{JSON: b.Bytes(), Text: b.String()}, nil
}

// canonicalNumber is n as an integer when it is one, else as the shortest
// decimal that reads back as the same float64, with a short exponent
// (0.001, 3e-5, 1.5e10).
func canonicalNumber(n json.Number) (string, error) {
	if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
		return strconv.FormatInt(i, 10), nil
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) {
		return "", fmt.Errorf("%s is out of the range of a float64", n)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10), nil // 1.0, 1e3: integers
	}
	t := strconv.FormatFloat(f, 'g', -1, 64)
	if m, e, ok := strings.Cut(t, "e"); ok {
		sign := ""
		if e[0] == '-' {
			sign = "-"
		}
		t = m + "e" + sign + strings.TrimLeft(e[1:], "0")
	}
	return t, nil
}

// valueText is how a stored value (result.json's grid) is shown.
func valueText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	return string(raw)
}

// Expand returns the Cartesian product of the axes, the first axis
// varying slowest. No axes give one point, the spec itself.
func Expand(axes []Axis) []Point {
	points := []Point{{}}
	for _, a := range axes {
		var next []Point
		for _, p := range points {
			for _, v := range a.Values {
				q := append(slices.Clip(p), Setting{Key: a.Key, Path: a.Path, Value: v})
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

// ShortKeys names each key in run names by its shortest dotted suffix that
// no other key ends with: lr for train.lr, loom.param beside a param
// elsewhere.
func ShortKeys(keys []string) map[string]string {
	out := map[string]string{}
	for _, k := range keys {
		parts := strings.Split(k, ".")
		for n := 1; n <= len(parts); n++ {
			suffix := strings.Join(parts[len(parts)-n:], ".")
			clash := false
			for _, o := range keys {
				if o != k && (o == suffix || strings.HasSuffix(o, "."+suffix)) {
					clash = true
					break
				}
			}
			if !clash || n == len(parts) {
				out[k] = suffix
				break
			}
		}
	}
	return out
}

// maxName is the longest run name before it is shortened with a hash.
const maxName = 120

// Name is the directory name of a run: its settings as key=value pairs
// sorted by key (short is ShortKeys of the grid's keys), then seed=N, as
// in "hidden_size=64,lr=0.001,seed=1". It depends only on the run's own
// keys, values and seed, so it is the same on every rerun however the
// --grid flags are ordered. Characters that are not safe in a file name
// (and commas or '=' inside a value) become '_'; when that loses
// information, or the name is longer than 120 bytes, a hash of the exact
// settings follows a '~', so that two runs never share a name.
func Name(p Point, short map[string]string, seed uint64) string {
	type pair struct{ k, v string }
	var pairs []pair
	for _, s := range p {
		k := short[s.Key]
		if k == "" {
			k = s.Key
		}
		pairs = append(pairs, pair{k, s.Value.Text})
	}
	sort.Slice(pairs, func(i, j int) bool { return pairs[i].k < pairs[j].k })
	var exact, safe []string
	lossy := false
	for _, p := range pairs {
		k, l1 := safeText(p.k, ".")
		v, l2 := safeText(p.v, ".")
		lossy = lossy || l1 || l2
		exact = append(exact, p.k+"="+p.v)
		safe = append(safe, k+"="+v)
	}
	seedPart := "seed=" + strconv.FormatUint(seed, 10)
	exact, safe = append(exact, seedPart), append(safe, seedPart)
	name := strings.Join(safe, ",")
	if !lossy && len(name) <= maxName {
		return name
	}
	sum := sha256.Sum256([]byte(strings.Join(exact, "\x00")))
	tag := "~" + hex.EncodeToString(sum[:4])
	if len(name) > maxName-len(tag) {
		name = name[:maxName-len(tag)]
	}
	return name + tag
}

// safeText replaces the bytes of s that are not letters, digits or one of
// "+-_" (or extra) with '_', and reports whether it replaced any; an empty
// s becomes "_".
func safeText(s, extra string) (string, bool) {
	if s == "" {
		return "_", true
	}
	b := []byte(s)
	lossy := false
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("+-_"+extra, c) >= 0
		if !ok {
			b[i], lossy = '_', true
		}
	}
	if b[0] == '.' || b[0] == '-' {
		b[0], lossy = '_', true
	}
	return string(b), lossy
}

// decodeDoc decodes a JSON object keeping numbers as they are written.
func decodeDoc(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errors.New("not a JSON object")
	}
	return doc, nil
}

// Apply returns the JSON spec doc with each setting's key set to its value
// (objects on the way are created when absent). It fails, naming the key,
// when a part of the path holds something other than an object.
func Apply(doc []byte, settings ...Setting) ([]byte, error) {
	m, err := decodeDoc(doc)
	if err != nil {
		return nil, err
	}
	for _, s := range settings {
		if err := setPath(m, s.Path, s.Value.JSON); err != nil {
			return nil, err
		}
	}
	return json.MarshalIndent(m, "", "  ")
}

func setPath(doc map[string]any, path []string, v json.RawMessage) error {
	cur := doc
	for i, p := range path[:len(path)-1] {
		switch next := cur[p].(type) {
		case map[string]any:
			cur = next
		case nil:
			n := map[string]any{}
			cur[p], cur = n, n
		default:
			return fmt.Errorf("%s is %s in the spec, not an object holding %s", strings.Join(path[:i+1], "."), kind(next), strings.Join(path[i+1:], "."))
		}
	}
	cur[path[len(path)-1]] = v
	return nil
}

func kind(v any) string {
	switch v.(type) {
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "a list"
	case json.RawMessage:
		return "a value set by another --grid"
	}
	return fmt.Sprintf("%T", v)
}

// hasPath reports whether doc has a value at path.
func hasPath(doc map[string]any, path []string) bool {
	var cur any = doc
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return false
		}
		if cur, ok = m[p]; !ok {
			return false
		}
	}
	return true
}

// checkKey reports whether path names a key of the spec: one the base
// document has, or one the spec's Go types declare below the model's and
// the training settings' own keys, or one the strict parse accepts when it
// is set to null (the model's own keys: Hugging Face's and each
// architecture's spellings). base is the base document.
func checkKey(base []byte, path []string) error {
	key := strings.Join(path, ".")
	doc, err := decodeDoc(base)
	if err != nil {
		return err
	}
	if hasPath(doc, path) {
		return nil
	}
	if len(path) == 1 && path[0] != "model" && path[0] != "train" {
		var near []string
		for _, sec := range []struct {
			name string
			v    any
		}{{"train", &train.Settings{}}, {"model", reflect.New(specField("model")).Interface()}} {
			if n := suggest.Nearest(path[0], suggest.JSONKeys(sec.v)); n != "" {
				near = append(near, sec.name+"."+n)
			}
		}
		hint := "; want model.KEY (the config.json) or train.KEY (the training settings)"
		if len(near) > 0 {
			hint = "; did you mean " + strings.Join(near, " or ") + "?"
		}
		return fmt.Errorf("%s is not a key of the spec%s", key, hint)
	}
	if err := checkTypes(path); err != nil {
		return err
	}
	probe, err := Apply(base, Setting{Path: path, Value: Value{JSON: json.RawMessage("null")}})
	if err != nil {
		return err
	}
	if _, err := train.ParseSpec(probe); err != nil {
		return err
	}
	return nil
}

// specField is the Go type of a top-level spec key.
func specField(name string) reflect.Type {
	f, _ := jsonField(reflect.TypeOf(train.Spec{}), name)
	t := f.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// checkTypes walks path through the spec's Go types by their JSON names,
// exactly (encoding/json would also take "LR" for lr, and the base's lr
// would then win). A name no field has is an error naming it and the
// nearest valid one, except at the top and among the model's own keys,
// where the strict parse decides: it knows the keys that are not struct
// fields (Hugging Face's tolerated keys, other architectures' spellings)
// and compares them exactly. A walk that reaches a map or a non-struct
// stops: the strict parse checks the rest.
func checkTypes(path []string) error {
	t := reflect.TypeOf(train.Spec{})
	for i, p := range path {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		f, ok := jsonField(t, p)
		if !ok {
			if i == 0 || i == 1 && path[0] == "model" {
				return nil
			}
			return fmt.Errorf("%s is not a key of the spec: %s has no key %q%s", strings.Join(path, "."), strings.Join(path[:i], "."), p,
				suggest.DidYouMean(p, suggest.JSONKeys(reflect.New(t).Interface())))
		}
		t = f.Type
	}
	return nil
}

// jsonField finds the field of struct type t that encoding/json decodes
// key into (embedded structs included).
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				if g, ok := jsonField(et, key); ok {
					return g, true
				}
			}
			continue
		}
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}
