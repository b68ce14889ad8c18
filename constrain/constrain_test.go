package constrain

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/loomml/loom/tokenizer"
)

// schemas are the table the walks run over: name → response_format.
var schemas = []struct{ name, format string }{
	{"json_object", `{"type":"json_object"}`},
	{"person", `{"type":"json_schema","json_schema":{"name":"person","strict":true,"schema":{
		"type":"object","additionalProperties":false,
		"properties":{"name":{"type":"string","minLength":1,"maxLength":20},"age":{"type":"integer"},
			"email":{"type":"string"},"tags":{"type":"array","items":{"type":"string","maxLength":8},"maxItems":3}},
		"required":["name","age"]}}}`},
	{"enum-const", `{"type":"json_schema","json_schema":{"name":"e","schema":{"type":"object",
		"properties":{"color":{"enum":["red","green","grey",1,12,null]},"v":{"const":{"x":[1,2]}},"k":{"type":"string","enum":["a","b",3]}},
		"required":["color","v","k"]}}}`},
	{"anyOf-objects", `{"type":"json_schema","json_schema":{"name":"u","schema":{"anyOf":[
		{"type":"object","properties":{"kind":{"const":"a"},"x":{"type":"number"}},"required":["kind","x"],"additionalProperties":false},
		{"type":"object","properties":{"kind":{"const":"b"},"y":{"type":"boolean"}},"required":["kind","y"],"additionalProperties":false},
		{"type":"null"}]}}}`},
	{"oneOf-types", `{"type":"json_schema","json_schema":{"name":"o","schema":{"type":"array","minItems":2,"maxItems":4,
		"items":{"oneOf":[{"type":"string","maxLength":3},{"type":"integer"},{"type":"boolean"}]}}}}`},
	{"defs", `{"type":"json_schema","json_schema":{"name":"d","schema":{"$schema":"https://json-schema.org/draft/2020-12/schema",
		"title":"T","description":"x","type":"object",
		"$defs":{"Point":{"type":"object","properties":{"x":{"type":"number"},"y":{"type":"number"}},"required":["x","y"]}},
		"definitions":{"Name":{"type":["string","null"],"maxLength":5}},
		"properties":{"a":{"$ref":"#/$defs/Point"},"b":{"type":"array","items":{"$ref":"#/$defs/Point"}},"n":{"$ref":"#/definitions/Name"}},
		"required":["a","n"]}}}`},
	{"recursive", `{"type":"json_schema","json_schema":{"name":"tree","schema":{"type":"object",
		"properties":{"v":{"type":"integer"},"kids":{"type":"array","maxItems":2,"items":{"$ref":"#"}}},"required":["v"]}}}`},
	{"map", `{"type":"json_schema","json_schema":{"name":"m","schema":{"type":"object","additionalProperties":{"type":"integer"}}}}`},
	{"top-number", `{"type":"json_schema","json_schema":{"name":"n","schema":{"type":"number"}}}`},
	{"top-string", `{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"string","minLength":2,"maxLength":6}}}`},
	{"empty-schema", `{"type":"json_schema","json_schema":{"name":"any","schema":{}}}`},
	{"patterns", `{"type":"json_schema","json_schema":{"name":"p","schema":{"type":"object","properties":{
		"date":{"type":"string","pattern":"^\\d{4}-\\d{2}-\\d{2}$"},
		"code":{"type":"string","pattern":"^[A-Z]{2}[0-9]+","maxLength":12},
		"word":{"type":"string","pattern":"^(é|日本|😀|\\n|a\\.b)+$"},
		"any":{"type":"string","pattern":"^.*$","minLength":1}},
		"required":["date","code","word","any"]}}}`},
	{"allOf-one", `{"type":"json_schema","json_schema":{"name":"a1","schema":{"allOf":[{"type":"object","properties":{"q":{"type":"boolean"}},"required":["q"]}]}}}`},
}

// schemaOf returns the schema of a format, decoded plainly, for validate.
func schemaOf(t *testing.T, format string) any {
	t.Helper()
	var f struct {
		Type       string `json:"type"`
		JSONSchema struct {
			Schema any `json:"schema"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal([]byte(format), &f); err != nil {
		t.Fatal(err)
	}
	if f.Type == "json_object" {
		return map[string]any{"type": "object"}
	}
	if f.JSONSchema.Schema == nil {
		return true
	}
	return f.JSONSchema.Schema
}

func byteVocab() *Vocab { return NewVocab(tokenizer.Byte{}) }

// byteVocabEOS is the byte vocabulary with one end-of-sequence id, 256.
func byteVocabEOS() *Vocab {
	v := byteVocab()
	v.Tokens = append(v.Tokens, nil)
	v.EOS = []int{256}
	return v
}

var (
	clOnce  sync.Once
	clVocab *Vocab
	clErr   error
)

func cl100k(t testing.TB) *Vocab {
	clOnce.Do(func() {
		tok, err := tokenizer.Load("cl100k_base", "")
		if err != nil {
			clErr = err
			return
		}
		clVocab = NewVocab(tok)
	})
	if clErr != nil {
		t.Fatal(clErr)
	}
	return clVocab
}

// preferred are the bytes the closing policy picks first, in order.
var preferred = []byte(`"}],`)

// closingToken picks the token that heads toward the end: an EOS, then a
// closing byte, then the lowest allowed byte that is not whitespace.
func closingToken(v *Vocab, single map[byte]int, allowed []bool) int {
	for _, e := range v.EOS {
		if e < len(allowed) && allowed[e] {
			return e
		}
	}
	for _, c := range preferred {
		if id, ok := single[c]; ok && allowed[id] {
			return id
		}
	}
	for c := 0; c < 256; c++ {
		if id, ok := single[byte(c)]; ok && allowed[id] && !isWS(byte(c)) {
			return id
		}
	}
	for c := 0; c < 256; c++ {
		if id, ok := single[byte(c)]; ok && allowed[id] {
			return id
		}
	}
	return -1
}

func singles(v *Vocab) map[byte]int {
	m := map[byte]int{}
	for id, b := range v.Tokens {
		if len(b) == 1 {
			if _, ok := m[b[0]]; !ok {
				m[b[0]] = id
			}
		}
	}
	return m
}

// walk generates under g: each step a random allowed token with
// probability pRandom, else the closing policy's, until Complete or an
// EOS. It fails the test if Mask allows a token Accept refuses, or if the
// walk passes maxTokens.
func walk(t *testing.T, g *Grammar, v *Vocab, rng *rand.Rand, pRandom float64, maxTokens int) []byte {
	t.Helper()
	m := g.NewMatcher()
	single := singles(v)
	var out []byte
	allowed := make([]bool, len(v.Tokens))
	var ids []int
	for step := 0; !m.Complete(); step++ {
		if step >= maxTokens {
			t.Fatalf("no end after %d tokens: %q", maxTokens, out)
		}
		for i := range allowed {
			allowed[i] = true
		}
		m.Mask(allowed)
		ids = ids[:0]
		for id, ok := range allowed {
			if ok {
				ids = append(ids, id)
			}
		}
		if len(ids) == 0 {
			t.Fatalf("nothing allowed after %q", out)
		}
		id := -1
		if rng.Float64() < pRandom {
			id = ids[rng.IntN(len(ids))]
		} else {
			id = closingToken(v, single, allowed)
		}
		if id < 0 {
			t.Fatalf("the policy found no token after %q", out)
		}
		if err := m.Accept(id); err != nil {
			t.Fatalf("Mask allowed token %d but Accept says %v (after %q)", id, err, out)
		}
		if slices.Contains(v.EOS, id) {
			if !m.Complete() {
				t.Fatalf("not Complete after an EOS")
			}
			break
		}
		out = append(out, v.Tokens[id]...)
	}
	// Complete: only EOS tokens stay allowed.
	for i := range allowed {
		allowed[i] = true
	}
	m.Mask(allowed)
	for id, ok := range allowed {
		if ok && !slices.Contains(v.EOS, id) {
			t.Fatalf("after the whole %q, token %d (%q) is still allowed", out, id, v.Tokens[id])
		}
	}
	return out
}

func checkOutput(t *testing.T, out []byte, schema any) {
	t.Helper()
	if !utf8.Valid(out) {
		t.Fatalf("output is not UTF-8: %q", out)
	}
	if !json.Valid(out) {
		t.Fatalf("output does not parse: %q", out)
	}
	val, err := parseOutput(out)
	if err != nil {
		t.Fatalf("%q: %v", out, err)
	}
	if err := validate(val, schema, schema); err != nil {
		t.Fatalf("output %q does not validate: %v", out, err)
	}
}

func TestRandomWalksByteVocab(t *testing.T) {
	for _, vc := range []struct {
		name string
		v    *Vocab
	}{{"byte", byteVocab()}, {"byte+eos", byteVocabEOS()}} {
		for si, s := range schemas {
			t.Run(vc.name+"/"+s.name, func(t *testing.T) {
				g, err := Compile(json.RawMessage(s.format), vc.v)
				if err != nil {
					t.Fatal(err)
				}
				schema := schemaOf(t, s.format)
				rng := rand.New(rand.NewPCG(uint64(si), 1))
				for range 30 {
					out := walk(t, g, vc.v, rng, 0.6, 5000)
					checkOutput(t, out, schema)
				}
			})
		}
	}
}

func TestRandomWalksCl100k(t *testing.T) {
	v := cl100k(t)
	for si, s := range schemas {
		t.Run(s.name, func(t *testing.T) {
			g, err := Compile(json.RawMessage(s.format), v)
			if err != nil {
				t.Fatal(err)
			}
			schema := schemaOf(t, s.format)
			rng := rand.New(rand.NewPCG(uint64(si), 2))
			for range 4 {
				out := walk(t, g, v, rng, 0.5, 3000)
				checkOutput(t, out, schema)
			}
		})
	}
}

// TestTerminates: the closing policy (and one that takes whitespace
// whenever it may between tokens) reaches Complete within a bound for every schema.
func TestTerminates(t *testing.T) {
	v := byteVocab()
	single := singles(v)
	for _, s := range schemas {
		t.Run(s.name, func(t *testing.T) {
			g, err := Compile(json.RawMessage(s.format), v)
			if err != nil {
				t.Fatal(err)
			}
			for _, greedyWS := range []bool{false, true} {
				m := g.NewMatcher()
				allowed := make([]bool, len(v.Tokens))
				var out []byte
				inStr, esc := false, false // where the output is, lexically
				for n := 0; !m.Complete(); n++ {
					if n > 2000 {
						t.Fatalf("whitespace=%v: no end after %d tokens: %q", greedyWS, n, out)
					}
					for i := range allowed {
						allowed[i] = true
					}
					m.Mask(allowed)
					id := -1
					if greedyWS && !inStr {
						for _, c := range []byte(" \n\t\r") {
							if allowed[c] {
								id = int(c)
								break
							}
						}
					}
					if id < 0 {
						id = closingToken(v, single, allowed)
					}
					if err := m.Accept(id); err != nil {
						t.Fatal(err)
					}
					out = append(out, v.Tokens[id]...)
					switch c := v.Tokens[id][0]; {
					case esc:
						esc = false
					case inStr && c == '\\':
						esc = true
					case c == '"':
						inStr = !inStr
					}
				}
				checkOutput(t, out, schemaOf(t, s.format))
			}
		})
	}
}

// TestMasked feeds a prefix and checks which next bytes are allowed.
func TestMasked(t *testing.T) {
	person := schemas[1].format
	cases := []struct {
		name, format, prefix string
		allow, deny          string // bytes that must and must not be allowed
		eos                  bool   // EOS allowed
	}{
		{"object start", `{"type":"json_object"}`, ``, `{`, " [\"1tn", false},
		{"object open", `{"type":"json_object"}`, `{`, "\"} \n", "{[1,:", false},
		{"any value", `{"type":"json_object"}`, `{"a":`, "{[\"-0123456789tfn \t", "}],:x+", false},
		{"required key", person, `{`, `"`, "}", false},
		{"key names", person, `{"`, "n", "aetxyz\"", false},
		{"skip optional", person, `{"name":"x","age":1,"`, "et", "na\"", false},
		{"close after required", person, `{"name":"x","age":1`, "},0123456789 ", "]\"", false},
		{"no extra key", person, `{"name":"x","age":1,"email":"e","tags":[]`, "} ", ",\"", false},
		{"maxLength", person, `{"name":"12345678901234567890`, `"`, "a\\ ", false},
		{"minLength", person, `{"name":"`, "a\\ ", "\"", false},
		{"integer", person, `{"name":"x","age":1`, "0123456789", ".eE", false},
		{"leading zero", person, `{"name":"x","age":0`, ",}", "0123456789", false},
		{"maxItems", person, `{"name":"x","age":1,"tags":["a","b","c"`, "]", ",", false},
		{"control char", person, `{"name":"a`, "b\\\"", "\x00\x01\n\t", false},
		{"escape", person, `{"name":"a\`, "\"\\/bfnrtu", "xa0", false},
		{"surrogate", person, `{"name":"a\ud`, "01234567", "89abcdefABCDEF", false},
		{"utf8", person, "{\"name\":\"\xe2", "\x80\xbf", "a\"\xc0\xff", false},
		{"enum", schemas[2].format, `{"color":"gr`, "e", "aro\"", false},
		{"enum prefix number", schemas[2].format, `{"color":1`, ",2 ", "3}", false},
		{"const", schemas[2].format, `{"color":null,"v":`, "{ ", "[\"x", false},
		{"typed enum", schemas[2].format, `{"color":null,"v":{"x":[1,2]},"k":`, `"`, "3", false},
		{"oneOf first byte", schemas[4].format, `[`, "\"-0tf", "n{[", false},
		{"minItems", schemas[4].format, `[1`, ",", "]", false},
		{"anyOf object kinds", schemas[3].format, `{"kind":"`, "ab", "c\"", false},
		{"anyOf chosen", schemas[3].format, `{"kind":"b","`, "y", "x", false},
		{"whitespace bound", `{"type":"json_object"}`, "{" + strings.Repeat(" ", MaxWhitespace), "\"}", " \n", false},
		{"no leading space", `{"type":"json_object"}`, ``, "{", " \n", false},
		{"top number", schemas[8].format, `-1.5`, "0123456789eE", ".-,", true},
		{"top number exp", schemas[8].format, `1e+99`, "", "0123456789", true},
		{"top string", schemas[9].format, `"ab`, "\"c", "", false},
		{"below depth limit", `{"type":"json_object"}`, `{"a":` + strings.Repeat("[", MaxDepth-2), "]\"1{[", "", false},
		{"pattern digits", schemas[11].format, `{"date":"20`, "0123456789\\", "-a\"", false}, // \u0030 is a 0 too
		{"pattern dash", schemas[11].format, `{"date":"2024`, "-", "0\"", false},
		{"pattern end", schemas[11].format, `{"date":"2024-01-31`, "\"", "0-\\", false},
		{"pattern utf8 leads", schemas[11].format, `{"date":"2024-01-31","code":"AB1","word":"`, "\xc3\xe6\xf0\\a", "\xc4\xe7\xf1b\"", false},
		{"pattern utf8 cont", schemas[11].format, "{\"date\":\"2024-01-31\",\"code\":\"AB1\",\"word\":\"\xe6", "\x97", "\x96\x98\x80", false},
		{"pattern escape", schemas[11].format, `{"date":"2024-01-31","code":"AB1","word":"\`, "nu", "t\"/", false},
		{"pattern \\u", schemas[11].format, `{"date":"2024-01-31","code":"AB1","word":"\u00`, "0eE", "f1", false},
		{"pattern literal dot", schemas[11].format, `{"date":"2024-01-31","code":"AB1","word":"a`, ".", "b\"", false},
		{"pattern accepts", schemas[11].format, `{"date":"2024-01-31","code":"AB1","word":"a.b`, "\"a\xc3", "b.", false},
		{"pattern unanchored end", schemas[11].format, `{"date":"2024-01-31","code":"AB1`, "\"0x!", "", false},
		{"pattern maxLength", schemas[11].format, `{"date":"2024-01-31","code":"AB1234567890`, "\"", "0x", false},
		{"depth limit", `{"type":"json_object"}`, `{"a":` + strings.Repeat("[", MaxDepth-1), "]", "[\"1{", false},
		{"depth limit map", `{"type":"json_object"}`, `{"a":` + strings.Repeat("[", MaxDepth-2) + `{`, "}", "\"", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v := byteVocabEOS()
			g, err := Compile(json.RawMessage(tc.format), v)
			if err != nil {
				t.Fatal(err)
			}
			m := g.NewMatcher()
			for i := 0; i < len(tc.prefix); i++ {
				if err := m.Accept(int(tc.prefix[i])); err != nil {
					t.Fatalf("prefix %q: byte %d: %v", tc.prefix, i, err)
				}
			}
			allowed := make([]bool, len(v.Tokens))
			for i := range allowed {
				allowed[i] = true
			}
			m.Mask(allowed)
			for _, c := range []byte(tc.allow) {
				if !allowed[c] {
					t.Errorf("after %q, %q is masked; want it allowed", tc.prefix, c)
				}
			}
			for _, c := range []byte(tc.deny) {
				if allowed[c] {
					t.Errorf("after %q, %q is allowed; want it masked", tc.prefix, c)
				}
				// Accept agrees with Mask.
				m2 := g.NewMatcher()
				for i := 0; i < len(tc.prefix); i++ {
					_ = m2.Accept(int(tc.prefix[i]))
				}
				if err := m2.Accept(int(c)); err == nil {
					t.Errorf("after %q, Accept(%q) succeeds; want an error", tc.prefix, c)
				}
			}
			if allowed[256] != tc.eos {
				t.Errorf("after %q, EOS allowed %v, want %v", tc.prefix, allowed[256], tc.eos)
			}
		})
	}
}

// TestCl100kMask: on a real 100k vocabulary, multi-byte tokens that cross
// JSON structure are allowed where they fit, special tokens never, EOS
// only at the end.
func TestCl100kMask(t *testing.T) {
	v := cl100k(t)
	tok, err := tokenizer.Load("cl100k_base", "")
	if err != nil {
		t.Fatal(err)
	}
	g, err := Compile(json.RawMessage(schemas[1].format), v)
	if err != nil {
		t.Fatal(err)
	}
	id := func(s string) int {
		ids := tok.Encode(s)
		if len(ids) != 1 {
			t.Fatalf("%q is %d tokens", s, len(ids))
		}
		return ids[0]
	}
	m := g.NewMatcher()
	allowed := make([]bool, len(v.Tokens)+10) // the model may have more rows than the vocabulary
	mask := func() {
		for i := range allowed {
			allowed[i] = true
		}
		m.Mask(allowed)
	}
	mask()
	eos := tok.EOS()
	for _, c := range []struct {
		s  string
		ok bool
	}{{`{"`, true}, {`{`, true}, {`{}`, false}, {` {`, false}, {`[`, false}} {
		if allowed[id(c.s)] != c.ok {
			t.Errorf("at the start, %q allowed = %v, want %v", c.s, !c.ok, c.ok)
		}
	}
	if allowed[eos] || allowed[len(v.Tokens)+3] {
		t.Errorf("EOS or an id past the vocabulary is allowed at the start")
	}
	for _, s := range []string{`{"`, `name`, `":"`, `Bob`, `",`} {
		mask()
		if !allowed[id(s)] {
			t.Fatalf("%q masked", s)
		}
		if err := m.Accept(id(s)); err != nil {
			t.Fatal(err)
		}
	}
	mask()
	if !allowed[id(`"`)] || allowed[id(`"name`)] || !allowed[id(` "`)] {
		t.Errorf(`after {"name":"Bob", want " and space-quote allowed, "name masked`)
	}
	for _, s := range []string{`"`, `age`, `":`, `42`, `}`} {
		if err := m.Accept(id(s)); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
	}
	if !m.Complete() {
		t.Fatal("not complete after the closing brace")
	}
	mask()
	n := 0
	for i, ok := range allowed {
		if ok {
			n++
			if i != eos {
				t.Errorf("token %d allowed after the end", i)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d tokens allowed after the end, want only EOS", n)
	}
	if err := m.Accept(eos); err != nil {
		t.Errorf("EOS at the end: %v", err)
	}
	// Special tokens are never allowed.
	m = g.NewMatcher()
	if err := m.Accept(tok.(interface{ Special(string) int }).Special("<|fim_prefix|>")); err == nil {
		t.Error("a special token was accepted")
	}
	if err := m.Accept(eos); err == nil {
		t.Error("EOS accepted before the value is whole")
	}
}

func TestErrors(t *testing.T) {
	js := func(schema string) string {
		return `{"type":"json_schema","json_schema":{"name":"x","schema":` + schema + `}}`
	}
	cases := []struct{ format, want string }{
		{`[]`, `response_format: want an object such as {"type":"json_object"}`},
		{`{}`, `response_format: want an object such as {"type":"json_object"}`},
		{`{"type":"yaml"}`, `response_format.type: want "text", "json_object" or "json_schema", got "yaml"`},
		{`{"type":"json_schema"}`, `response_format.json_schema: required when type is "json_schema"`},
		{`{"type":"json_schema","json_schema":{"schema":{}}}`, `response_format.json_schema.name: want 1 to 64 letters, digits, _ or -`},
		{js(`{"type":"string","format":"date"}`), `response_format.json_schema.schema: unsupported keyword "format"`},
		{js(`{"type":"object","properties":{"zip":{"type":["string","number"],"format":"email","minimum":1}}}`),
			`response_format.json_schema.schema at /properties/zip: unsupported keywords "format", "minimum"`},
		{js(`{"type":"string","pattern":"\\bx"}`), `schema: pattern "\\bx": \b or \B is not supported`},
		{js(`{"type":"string","pattern":"(?i)abc"}`), `pattern "(?i)abc": case-insensitive matching is not supported`},
		{js(`{"type":"string","pattern":"a(?=b)"}`), `pattern "a(?=b)": error parsing regexp: invalid or unsupported Perl syntax`},
		{js(`{"type":"string","pattern":"a^b"}`), `^ or $ inside the pattern (only at its ends) is not supported`},
		{js(`{"type":"string","pattern":"^[^\\x00-\\x{10FFFF}]$"}`), `no string matches`},
		{js(`{"type":"string","pattern":3}`), `pattern must be a string`},
		{js(`{"type":"integer","minimum":0}`), `unsupported keyword "minimum"`},
		{js(`{"type":"array","items":{"type":"number","multipleOf":2}}`), `at /items: unsupported keyword "multipleOf"`},
		{js(`{"type":"array","uniqueItems":true}`), `unsupported keyword "uniqueItems" (only false)`},
		{js(`{"type":"array","prefixItems":[]}`), `unsupported keyword "prefixItems"`},
		{js(`{"not":{"type":"null"}}`), `unsupported keyword "not"`},
		{js(`{"$defs":{"A":{"type":"string"}},"$ref":"#/$defs/A","type":"string"}`), `unsupported keyword "type" beside $ref`},
		{js(`{"type":"object","properties":{"a":{"$ref":"#/$defs/A"}},"$defs":{"A":{"type":"string","format":"date"}}}`),
			`at /$defs/A: unsupported keyword "format"`},
		{js(`{"$ref":"#/$defs/Nope"}`), `$ref "#/$defs/Nope": no "$defs" in the schema`},
		{js(`{"$ref":"other.json"}`), `only references into the same schema`},
		{js(`{"$defs":{"A":{"$ref":"#/$defs/A"}},"type":"object","properties":{"a":{"$ref":"#/$defs/A"}}}`), `$ref cycle that never reaches an object or array`},
		{js(`{"oneOf":[{"type":"string"},{"type":"string","maxLength":3}]}`), `oneOf branches 0 and 1 can start alike`},
		{js(`{"type":"strin"}`), `type "strin" is not one of`},
		{js(`{"type":"object","required":["a"]}`), `required property "a" is not in properties`},
		{js(`{"type":"string","minLength":5,"maxLength":2}`), `minLength 5 is more than maxLength 2`},
		{js(`{"type":"string","maxLength":-1}`), `maxLength must be a non-negative integer, got -1`},
		{js(`{"enum":["a"],"maxLength":3}`), `unsupported keyword "maxLength" beside enum or const`},
		{js(`{"type":"integer","enum":["a"]}`), `no value of enum or const is of the schema's type`},
		{js(`false`), `the schema false accepts no value`},
		{js(`{"anyOf":[]}`), `anyOf must be a non-empty array of schemas`},
		{js(`{"allOf":[{},{}]}`), `allOf is supported only with a single schema`},
		{js(`{"properties":{},"items":{}}`), `keywords of several types (object, array) without a type`},
	}
	for _, tc := range cases {
		_, err := Compile(json.RawMessage(tc.format), byteVocab())
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.format, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.format, err, tc.want)
		}
	}
	// text: nothing to enforce.
	g, err := Compile(json.RawMessage(`{"type":"text"}`), byteVocab())
	if g != nil || err != nil {
		t.Errorf("text: got %v, %v; want nil, nil", g, err)
	}
	c := NewCompiler(byteVocab())
	if k, err := c.Compile(json.RawMessage(`{"type":"text"}`)); k != nil || err != nil {
		t.Errorf("Compiler text: got %v, %v; want nil, nil", k, err)
	}
}

// TestCompilerShares: the Compiler gives each request its own state over
// one shared grammar.
func TestCompilerShares(t *testing.T) {
	c := NewCompiler(byteVocab())
	a, err := c.Compile(json.RawMessage(`{"type":"json_object"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Compile(json.RawMessage(` { "type" : "json_object" } `))
	if err != nil {
		t.Fatal(err)
	}
	if a.(*Matcher).g != b.(*Matcher).g {
		t.Error("the same format compiled twice")
	}
	for _, ch := range []byte(`{"a":1}`) {
		if err := a.Accept(int(ch)); err != nil {
			t.Fatal(err)
		}
	}
	if !a.Complete() || b.Complete() {
		t.Errorf("state shared between requests: a %v b %v", a.Complete(), b.Complete())
	}
	if err := b.Accept('}'); err == nil {
		t.Error("b accepted } first")
	}
}

func BenchmarkMask(b *testing.B) {
	for _, vc := range []struct {
		name string
		v    func() *Vocab
	}{{"byte", byteVocab}, {"cl100k", func() *Vocab { return cl100k(b) }}} {
		v := vc.v()
		for _, st := range []struct{ name, format, prefix string }{
			{"object-start", schemas[1].format, `{`},
			{"in-string", schemas[0].format, `{"a":"xyz`},
			{"in-number", schemas[1].format, `{"name":"x","age":4`},
			{"in-bounded-string", schemas[1].format, `{"name":"x`},
		} {
			b.Run(fmt.Sprintf("%s/%s", vc.name, st.name), func(b *testing.B) {
				g, err := Compile(json.RawMessage(st.format), v)
				if err != nil {
					b.Fatal(err)
				}
				m := g.NewMatcher()
				single := singles(v)
				for i := 0; i < len(st.prefix); i++ {
					if err := m.Accept(single[st.prefix[i]]); err != nil {
						b.Fatal(err)
					}
				}
				allowed := make([]bool, len(v.Tokens))
				b.ResetTimer()
				for b.Loop() {
					g.mu.Lock()
					clear(g.cache) // time the walk, not the cache
					g.mu.Unlock()
					for i := range allowed {
						allowed[i] = true
					}
					m.Mask(allowed)
				}
				b.ReportMetric(float64(popcount(m.allowedBits())), "allowed")
			})
		}
	}
}

// TestPlainStringShortcut: inside an unbounded string Mask takes the
// precomputed plain tokens and walks only the rest; that gives exactly
// what walking the whole vocabulary gives, at every step of some walks.
func TestPlainStringShortcut(t *testing.T) {
	v := cl100k(t)
	tok, err := tokenizer.Load("cl100k_base", "")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, c := range []struct{ format, text string }{
		{`{"type":"json_object"}`, `{"a": "hello wörld \u00e9 \n 日本語 \"quoted\" end", "b": ["x", "yy"], "": {"k": "v"}}`},
		{`{"type":"json_object"}`, `{"emoji": "` + "\U0001F600" + ` ok", "tab": "a\tb"}`},
		{schemas[1].format, `{"name": "Zoë \n the longest", "age": 3, "tags": ["ab", "日本語の", "12345678"]}`},
	} {
		g, err := Compile(json.RawMessage(c.format), v)
		if err != nil {
			t.Fatal(err)
		}
		text := c.text
		if !json.Valid([]byte(text)) {
			t.Fatalf("bad fixture %s", text)
		}
		m := g.NewMatcher()
		for _, id := range tok.Encode(text) {
			if _, ok := m.inPlainString(); ok {
				fast := slices.Clone(m.allowedBits())
				full := make([]uint64, len(fast))
				m.walk(&g.ix.all, 0, 0, &m.cur, full)
				if !slices.Equal(fast, full) {
					t.Fatalf("in %s: the shortcut allows %d tokens, the full walk %d", text, popcount(fast), popcount(full))
				}
				checked++
			}
			if err := m.Accept(id); err != nil {
				t.Fatalf("%s: token %q: %v", text, v.Tokens[id], err)
			}
		}
		if !m.Complete() {
			t.Fatalf("%s: not complete", text)
		}
	}
	if checked < 5 {
		t.Fatalf("only %d states inside strings checked", checked)
	}
}

// TestNewVocabHF: Hugging Face tokenizers' special tokens are never
// allowed, their EOS ends the output, and walks over their vocabularies
// (byte-level and sentencepiece-style with byte fallback) validate.
func TestNewVocabHF(t *testing.T) {
	for i, f := range []string{"llama3.json", "llama2.json", "gpt2.json"} {
		t.Run(f, func(t *testing.T) {
			tok, err := tokenizer.LoadHF("../tokenizer/testdata/hf/" + f)
			if err != nil {
				t.Fatal(err)
			}
			v := NewVocab(tok)
			sp := tok
			for id := range tok.VocabSize() {
				b := tok.TokenBytes(id)
				isSpecial := sp.Special(string(b)) == id
				if isSpecial != (v.Tokens[id] == nil) {
					t.Errorf("token %d %q: special %v, excluded %v", id, b, isSpecial, v.Tokens[id] == nil)
				}
			}
			if !slices.Equal(v.EOS, []int{tok.EOS()}) {
				t.Errorf("EOS %v, want [%d]", v.EOS, tok.EOS())
			}
			g, err := Compile(json.RawMessage(schemas[1].format), v)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(uint64(i), 3))
			for range 10 {
				checkOutput(t, walk(t, g, v, rng, 0.6, 3000), schemaOf(t, schemas[1].format))
			}
		})
	}
}

// TestConcurrentMatchers: matchers of one Grammar (sharing its mask
// cache) used from several goroutines give what one goroutine gives.
func TestConcurrentMatchers(t *testing.T) {
	v := byteVocabEOS()
	g, err := Compile(json.RawMessage(schemas[1].format), v)
	if err != nil {
		t.Fatal(err)
	}
	run := func(seed uint64) string {
		rng := rand.New(rand.NewPCG(seed, 4))
		return string(walk(t, g, v, rng, 0.6, 5000))
	}
	want := make([]string, 8)
	for i := range want {
		want[i] = run(uint64(i))
	}
	g.mu.Lock()
	clear(g.cache)
	g.mu.Unlock()
	got := make([]string, len(want))
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i] = run(uint64(i)) })
	}
	wg.Wait()
	if !slices.Equal(got, want) {
		t.Errorf("concurrent walks differ:\n got %q\nwant %q", got, want)
	}
}

// TestDeadEndStops: a schema whose every value is deeper than MaxDepth (a
// required recursive property) reaches a state where nothing may follow;
// Complete then reports true so the engine stops.
func TestDeadEndStops(t *testing.T) {
	v := byteVocab()
	g, err := Compile(json.RawMessage(`{"type":"json_schema","json_schema":{"name":"deep","schema":{
		"type":"object","properties":{"next":{"$ref":"#"}},"required":["next"]}}}`), v)
	if err != nil {
		t.Fatal(err)
	}
	m := g.NewMatcher()
	single := singles(v)
	allowed := make([]bool, len(v.Tokens))
	var out []byte
	for !m.Complete() {
		if len(out) > 1000 {
			t.Fatalf("no stop after %q", out)
		}
		for i := range allowed {
			allowed[i] = true
		}
		m.Mask(allowed)
		id := closingToken(v, single, allowed)
		if id < 0 {
			t.Fatalf("nothing allowed after %q, but not Complete", out)
		}
		if err := m.Accept(id); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Tokens[id]...)
	}
	if want := strings.Repeat(`{"next":`, MaxDepth) + strings.Repeat("\t", MaxWhitespace); string(out) != want {
		t.Errorf("stopped after %q, want %q", out, want)
	}
}
