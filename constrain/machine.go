package constrain

// frame is one level of the automaton's stack: a node and where in it the
// output is.
type frame struct {
	n  int32 // node
	st int32 // phase
	a  int32 // count, trie node or property position
	b  int32 // whitespace run, or pending UTF-8 continuation bytes
	c  int32 // a pattern's DFA state
	d  int32 // the code point being read (UTF-8 or \u), for a pattern
}

// Phases of objects, maps and arrays (st of their frames).
const (
	pStart = iota // before the opening byte
	pOpen         // after { or [
	pComma        // after ,
	pKey          // inside a declared key (a: key trie node)
	pColon        // after a key (a: property index)
	pValue        // after :
	pAfter        // after a value (a: next position, or the item count)
)

// Phases of strings.
const (
	sStart = iota
	sBody
	sEsc  // after \
	sU1   // \u, first hex digit
	sU2D  // \uD, second digit 0–7 (no surrogates)
	sU2   // second hex digit
	sU3   // third
	sU4   // fourth
	sUTF8 // b: pending continuation bytes (count<<16 | lo<<8 | hi)
)

// Phases of numbers; nEnd* phases are whole numbers.
const (
	nStart = iota
	nMinus
	nZero // int part "0"
	nInt  // int digits (a: count)
	nDot
	nFrac // fraction digits (a: count)
	nE
	nESign
	nExp // exponent digits (a: count)
)

// set is a set of stacks (the automaton is nondeterministic where anyOf
// branches start alike): stack i is frames[ends[i-1]:ends[i]].
type set struct {
	frames []frame
	ends   []int32
}

func (s *set) reset() { s.frames, s.ends = s.frames[:0], s.ends[:0] }

func (s *set) len() int { return len(s.ends) }

func (s *set) stack(i int) []frame {
	lo := int32(0)
	if i > 0 {
		lo = s.ends[i-1]
	}
	return s.frames[lo:s.ends[i]]
}

func (s *set) copyFrom(o *set) {
	s.frames = append(s.frames[:0], o.frames...)
	s.ends = append(s.ends[:0], o.ends...)
}

// maxThreads bounds the stacks of a set; past it the rest are dropped
// (reachable only with anyOf branches that agree for long).
const maxThreads = 64

func isWS(c byte) bool { return c == ' ' || c == '\n' || c == '\t' || c == '\r' }

// initFrame is the frame that starts a value of node n.
func (g *Grammar) initFrame(n int32) frame {
	f := frame{n: n}
	if g.nodes[n].kind == kLiteral {
		f.a = g.nodes[n].lit
	}
	return f
}

// stepSet advances every stack of src by byte c into dst.
func (g *Grammar) stepSet(dst, src *set, c byte) {
	dst.reset()
	if len(src.ends) == 1 && len(src.frames) > 0 && c != '"' {
		// Fast path: one stack inside a string, where most of a
		// vocabulary's walk goes and no byte but the quote pops.
		top := src.frames[len(src.frames)-1]
		if n := &g.nodes[top.n]; n.kind == kString && top.st != sStart {
			if g.stringByte(&top, n, c) {
				dst.frames = append(dst.frames, src.frames...)
				dst.frames[len(dst.frames)-1] = top
				dst.ends = append(dst.ends, int32(len(dst.frames)))
			}
			return
		}
	}
	for i := range src.len() {
		g.stepStack(dst, src.stack(i), c)
	}
	if dst.len() > 1 {
		g.dedupe(dst)
	}
}

func (g *Grammar) stepStack(dst *set, s []frame, c byte) {
	start := len(dst.frames)
	dst.frames = append(dst.frames, s...)
	g.run(dst, start, c)
}

// dedupe drops repeated stacks and keeps at most maxThreads.
func (g *Grammar) dedupe(s *set) {
	w := 0 // stacks kept
	wf := int32(0)
	for i := range s.len() {
		st := s.stack(i)
		dup := w >= maxThreads
		for j := 0; j < w && !dup; j++ {
			dup = equalFrames(s.stack(j), st)
		}
		if dup {
			continue
		}
		n := int32(copy(s.frames[wf:], st))
		wf += n
		s.ends[w] = wf
		w++
	}
	s.frames, s.ends = s.frames[:wf], s.ends[:w]
}

func equalFrames(a, b []frame) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// run advances the stack dst.frames[start:] by c; on success it records
// the stack's end, on failure it truncates the stack away.
func (g *Grammar) run(dst *set, start int, c byte) {
	fail := func() { dst.frames = dst.frames[:start] }
	ok := func() { dst.ends = append(dst.ends, int32(len(dst.frames))) }
	push := func(n int32) bool {
		if len(dst.frames)-start >= MaxDepth {
			return false
		}
		dst.frames = append(dst.frames, g.initFrame(n))
		return true
	}
	pop := func() { dst.frames = dst.frames[:len(dst.frames)-1] }
	for {
		top := len(dst.frames) - 1
		if top < start {
			fail() // the value is done: nothing may follow
			return
		}
		f := &dst.frames[top]
		n := &g.nodes[f.n]
		// Whitespace between tokens, counted per gap.
		if n.kind <= kArray && f.st != pStart && f.st != pKey && isWS(c) {
			if f.b >= MaxWhitespace {
				fail()
				return
			}
			f.b++
			ok()
			return
		}
		switch n.kind {
		case kObject, kMap:
			switch f.st {
			case pStart:
				if c != '{' {
					fail()
					return
				}
				f.st, f.a, f.b = pOpen, 0, 0
				ok()
				return
			case pOpen, pComma, pAfter:
				if c == '}' && f.st != pComma && (n.kind == kMap || !n.reqAfter[f.a]) {
					pop()
					ok()
					return
				}
				if c == ',' && f.st == pAfter && (n.kind == kMap || n.keyTrie[f.a] >= 0) {
					f.st, f.b = pComma, 0
					ok()
					return
				}
				if f.st == pAfter {
					fail()
					return
				}
				if n.kind == kMap {
					f.st, f.b = pColon, 0
					if c != '"' || !push(g.plainStringNode) {
						fail()
						return
					}
					continue
				}
				if n.keyTrie[f.a] < 0 {
					fail()
					return
				}
				t := g.tnext(n.keyTrie[f.a], c)
				if t < 0 {
					fail()
					return
				}
				f.st, f.a, f.b = pKey, t, 0
				ok()
				return
			case pKey:
				t := g.tnext(f.a, c)
				if t < 0 {
					fail()
					return
				}
				if j := g.tries[t].term; j >= 0 {
					f.st, f.a = pColon, j
				} else {
					f.a = t
				}
				ok()
				return
			case pColon:
				if c != ':' {
					fail()
					return
				}
				f.st, f.b = pValue, 0
				ok()
				return
			case pValue:
				v := n.value
				if n.kind == kObject {
					v = n.props[f.a].value
					f.a++
				}
				f.st, f.b = pAfter, 0
				if !push(v) {
					fail()
					return
				}
				continue
			}
		case kArray:
			switch f.st {
			case pStart:
				if c != '[' {
					fail()
					return
				}
				f.st, f.a, f.b = pOpen, 0, 0
				ok()
				return
			case pOpen, pComma:
				if c == ']' && f.st == pOpen && n.minN == 0 {
					pop()
					ok()
					return
				}
				if f.a >= n.maxN {
					fail()
					return
				}
				f.st, f.b = pAfter, 0
				if f.a < n.sat {
					f.a++
				}
				if !push(n.value) {
					fail()
					return
				}
				continue
			case pAfter:
				if c == ',' && f.a < n.maxN {
					f.st, f.b = pComma, 0
					ok()
					return
				}
				if c == ']' && f.a >= n.minN {
					pop()
					ok()
					return
				}
				fail()
				return
			}
		case kString:
			if g.stringByte(f, n, c) {
				if f.st == sStart { // the closing quote
					pop()
				}
				ok()
			} else {
				fail()
			}
			return
		case kNumber:
			switch g.numberByte(f, n, c) {
			case 1:
				ok()
				return
			case 0:
				fail()
				return
			}
			pop() // the number ended before c
			continue
		case kLiteral:
			t := g.tnext(f.a, c)
			if t >= 0 {
				if g.tries[t].term >= 0 && len(g.tries[t].edges) == 0 {
					pop()
				} else {
					f.a, f.st = t, 1
				}
				ok()
				return
			}
			if f.st == 1 && g.tries[f.a].term >= 0 {
				pop()
				continue
			}
			fail()
			return
		case kUnion:
			var first int32 = -1
			matches := 0
			for _, b := range n.branches {
				if g.nodes[b].starts(c) {
					if matches == 0 {
						first = b
					}
					matches++
				}
			}
			switch matches {
			case 0:
				fail()
				return
			case 1:
				*f = g.initFrame(first)
				continue
			}
			// Several branches: one stack each.
			saved := append([]frame(nil), dst.frames[start:]...)
			dst.frames = dst.frames[:start]
			for _, b := range n.branches {
				if !g.nodes[b].starts(c) {
					continue
				}
				s := len(dst.frames)
				dst.frames = append(dst.frames, saved...)
				dst.frames[len(dst.frames)-1] = g.initFrame(b)
				g.run(dst, s, c)
			}
			return
		}
		panic("constrain: bad automaton state")
	}
}

// stringByte advances a string frame by c; the frame's st is back to
// sStart after the closing quote.
func (g *Grammar) stringByte(f *frame, n *node, c byte) bool {
	var d *dfa
	if n.pat > 0 {
		d = g.dfas[n.pat-1]
	}
	char := func() bool { // a new code point starts
		if f.a >= n.maxN {
			return false
		}
		if f.a < n.sat {
			f.a++
		}
		return true
	}
	// rune completes a code point under the pattern; partial checks that
	// one of lo…hi could still.
	rune1 := func(r rune) bool {
		if d == nil {
			return true
		}
		t := d.step(f.c, r)
		if t < 0 {
			return false
		}
		f.c = t
		return true
	}
	partial := func(lo, hi rune) bool { return d == nil || d.liveIn(f.c, lo, hi) }
	switch f.st {
	case sStart:
		if c != '"' {
			return false
		}
		f.st, f.a, f.c = sBody, 0, 0
		return true
	case sBody:
		switch {
		case c == '"':
			if f.a < n.minN || d != nil && !d.accept[f.c] {
				return false
			}
			f.st = sStart
			return true
		case c == '\\':
			if d != nil && !partial(0, 0xFFFF) {
				return false
			}
			f.st = sEsc
			return char()
		case c < 0x20:
			return false
		case c < 0x80:
			return char() && rune1(rune(c))
		}
		// rem continuation bytes in lo…hi first; v the lead's bits; the
		// code points it can start are rlo…rhi.
		var rem, lo, hi, v, rlo, rhi int32
		switch {
		case c >= 0xC2 && c <= 0xDF:
			rem, lo, hi, v = 1, 0x80, 0xBF, int32(c&0x1F)<<6
			rlo, rhi = v, v+0x3F
		case c == 0xE0:
			rem, lo, hi, v, rlo, rhi = 2, 0xA0, 0xBF, 0, 0x800, 0xFFF
		case c == 0xED:
			rem, lo, hi, v, rlo, rhi = 2, 0x80, 0x9F, 0xD000, 0xD000, 0xD7FF
		case c >= 0xE1 && c <= 0xEF:
			rem, lo, hi, v = 2, 0x80, 0xBF, int32(c&0x0F)<<12
			rlo, rhi = v, v+0xFFF
		case c == 0xF0:
			rem, lo, hi, v, rlo, rhi = 3, 0x90, 0xBF, 0, 0x10000, 0x3FFFF
		case c >= 0xF1 && c <= 0xF3:
			rem, lo, hi, v = 3, 0x80, 0xBF, int32(c&0x07)<<18
			rlo, rhi = v, v+0x3FFFF
		case c == 0xF4:
			rem, lo, hi, v, rlo, rhi = 3, 0x80, 0x8F, 0x100000, 0x100000, 0x10FFFF
		default:
			return false
		}
		if !partial(rune(rlo), rune(rhi)) || !char() {
			return false
		}
		f.st, f.b, f.d = sUTF8, rem<<16|lo<<8|hi, v
		return true
	case sUTF8:
		rem, lo, hi := f.b>>16, (f.b>>8)&0xFF, f.b&0xFF
		if int32(c) < lo || int32(c) > hi {
			return false
		}
		rem--
		v := f.d | int32(c&0x3F)<<(6*rem)
		if rem == 0 {
			if !rune1(rune(v)) {
				return false
			}
			f.st, f.b, f.d = sBody, 0, 0
			return true
		}
		if !partial(rune(v), rune(v+1<<(6*rem)-1)) {
			return false
		}
		f.b, f.d = rem<<16|0x80<<8|0xBF, v
		return true
	case sEsc:
		var r rune
		switch c {
		case '"', '\\', '/':
			r = rune(c)
		case 'b':
			r = '\b'
		case 'f':
			r = '\f'
		case 'n':
			r = '\n'
		case 'r':
			r = '\r'
		case 't':
			r = '\t'
		case 'u':
			if !partial(0, 0xFFFF) {
				return false
			}
			f.st, f.d = sU1, 0
			return true
		default:
			return false
		}
		if !rune1(r) {
			return false
		}
		f.st = sBody
		return true
	case sU1, sU2D, sU2, sU3, sU4:
		if !isHex(c) || f.st == sU2D && (c < '0' || c > '7') {
			return false
		}
		h := int32(hexVal(c))
		v := f.d<<4 | h
		var left int32 // hex digits after this one
		switch f.st {
		case sU1:
			left = 3
		case sU2D, sU2:
			left = 2
		case sU3:
			left = 1
		}
		if left == 0 {
			if !rune1(rune(v)) {
				return false
			}
			f.st, f.d = sBody, 0
			return true
		}
		lo := v << (4 * left)
		if !partial(rune(lo), rune(lo+1<<(4*left)-1)) {
			return false
		}
		switch f.st {
		case sU1:
			if c == 'd' || c == 'D' {
				f.st = sU2D
			} else {
				f.st = sU2
			}
		case sU2D, sU2:
			f.st = sU3
		case sU3:
			f.st = sU4
		}
		f.d = v
		return true
	}
	return false
}

func hexVal(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// numberByte advances a number frame by c: 1 consumed, 0 rejected, 2 the
// number is whole and c is not part of it.
func (g *Grammar) numberByte(f *frame, n *node, c byte) int {
	end := func() int {
		if numberWhole(f.st) {
			return 2
		}
		return 0
	}
	switch f.st {
	case nStart, nMinus:
		switch {
		case c == '-' && f.st == nStart:
			f.st = nMinus
		case c == '0':
			f.st = nZero
		case c >= '1' && c <= '9':
			f.st, f.a = nInt, 1
		default:
			return 0
		}
		return 1
	case nZero, nInt:
		switch {
		case isDigit(c) && f.st == nInt && f.a < maxIntDigits:
			f.a++
		case c == '.' && !n.integer:
			f.st = nDot
		case (c == 'e' || c == 'E') && !n.integer:
			f.st = nE
		default:
			return end()
		}
		return 1
	case nDot:
		if !isDigit(c) {
			return 0
		}
		f.st, f.a = nFrac, 1
		return 1
	case nFrac:
		switch {
		case isDigit(c) && f.a < maxFracDigits:
			f.a++
		case c == 'e' || c == 'E':
			f.st = nE
		default:
			return end()
		}
		return 1
	case nE, nESign:
		switch {
		case (c == '+' || c == '-') && f.st == nE:
			f.st = nESign
		case isDigit(c):
			f.st, f.a = nExp, 1
		default:
			return 0
		}
		return 1
	case nExp:
		if isDigit(c) && f.a < maxExpDigits {
			f.a++
			return 1
		}
		return end()
	}
	return 0
}

func numberWhole(st int32) bool { return st == nZero || st == nInt || st == nFrac || st == nExp }

// endable reports whether a frame holds a whole value that could also go on
// (a number, or a literal that is a prefix of another).
func (g *Grammar) endable(f frame) bool {
	switch g.nodes[f.n].kind {
	case kNumber:
		return numberWhole(f.st)
	case kLiteral:
		return f.st == 1 && g.tries[f.a].term >= 0
	}
	return false
}

// accepting reports whether some stack of s is a whole value.
func (g *Grammar) accepting(s *set) bool {
	for i := range s.len() {
		st := s.stack(i)
		if len(st) == 0 || len(st) == 1 && g.endable(st[0]) {
			return true
		}
	}
	return false
}
