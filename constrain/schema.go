package constrain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Limits of what is emitted.
const (
	// MaxWhitespace is the most whitespace bytes between two tokens of the
	// JSON text.
	MaxWhitespace = 16
	// MaxDepth is the most nested values (containers and the value inside
	// the innermost one) the output may have.
	MaxDepth = 32

	maxIntDigits  = 15
	maxFracDigits = 15
	maxExpDigits  = 2
	unbounded     = math.MaxInt32
)

type kind uint8

const (
	kObject  kind = iota // declared properties
	kMap                 // any keys, one value schema
	kArray               // items
	kString              // minLen, maxLen
	kNumber              // integer or number
	kLiteral             // one of a set of byte strings (enum, const, true, …)
	kUnion               // one of branches, chosen by the first byte
)

type prop struct {
	key      string // the property name
	value    int32  // node
	required bool
}

type node struct {
	kind kind
	// kObject: props in schema order; keyTrie[i] is the root of the trie
	// of the quoted keys that may come at position i (i…the next required
	// property), -1 when none may; reqAfter[i] reports whether a required
	// property is at position i or later.
	props    []prop
	keyTrie  []int32
	reqAfter []bool
	// kMap: value; kArray: items (value), minN, maxN, sat.
	value      int32
	minN, maxN int32
	sat        int32 // counts saturate here (so equal states compare equal)
	// kString: 1 + the index of its pattern's DFA in Grammar.dfas, or 0.
	pat int32
	// kNumber
	integer bool
	// kLiteral: the root of its trie.
	lit int32
	// kUnion
	branches []int32
	oneOf    bool
	path     string
	// first is the set of bytes a value of this node can start with.
	first     [4]uint64
	firstDone uint8 // 0 not computed, 1 computing, 2 done
}

func (n *node) starts(c byte) bool { return n.first[c>>6]&(1<<(c&63)) != 0 }

// trie nodes (for keys and literals): edges sorted by byte; term ≥ 0 marks
// the end of a string (for keys: the property index).
type tnode struct {
	edges []tedge
	term  int32
}

type tedge struct {
	b  byte
	to int32
}

func (g *Grammar) tnext(t int32, c byte) int32 {
	for _, e := range g.tries[t].edges {
		if e.b == c {
			return e.to
		}
	}
	return -1
}

func (g *Grammar) newTrie(words [][]byte, terms []int32) int32 {
	root := int32(len(g.tries))
	g.tries = append(g.tries, tnode{term: -1})
	for i, w := range words {
		t := root
		for _, c := range w {
			nt := g.tnext(t, c)
			if nt < 0 {
				nt = int32(len(g.tries))
				g.tries = append(g.tries, tnode{term: -1})
				g.tries[t].edges = append(g.tries[t].edges, tedge{c, nt})
			}
			t = nt
		}
		g.tries[t].term = terms[i]
	}
	return root
}

// omap is a JSON object with its keys in document order.
type omap struct {
	keys []string
	vals map[string]any
}

// decodeOrdered decodes one JSON value, keeping object key order; numbers
// stay json.Number.
func decodeOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			m := &omap{vals: map[string]any{}}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k := kt.(string)
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				if _, dup := m.vals[k]; !dup {
					m.keys = append(m.keys, k)
				}
				m.vals[k] = v
			}
			_, err := dec.Token()
			return m, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", t)
	default:
		return t, nil
	}
}

func parseOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeOrdered(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("more than one JSON value")
	}
	return v, nil
}

// appendJSON writes v compactly (keys in document order, no HTML escaping).
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...)
	case bool:
		return strconv.AppendBool(b, v)
	case json.Number:
		return append(b, v...)
	case string:
		return appendString(b, v)
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
		}
		return append(b, ']')
	case *omap:
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(b, k)
			b = append(b, ':')
			b = appendJSON(b, v.vals[k])
		}
		return append(b, '}')
	}
	panic(fmt.Sprintf("constrain: appendJSON of %T", v))
}

func appendString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// ignored keywords annotate and do not constrain the output.
var ignored = map[string]bool{
	"title": true, "description": true, "examples": true, "default": true,
	"$schema": true, "$id": true, "$comment": true, "deprecated": true,
	"readOnly": true, "writeOnly": true, "$defs": true, "definitions": true,
}

// typeKeywords are the keywords each type takes.
var typeKeywords = map[string][]string{
	"object":  {"properties", "required", "additionalProperties"},
	"array":   {"items", "minItems", "maxItems", "uniqueItems"},
	"string":  {"minLength", "maxLength", "pattern"},
	"number":  nil,
	"integer": nil,
	"boolean": nil,
	"null":    nil,
}

var typeNames = []string{"object", "array", "string", "number", "integer", "boolean", "null"}

// schemaError is a schema problem at a JSON pointer into the schema.
type schemaError struct {
	param, path, msg string
}

func (e *schemaError) Error() string {
	if e.path == "" {
		return fmt.Sprintf("%s: %s", e.param, e.msg)
	}
	return fmt.Sprintf("%s at %s: %s", e.param, e.path, e.msg)
}

type compiler struct {
	g      *Grammar
	root   any
	param  string           // "response_format.json_schema.schema"
	refs   map[string]int32 // pointer → node
	oneOfs []int32
	any    int32 // the any-value node, -1 until made
	str    int32 // the plain string node, -1 until made
}

func (c *compiler) errf(path, format string, args ...any) error {
	return &schemaError{c.param, path, fmt.Sprintf(format, args...)}
}

func (c *compiler) add(n node) int32 {
	c.g.nodes = append(c.g.nodes, n)
	return int32(len(c.g.nodes) - 1)
}

// plainString is a string without bounds.
func (c *compiler) plainString() int32 {
	if c.str < 0 {
		c.str = c.add(node{kind: kString, maxN: unbounded})
	}
	return c.str
}

// anyValue accepts any JSON value.
func (c *compiler) anyValue() int32 {
	if c.any >= 0 {
		return c.any
	}
	u := c.add(node{kind: kUnion})
	c.any = u
	obj := c.add(node{kind: kMap, value: u})
	arr := c.add(node{kind: kArray, value: u, maxN: unbounded})
	num := c.add(node{kind: kNumber})
	lit := c.literal([][]byte{[]byte("true"), []byte("false"), []byte("null")})
	c.g.nodes[u].branches = []int32{obj, arr, c.plainString(), num, lit}
	return u
}

func (c *compiler) anyObject() int32 {
	return c.add(node{kind: kMap, value: c.anyValue()})
}

func (c *compiler) literal(words [][]byte) int32 {
	terms := make([]int32, len(words))
	return c.add(node{kind: kLiteral, lit: c.g.newTrie(words, terms)})
}

func typeOf(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case []any:
		return "array"
	case *omap:
		return "object"
	case json.Number:
		if _, err := strconv.ParseInt(string(v), 10, 64); err == nil {
			return "integer"
		}
		if f, err := v.Float64(); err == nil && f == math.Trunc(f) && !strings.ContainsAny(string(v), ".eE") {
			return "integer"
		}
		return "number"
	}
	return ""
}

func quoteAll(ks []string) string {
	q := make([]string, len(ks))
	for i, k := range ks {
		q[i] = strconv.Quote(k)
	}
	return strings.Join(q, ", ")
}

func (c *compiler) count(m *omap, path, kw string) (int32, bool, error) {
	v, ok := m.vals[kw]
	if !ok {
		return 0, false, nil
	}
	n, isNum := v.(json.Number)
	i, err := strconv.ParseInt(string(n), 10, 32)
	if !isNum || err != nil || i < 0 {
		return 0, false, c.errf(path, "%s must be a non-negative integer, got %s", kw, appendJSON(nil, v))
	}
	return int32(i), true, nil
}

// schema compiles the schema s at path (a JSON pointer) to a node.
func (c *compiler) schema(s any, path string) (int32, error) {
	switch s := s.(type) {
	case bool:
		if !s {
			return 0, c.errf(path, "the schema false accepts no value")
		}
		return c.anyValue(), nil
	case *omap:
		return c.object(s, path)
	}
	return 0, c.errf(path, "a schema must be an object or a boolean, got %s", appendJSON(nil, s))
}

// rest lists the keys of m that are neither ignored nor in allowed.
func rest(m *omap, allowed ...string) []string {
	var out []string
	for _, k := range m.keys {
		if !ignored[k] && !slices.Contains(allowed, k) {
			out = append(out, k)
		}
	}
	return out
}

func (c *compiler) unsupported(path string, ks []string, context string) error {
	sort := slices.Clone(ks)
	slices.Sort(sort)
	word := "keyword"
	if len(sort) > 1 {
		word = "keywords"
	}
	return c.errf(path, "unsupported %s %s%s", word, quoteAll(sort), context)
}

func (c *compiler) object(m *omap, path string) (int32, error) {
	if ref, ok := m.vals["$ref"]; ok {
		if ks := rest(m, "$ref"); len(ks) > 0 {
			return 0, c.unsupported(path, ks, " beside $ref")
		}
		r, ok := ref.(string)
		if !ok {
			return 0, c.errf(path, "$ref must be a string")
		}
		return c.ref(r, path)
	}
	if v, ok := m.vals["allOf"]; ok {
		a, isArr := v.([]any)
		if !isArr || len(a) != 1 {
			return 0, c.errf(path, "allOf is supported only with a single schema")
		}
		if ks := rest(m, "allOf"); len(ks) > 0 {
			return 0, c.unsupported(path, ks, " beside allOf")
		}
		return c.schema(a[0], path+"/allOf/0")
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		v, ok := m.vals[kw]
		if !ok {
			continue
		}
		if ks := rest(m, kw); len(ks) > 0 {
			return 0, c.unsupported(path, ks, " beside "+kw)
		}
		a, isArr := v.([]any)
		if !isArr || len(a) == 0 {
			return 0, c.errf(path, "%s must be a non-empty array of schemas", kw)
		}
		u := c.add(node{kind: kUnion, oneOf: kw == "oneOf", path: path})
		var br []int32
		for i, s := range a {
			n, err := c.schema(s, fmt.Sprintf("%s/%s/%d", path, kw, i))
			if err != nil {
				return 0, err
			}
			br = append(br, n)
		}
		c.g.nodes[u].branches = br
		if kw == "oneOf" {
			c.oneOfs = append(c.oneOfs, u)
		}
		return u, nil
	}

	// The types this schema allows.
	var types []string
	if t, ok := m.vals["type"]; ok {
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, e := range t {
				s, _ := e.(string)
				types = append(types, s)
			}
		}
		if len(types) == 0 {
			return 0, c.errf(path, "type must be a type name or an array of them (%s)", quoteAll(typeNames))
		}
		for _, t := range types {
			if _, ok := typeKeywords[t]; !ok {
				return 0, c.errf(path, "type %q is not one of %s", t, quoteAll(typeNames))
			}
		}
	}

	_, hasEnum := m.vals["enum"]
	_, hasConst := m.vals["const"]
	if hasEnum || hasConst {
		return c.enum(m, path, types)
	}

	if types == nil {
		// Infer the type from the keywords.
		for _, t := range []string{"object", "array", "string"} {
			for _, kw := range typeKeywords[t] {
				if _, ok := m.vals[kw]; ok && !slices.Contains(types, t) {
					types = append(types, t)
				}
			}
		}
		if len(types) > 1 {
			return 0, c.errf(path, "keywords of several types (%s) without a type", strings.Join(types, ", "))
		}
		if types == nil {
			if ks := rest(m); len(ks) > 0 {
				return 0, c.unsupported(path, ks, "")
			}
			return c.anyValue(), nil
		}
	}
	allowed := []string{"type"}
	for _, t := range types {
		allowed = append(allowed, typeKeywords[t]...)
	}
	if ks := rest(m, allowed...); len(ks) > 0 {
		return 0, c.unsupported(path, ks, "")
	}
	var br []int32
	for _, t := range types {
		n, err := c.typed(m, path, t)
		if err != nil {
			return 0, err
		}
		br = append(br, n)
	}
	if len(br) == 1 {
		return br[0], nil
	}
	return c.add(node{kind: kUnion, branches: br, path: path}), nil
}

func (c *compiler) typed(m *omap, path, t string) (int32, error) {
	switch t {
	case "null":
		return c.literal([][]byte{[]byte("null")}), nil
	case "boolean":
		return c.literal([][]byte{[]byte("true"), []byte("false")}), nil
	case "number", "integer":
		return c.add(node{kind: kNumber, integer: t == "integer"}), nil
	case "string":
		lo, _, err := c.count(m, path, "minLength")
		if err != nil {
			return 0, err
		}
		hi, hasHi, err := c.count(m, path, "maxLength")
		if err != nil {
			return 0, err
		}
		if !hasHi {
			hi = unbounded
		}
		if lo > hi {
			return 0, c.errf(path, "minLength %d is more than maxLength %d", lo, hi)
		}
		sat := lo
		if hasHi {
			sat = hi
		}
		var pat int32
		if p, ok := m.vals["pattern"]; ok {
			ps, isStr := p.(string)
			if !isStr {
				return 0, c.errf(path, "pattern must be a string")
			}
			d, err := compilePattern(ps)
			if err != nil {
				return 0, c.errf(path, "%v", err)
			}
			c.g.dfas = append(c.g.dfas, d)
			pat = int32(len(c.g.dfas))
		}
		if lo == 0 && !hasHi && pat == 0 {
			return c.plainString(), nil
		}
		return c.add(node{kind: kString, minN: lo, maxN: hi, sat: sat, pat: pat}), nil
	case "array":
		if u, ok := m.vals["uniqueItems"]; ok && u != false {
			return 0, c.unsupported(path, []string{"uniqueItems"}, " (only false)")
		}
		lo, _, err := c.count(m, path, "minItems")
		if err != nil {
			return 0, err
		}
		hi, hasHi, err := c.count(m, path, "maxItems")
		if err != nil {
			return 0, err
		}
		if !hasHi {
			hi = unbounded
		}
		if lo > hi {
			return 0, c.errf(path, "minItems %d is more than maxItems %d", lo, hi)
		}
		sat := lo
		if hasHi {
			sat = hi
		}
		a := c.add(node{kind: kArray, minN: lo, maxN: hi, sat: sat})
		items := c.anyValue()
		if s, ok := m.vals["items"]; ok {
			if s == false {
				if lo > 0 {
					return 0, c.errf(path, "items false with minItems %d accepts no value", lo)
				}
				c.g.nodes[a].maxN, c.g.nodes[a].sat = 0, 0
			} else {
				items, err = c.schema(s, path+"/items")
				if err != nil {
					return 0, err
				}
			}
		}
		c.g.nodes[a].value = items
		return a, nil
	case "object":
		return c.objectType(m, path)
	}
	panic("unreachable")
}

func (c *compiler) objectType(m *omap, path string) (int32, error) {
	var props *omap
	if p, ok := m.vals["properties"]; ok {
		pm, isObj := p.(*omap)
		if !isObj {
			return 0, c.errf(path, "properties must be an object")
		}
		props = pm
	}
	var required []string
	if r, ok := m.vals["required"]; ok {
		ra, isArr := r.([]any)
		if !isArr {
			return 0, c.errf(path, "required must be an array of property names")
		}
		for _, e := range ra {
			s, isStr := e.(string)
			if !isStr {
				return 0, c.errf(path, "required must be an array of property names")
			}
			if props == nil || props.vals[s] == nil {
				return 0, c.errf(path, "required property %q is not in properties", s)
			}
			required = append(required, s)
		}
	}
	addl, hasAddl := m.vals["additionalProperties"]
	if props == nil || len(props.keys) == 0 {
		if !hasAddl || addl == true {
			return c.anyObject(), nil
		}
		if addl == false {
			// Only {}.
			return c.add(node{kind: kObject, keyTrie: []int32{-1}, reqAfter: []bool{false}}), nil
		}
		mp := c.add(node{kind: kMap})
		v, err := c.schema(addl, path+"/additionalProperties")
		if err != nil {
			return 0, err
		}
		c.g.nodes[mp].value = v
		return mp, nil
	}
	if hasAddl {
		if _, ok := addl.(bool); !ok {
			// Checked for errors, though never used: only declared
			// properties are emitted.
			if _, err := c.schema(addl, path+"/additionalProperties"); err != nil {
				return 0, err
			}
		}
	}
	o := c.add(node{kind: kObject})
	var ps []prop
	for _, k := range props.keys {
		v, err := c.schema(props.vals[k], path+"/properties/"+escapePointer(k))
		if err != nil {
			return 0, err
		}
		ps = append(ps, prop{key: k, value: v, required: slices.Contains(required, k)})
	}
	n := len(ps)
	keyTrie := make([]int32, n+1)
	reqAfter := make([]bool, n+1)
	for i := n - 1; i >= 0; i-- {
		reqAfter[i] = reqAfter[i+1] || ps[i].required
	}
	for i := 0; i <= n; i++ {
		var words [][]byte
		var terms []int32
		for j := i; j < n; j++ {
			words = append(words, appendString(nil, ps[j].key))
			terms = append(terms, int32(j))
			if ps[j].required {
				break
			}
		}
		keyTrie[i] = -1
		if len(words) > 0 {
			keyTrie[i] = c.g.newTrie(words, terms)
		}
	}
	c.g.nodes[o].props, c.g.nodes[o].keyTrie, c.g.nodes[o].reqAfter = ps, keyTrie, reqAfter
	return o, nil
}

func (c *compiler) enum(m *omap, path string, types []string) (int32, error) {
	allowed := []string{"type", "enum", "const"}
	if ks := rest(m, allowed...); len(ks) > 0 {
		return 0, c.unsupported(path, ks, " beside enum or const")
	}
	var vals []any
	if e, ok := m.vals["enum"]; ok {
		a, isArr := e.([]any)
		if !isArr || len(a) == 0 {
			return 0, c.errf(path, "enum must be a non-empty array")
		}
		vals = a
	}
	if k, ok := m.vals["const"]; ok {
		kj := string(appendJSON(nil, k))
		if vals != nil {
			var keep []any
			for _, v := range vals {
				if string(appendJSON(nil, v)) == kj {
					keep = append(keep, v)
				}
			}
			vals = keep
		} else {
			vals = []any{k}
		}
	}
	var words [][]byte
	seen := map[string]bool{}
	for _, v := range vals {
		t := typeOf(v)
		if types != nil && !slices.Contains(types, t) && !(t == "integer" && slices.Contains(types, "number")) {
			continue
		}
		w := appendJSON(nil, v)
		if !seen[string(w)] {
			seen[string(w)] = true
			words = append(words, w)
		}
	}
	if len(words) == 0 {
		return 0, c.errf(path, "no value of enum or const is of the schema's type")
	}
	return c.literal(words), nil
}

func escapePointer(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// ref resolves a reference to a pointer into the same document. Each target
// is compiled once, through an indirection node, so recursive references
// close into a cycle.
func (c *compiler) ref(r, path string) (int32, error) {
	if !strings.HasPrefix(r, "#") {
		return 0, c.errf(path, "$ref %q: only references into the same schema (\"#…\") are supported", r)
	}
	if n, ok := c.refs[r]; ok {
		return n, nil
	}
	target := c.root
	ptr := strings.TrimPrefix(r, "#")
	if ptr != "" {
		if !strings.HasPrefix(ptr, "/") {
			return 0, c.errf(path, "$ref %q: want a JSON pointer such as \"#/$defs/Name\"", r)
		}
		for _, tok := range strings.Split(ptr[1:], "/") {
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch t := target.(type) {
			case *omap:
				v, ok := t.vals[tok]
				if !ok {
					return 0, c.errf(path, "$ref %q: no %q in the schema", r, tok)
				}
				target = v
			case []any:
				i, err := strconv.Atoi(tok)
				if err != nil || i < 0 || i >= len(t) {
					return 0, c.errf(path, "$ref %q: no element %q", r, tok)
				}
				target = t[i]
			default:
				return 0, c.errf(path, "$ref %q: no %q in the schema", r, tok)
			}
		}
	}
	ind := c.add(node{kind: kUnion, path: path})
	c.refs[r] = ind
	n, err := c.schema(target, ptr)
	if err != nil {
		return 0, err
	}
	c.g.nodes[ind].branches = []int32{n}
	return ind, nil
}

// firsts computes every node's first-byte set; a cycle of unions (a
// reference to itself with no object or array between) is an error.
func (c *compiler) firsts() error {
	var visit func(i int32) error
	visit = func(i int32) error {
		n := &c.g.nodes[i]
		switch n.firstDone {
		case 2:
			return nil
		case 1:
			return c.errf(n.path, "$ref cycle that never reaches an object or array")
		}
		n.firstDone = 1
		var f [4]uint64
		set := func(b byte) { f[b>>6] |= 1 << (b & 63) }
		switch n.kind {
		case kObject, kMap:
			set('{')
		case kArray:
			set('[')
		case kString:
			set('"')
		case kNumber:
			set('-')
			for b := byte('0'); b <= '9'; b++ {
				set(b)
			}
		case kLiteral:
			for _, e := range c.g.tries[n.lit].edges {
				set(e.b)
			}
		case kUnion:
			for _, b := range n.branches {
				if err := visit(b); err != nil {
					return err
				}
				bf := c.g.nodes[b].first
				for k := range f {
					f[k] |= bf[k]
				}
			}
		}
		n = &c.g.nodes[i]
		n.first, n.firstDone = f, 2
		return nil
	}
	for i := range c.g.nodes {
		if err := visit(int32(i)); err != nil {
			return err
		}
	}
	for _, u := range c.oneOfs {
		n := c.g.nodes[u]
		for i, a := range n.branches {
			for j := i + 1; j < len(n.branches); j++ {
				fa, fb := c.g.nodes[a].first, c.g.nodes[n.branches[j]].first
				for k := range fa {
					if fa[k]&fb[k] != 0 {
						return c.errf(n.path, "oneOf branches %d and %d can start alike, so the output could match both; use anyOf", i, j)
					}
				}
			}
		}
	}
	return nil
}
