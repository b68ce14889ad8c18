package constrain

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/bits"
	"regexp"
	"slices"
	"sync"

	"github.com/loomml/loom/serve/engine"
	"github.com/loomml/loom/tokenizer"
)

// Vocab is what the automaton needs of a tokenizer: each id's bytes and
// the end-of-sequence ids.
type Vocab struct {
	// Tokens[id] is the bytes token id decodes to; nil for ids that may
	// never be generated under a constraint (special tokens, holes).
	Tokens [][]byte
	// EOS lists the ids that end generation; they are allowed only where
	// the output is a whole value.
	EOS []int
}

// NewVocab reads tok's vocabulary. Special tokens (ids whose text the
// tokenizer names as special, such as <|endoftext|>) and ids without bytes
// of their own get nil; eos lists the model's end-of-sequence ids (tok.EOS()
// is added when it has one).
func NewVocab(tok tokenizer.Tokenizer, eos ...int) *Vocab {
	n := tok.VocabSize()
	v := &Vocab{Tokens: make([][]byte, n)}
	special, _ := tok.(interface{ Special(string) int })
	repl := []byte("\uFFFD")
	replID := -1
	if ids := tok.Encode("\uFFFD"); len(ids) == 1 {
		replID = ids[0]
	}
	for id := range n {
		b := tok.TokenBytes(id)
		if len(b) == 0 {
			continue
		}
		if special != nil && special.Special(string(b)) == id {
			continue
		}
		if bytes.Equal(b, repl) && id != replID {
			continue // an id with no token: TokenBytes gives U+FFFD
		}
		v.Tokens[id] = b
	}
	v.EOS = append(v.EOS, eos...)
	if e := tok.EOS(); e >= 0 && !slices.Contains(v.EOS, e) {
		v.EOS = append(v.EOS, e)
	}
	for _, e := range v.EOS {
		if e >= 0 && e < n {
			v.Tokens[e] = nil
		}
	}
	return v
}

// index is a vocabulary as byte tries, so Mask walks each shared prefix
// once.
type index struct {
	size   int
	eos    []int
	tokens [][]byte
	all    trie
	// plain marks the tokens that stay inside a JSON string from any
	// point between characters (no quote, no control byte, valid UTF-8 so
	// far); rest is the trie of the others. Inside an unbounded string,
	// Mask takes plain as it is and walks only rest.
	plain []uint64
	rest  trie
	// plainLE[k] is the plain tokens of at most k characters (code points
	// and escapes started), for strings with a maxLength.
	plainLE [][]uint64
}

// trie nodes are numbered in depth-first order; node i's edges are
// edgeByte/edgeNode[edgeLo[i]:edgeHi[i]] and the tokens ending at it are
// toks[tokLo[i]:tokHi[i]].
type trie struct {
	edgeLo, edgeHi []int32
	edgeByte       []byte
	edgeNode       []int32
	tokLo, tokHi   []int32
	toks           []int32
}

func newIndex(v *Vocab) *index {
	ix := &index{size: len(v.Tokens), eos: slices.Clone(v.EOS), tokens: v.Tokens}
	ix.plain = make([]uint64, (ix.size+63)/64)
	var all, rest []int32
	str := &node{kind: kString, maxN: unbounded, sat: unbounded}
	chars := make([]int32, len(v.Tokens))
	for id, b := range v.Tokens {
		if len(b) == 0 {
			continue
		}
		all = append(all, int32(id))
		f := frame{st: sBody}
		plain := true
		for _, c := range b {
			if c == '"' || !(&Grammar{}).stringByte(&f, str, c) {
				plain = false
				break
			}
		}
		if plain {
			ix.plain[id>>6] |= 1 << (id & 63)
			chars[id] = f.a
		} else {
			rest = append(rest, int32(id))
		}
	}
	maxChars := int32(0)
	for _, n := range chars {
		maxChars = max(maxChars, n)
	}
	ix.plainLE = make([][]uint64, maxChars+1)
	for k := range ix.plainLE {
		ix.plainLE[k] = make([]uint64, len(ix.plain))
	}
	for id := range v.Tokens {
		if ix.plain[id>>6]&(1<<(id&63)) != 0 {
			for k := chars[id]; k <= maxChars; k++ {
				ix.plainLE[k][id>>6] |= 1 << (id & 63)
			}
		}
	}
	ix.all.build(v.Tokens, all)
	ix.rest.build(v.Tokens, rest)
	return ix
}

func (t *trie) build(tokens [][]byte, ids []int32) {
	slices.SortFunc(ids, func(a, b int32) int { return bytes.Compare(tokens[a], tokens[b]) })
	var build func(lo, hi, depth int) int32
	build = func(lo, hi, depth int) int32 {
		nd := int32(len(t.edgeLo))
		t.edgeLo = append(t.edgeLo, 0)
		t.edgeHi = append(t.edgeHi, 0)
		t.tokLo = append(t.tokLo, int32(len(t.toks)))
		for lo < hi && len(tokens[ids[lo]]) == depth {
			t.toks = append(t.toks, ids[lo])
			lo++
		}
		t.tokHi = append(t.tokHi, int32(len(t.toks)))
		// Count the children, reserve their edges, then build them.
		k := 0
		for i := lo; i < hi; {
			c := tokens[ids[i]][depth]
			for i < hi && tokens[ids[i]][depth] == c {
				i++
			}
			k++
		}
		e := int32(len(t.edgeByte))
		t.edgeLo[nd], t.edgeHi[nd] = e, e+int32(k)
		t.edgeByte = append(t.edgeByte, make([]byte, k)...)
		t.edgeNode = append(t.edgeNode, make([]int32, k)...)
		for i := lo; i < hi; e++ {
			c := tokens[ids[i]][depth]
			j := i
			for j < hi && tokens[ids[j]][depth] == c {
				j++
			}
			t.edgeByte[e] = c
			t.edgeNode[e] = build(i, j, depth+1)
			i = j
		}
		return nd
	}
	build(0, len(ids), 0)
}

// Grammar is a compiled response format over one vocabulary. It is safe
// for concurrent use; New gives each request its own state.
type Grammar struct {
	ix              *index
	nodes           []node
	tries           []tnode
	dfas            []*dfa
	root            int32
	plainStringNode int32

	mu    sync.Mutex
	cache map[string][]uint64 // state → allowed tokens
}

// maskCache bounds the masks a Grammar keeps.
const maskCache = 128

// Compile compiles an OpenAI response_format for vocab. A {"type":"text"}
// format gives a nil Grammar and no error: nothing to enforce. Errors name
// the field (response_format.type, response_format.json_schema.schema at
// /properties/x, …) and what is wrong or unsupported.
func Compile(responseFormat json.RawMessage, vocab *Vocab) (*Grammar, error) {
	return compile(responseFormat, newIndex(vocab))
}

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func compile(rf json.RawMessage, ix *index) (*Grammar, error) {
	var f struct {
		Type       *string          `json:"type"`
		JSONSchema *json.RawMessage `json:"json_schema"`
	}
	if err := json.Unmarshal(rf, &f); err != nil || f.Type == nil {
		return nil, fmt.Errorf(`response_format: want an object such as {"type":"json_object"}`)
	}
	g := &Grammar{ix: ix, cache: map[string][]uint64{}}
	c := &compiler{g: g, refs: map[string]int32{}, any: -1, str: -1, param: "response_format.json_schema.schema"}
	switch *f.Type {
	case "text":
		return nil, nil
	case "json_object":
		g.root = c.anyObject()
	case "json_schema":
		if f.JSONSchema == nil {
			return nil, fmt.Errorf(`response_format.json_schema: required when type is "json_schema"`)
		}
		var js struct {
			Name   *string         `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		}
		if err := json.Unmarshal(*f.JSONSchema, &js); err != nil {
			return nil, fmt.Errorf(`response_format.json_schema: want {"name": …, "schema": {…}, "strict": true|false}: %v`, err)
		}
		if js.Name == nil || !nameRE.MatchString(*js.Name) {
			return nil, fmt.Errorf("response_format.json_schema.name: want 1 to 64 letters, digits, _ or -")
		}
		if len(js.Schema) == 0 || string(js.Schema) == "null" {
			g.root = c.anyValue()
			break
		}
		s, err := parseOrdered(js.Schema)
		if err != nil {
			return nil, fmt.Errorf("response_format.json_schema.schema: %v", err)
		}
		c.root = s
		root, err := c.ref("#", "")
		if err != nil {
			return nil, err
		}
		g.root = root
	default:
		return nil, fmt.Errorf(`response_format.type: want "text", "json_object" or "json_schema", got %q`, *f.Type)
	}
	g.plainStringNode = c.plainString()
	if err := c.firsts(); err != nil {
		return nil, err
	}
	return g, nil
}

// New returns a fresh constraint (one per request).
func (g *Grammar) New() engine.Constraint { return g.NewMatcher() }

// NewMatcher returns a fresh matcher (one per request).
func (g *Grammar) NewMatcher() *Matcher {
	m := &Matcher{g: g}
	m.cur.frames = append(m.cur.frames, g.initFrame(g.root))
	m.cur.ends = append(m.cur.ends, 1)
	return m
}

// Matcher is one request's position in a Grammar: an engine.Constraint.
type Matcher struct {
	g        *Grammar
	cur      set
	tmp      set
	tmp2     set
	levels   []set // Mask's per-depth states
	done     bool  // an EOS was accepted
	key      []byte
	complete int8 // cached Complete: 0 unknown, 1 false, 2 true
}

var _ engine.Constraint = (*Matcher)(nil)

// Accept advances past token id: its bytes, or an end-of-sequence id where
// the output is whole.
func (m *Matcher) Accept(id int) error {
	ix := m.g.ix
	if m.done {
		return fmt.Errorf("constrain: token %d after the end of the output", id)
	}
	if slices.Contains(ix.eos, id) {
		if !m.g.accepting(&m.cur) {
			return fmt.Errorf("constrain: end of sequence (token %d) before the JSON value is whole", id)
		}
		m.done = true
		return nil
	}
	if id < 0 || id >= ix.size || ix.tokens[id] == nil {
		return fmt.Errorf("constrain: token %d may not be generated under a response_format", id)
	}
	a, b := &m.tmp, &m.tmp2
	a.copyFrom(&m.cur)
	for _, c := range ix.tokens[id] {
		m.g.stepSet(b, a, c)
		if b.len() == 0 {
			return fmt.Errorf("constrain: token %d (%q) does not continue the JSON here", id, ix.tokens[id])
		}
		a, b = b, a
	}
	m.cur.copyFrom(a)
	m.complete = 0
	return nil
}

// Complete reports whether the output is a whole value that nothing may
// extend (or an end-of-sequence token was accepted). It also reports true
// at a dead end, where no byte may follow though the value is not whole
// (see the package documentation), so that generation stops.
func (m *Matcher) Complete() bool {
	if m.done {
		return true
	}
	if m.complete == 0 {
		m.complete = 1
		if !m.anyByte() {
			m.complete = 2
		}
	}
	return m.complete == 2
}

func (m *Matcher) anyByte() bool {
	for c := range 256 {
		m.g.stepSet(&m.tmp, &m.cur, byte(c))
		if m.tmp.len() > 0 {
			return true
		}
	}
	return false
}

// Mask clears allowed[id] for every token that may not come next.
func (m *Matcher) Mask(allowed []bool) {
	ix := m.g.ix
	if m.Complete() {
		for id := range allowed {
			if allowed[id] && !slices.Contains(ix.eos, id) {
				allowed[id] = false
			}
		}
		return
	}
	bitsOK := m.allowedBits()
	some := false
	for id := range allowed {
		if id >= ix.size || bitsOK[id>>6]&(1<<(id&63)) == 0 {
			allowed[id] = false
		} else if allowed[id] {
			some = true
		}
	}
	if !some {
		// A dead end (a vocabulary without some byte the JSON needs):
		// let the model end rather than leave it nothing.
		for _, e := range ix.eos {
			if e >= 0 && e < len(allowed) {
				allowed[e] = true
			}
		}
	}
}

// allowedBits returns the allowed tokens of the current state, from the
// Grammar's cache or by walking the vocabulary trie.
func (m *Matcher) allowedBits() []uint64 {
	m.key = m.key[:0]
	for _, e := range m.cur.ends {
		m.key = binary.LittleEndian.AppendUint32(m.key, uint32(e))
	}
	for _, f := range m.cur.frames {
		for _, v := range [...]int32{f.n, f.st, f.a, f.b, f.c, f.d} {
			m.key = binary.LittleEndian.AppendUint32(m.key, uint32(v))
		}
	}
	g := m.g
	g.mu.Lock()
	b, ok := g.cache[string(m.key)]
	g.mu.Unlock()
	if ok {
		return b
	}
	ix := g.ix
	b = make([]uint64, (ix.size+63)/64)
	if room, ok := m.inPlainString(); ok {
		copy(b, ix.plainLE[min(room, len(ix.plainLE)-1)])
		m.walk(&ix.rest, 0, 0, &m.cur, b)
	} else {
		m.walk(&ix.all, 0, 0, &m.cur, b)
	}
	if g.accepting(&m.cur) {
		for _, e := range ix.eos {
			if e >= 0 && e < ix.size {
				b[e>>6] |= 1 << (e & 63)
			}
		}
	}
	g.mu.Lock()
	if len(g.cache) >= maskCache {
		for k := range g.cache { // drop one at random
			delete(g.cache, k)
			break
		}
	}
	g.cache[string(m.key)] = b
	g.mu.Unlock()
	return b
}

// inPlainString reports whether the state is one stack between two
// characters of a string, and how many more characters the string may
// take.
func (m *Matcher) inPlainString() (room int, ok bool) {
	if m.cur.len() != 1 || len(m.cur.frames) == 0 {
		return 0, false
	}
	top := m.cur.frames[len(m.cur.frames)-1]
	n := &m.g.nodes[top.n]
	if n.kind != kString || top.st != sBody {
		return 0, false
	}
	if n.pat > 0 {
		return 0, false
	}
	return int(n.maxN - top.a), true
}

// walk marks the tokens under node nd of trie t that cur (the state after
// the bytes of the path to nd) can take.
func (m *Matcher) walk(t *trie, nd int32, depth int, cur *set, out []uint64) {
	for len(m.levels) <= depth+1 {
		m.levels = append(m.levels, set{})
	}
	for e := t.edgeLo[nd]; e < t.edgeHi[nd]; e++ {
		next := &m.levels[depth+1]
		m.g.stepSet(next, cur, t.edgeByte[e])
		if next.len() == 0 {
			continue
		}
		ch := t.edgeNode[e]
		for _, id := range t.toks[t.tokLo[ch]:t.tokHi[ch]] {
			out[id>>6] |= 1 << (id & 63)
		}
		if t.edgeLo[ch] < t.edgeHi[ch] {
			m.walk(t, ch, depth+1, next, out)
		}
	}
}

// Compiler compiles response formats for one model's vocabulary; the
// serve package keeps one per model. It is safe for concurrent use and
// keeps recently compiled grammars (with their mask caches) by format.
type Compiler struct {
	ix *index

	mu       sync.Mutex
	grammars map[string]*Grammar
	order    []string
}

// compilerCache bounds the grammars a Compiler keeps.
const compilerCache = 16

// NewCompiler indexes vocab.
func NewCompiler(vocab *Vocab) *Compiler {
	return &Compiler{ix: newIndex(vocab), grammars: map[string]*Grammar{}}
}

// Compile compiles responseFormat and returns a fresh constraint for one
// request; a {"type":"text"} format gives a nil Constraint and no error.
func (c *Compiler) Compile(responseFormat json.RawMessage) (engine.Constraint, error) {
	var key bytes.Buffer
	if err := json.Compact(&key, responseFormat); err != nil {
		return nil, fmt.Errorf(`response_format: want an object such as {"type":"json_object"}`)
	}
	c.mu.Lock()
	g, ok := c.grammars[key.String()]
	c.mu.Unlock()
	if !ok {
		var err error
		g, err = compile(responseFormat, c.ix)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, nil
		}
		c.mu.Lock()
		if old, ok := c.grammars[key.String()]; ok {
			g = old
		} else if len(c.order) >= compilerCache {
			delete(c.grammars, c.order[0])
			c.order = c.order[1:]
		}
		if _, ok := c.grammars[key.String()]; !ok {
			c.grammars[key.String()] = g
			c.order = append(c.order, key.String())
		}
		c.mu.Unlock()
	}
	return g.New(), nil
}

// popcount is used by tests and benchmarks to count allowed tokens.
func popcount(b []uint64) int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}
