package chem

import (
	"fmt"
	"sort"
	"unicode/utf8"
)

// ParseError is a SMILES that could not be read: a syntax error, or a
// molecule RDKit would reject when sanitising it (impossible valence, an
// aromatic system with no Kekulé structure).
type ParseError struct {
	Input  string
	Line   int    // 1-based line of a multi-line source; 0 when not known
	Column int    // 1-based column, in characters, of the offending text
	Char   string // the offending character (or atom, for chemistry errors)
	Msg    string
}

func (e *ParseError) Error() string {
	where := fmt.Sprintf("column %d", e.Column)
	if e.Line > 0 {
		where = fmt.Sprintf("line %d, column %d", e.Line, e.Column)
	}
	return fmt.Sprintf("smiles: %s (%q): %s in %q", where, e.Char, e.Msg, e.Input)
}

// ParseSMILES reads a SMILES string and sanitises the molecule the way
// RDKit's MolFromSmiles does: nitro-type groups are put in charge-separated
// form, implicit hydrogens are added by RDKit's valence model, ring membership
// is found, the structure is kekulised and aromaticity perceived again with
// RDKit's default model, and conjugation and hybridisation are set.
// Hydrogens written as atoms ([H]) are kept as atoms.
func ParseSMILES(s string) (*Molecule, error) {
	m, err := ParseSMILESRaw(s)
	if err != nil {
		return nil, err
	}
	if err := sanitize(m); err != nil {
		return nil, smilesChemError(s, m, err)
	}
	return m, nil
}

// ParseSMILESRaw reads a SMILES string without sanitising it: atoms and bonds
// are as written (aromatic flags from lower-case symbols, aromatic bonds
// between aromatic atoms), with no implicit hydrogens or ring flags.
func ParseSMILESRaw(s string) (*Molecule, error) {
	p := &smilesParser{in: s}
	if err := p.parse(); err != nil {
		return nil, err
	}
	return p.m, nil
}

// smilesChemError turns a sanitisation error into a ParseError at the
// column of the atom concerned.
func smilesChemError(s string, m *Molecule, err error) error {
	ae, ok := err.(*atomError)
	if !ok {
		return err
	}
	pe := &ParseError{Input: s, Msg: ae.msg}
	a := m.Atoms[ae.atom]
	off := a.Pos - 1
	pe.Column = utf8.RuneCountInString(s[:off]) + 1
	pe.Char = atomText(s, off)
	return pe
}

// atomText is the atom token starting at byte offset off.
func atomText(s string, off int) string {
	if s[off] == '[' {
		for j := off; j < len(s); j++ {
			if s[j] == ']' {
				return s[off : j+1]
			}
		}
		return s[off:]
	}
	if off+1 < len(s) && (s[off:off+2] == "Cl" || s[off:off+2] == "Br") {
		return s[off : off+2]
	}
	return s[off : off+1]
}

// bondSpec is a bond symbol waiting for the atom or ring closure it leads to.
type bondSpec struct {
	set    bool
	order  BondOrder // 0: not given ('/' and '\' leave the order open)
	stereo BondStereo
	pos    int // byte offset of the symbol
}

type openRing struct {
	atom int
	bond bondSpec
	pos  int // byte offset of the ring number
}

type closure struct {
	num        int
	a1, a2     int
	b1, b2     bondSpec
	pos1, pos2 int
	seq        int
}

type smilesParser struct {
	in       string
	i        int // byte offset
	m        *Molecule
	prev     int // atom that the next atom bonds to; -1 at start
	bond     bondSpec
	dot      bool
	dotPos   int
	branches []int // byte offsets of open '('
	brAtoms  []int // atom each open branch returns to
	brCount  []int // atoms seen since the open '(' (to reject "()")
	open     map[int]openRing
	closures []closure
}

func (p *smilesParser) errAt(off int, msg string) *ParseError {
	e := &ParseError{Input: p.in, Msg: msg}
	if off > len(p.in) {
		off = len(p.in)
	}
	e.Column = utf8.RuneCountInString(p.in[:off]) + 1
	if off < len(p.in) {
		r, _ := utf8.DecodeRuneInString(p.in[off:])
		e.Char = string(r)
		if r == utf8.RuneError {
			e.Char = p.in[off : off+1]
		}
	}
	return e
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (p *smilesParser) parse() error {
	p.m = &Molecule{}
	p.prev = -1
	p.open = map[int]openRing{}
	// Surrounding white space is ignored (CSV cells often carry it); white
	// space inside the SMILES is an error.
	end := len(p.in)
	for end > 0 && isSpace(p.in[end-1]) {
		end--
	}
	for p.i < end && isSpace(p.in[p.i]) {
		p.i++
	}
	for p.i < end {
		c := p.in[p.i]
		switch {
		case c == '[' || c == '*' || isOrganicStart(c):
			if err := p.atom(); err != nil {
				return err
			}
		case c == '-' || c == '=' || c == '#' || c == '$' || c == ':' || c == '/' || c == '\\':
			if p.prev < 0 || p.dot {
				return p.errAt(p.i, "bond symbol with no atom before it")
			}
			if p.bond.set {
				return p.errAt(p.i, "two bond symbols in a row")
			}
			p.bond = bondSpec{set: true, pos: p.i}
			switch c {
			case '-':
				p.bond.order = Single
			case '=':
				p.bond.order = Double
			case '#':
				p.bond.order = Triple
			case '$':
				p.bond.order = Quadruple
			case ':':
				p.bond.order = Aromatic
			case '/':
				p.bond.stereo = StereoUp
			case '\\':
				p.bond.stereo = StereoDown
			}
			p.i++
		case c >= '0' && c <= '9' || c == '%':
			if err := p.ringBond(); err != nil {
				return err
			}
		case c == '(':
			if p.prev < 0 || p.dot {
				return p.errAt(p.i, "branch with no atom before it")
			}
			if p.bond.set {
				return p.errAt(p.bond.pos, "bond symbol before a branch")
			}
			p.branches = append(p.branches, p.i)
			p.brAtoms = append(p.brAtoms, p.prev)
			p.brCount = append(p.brCount, len(p.m.Atoms))
			p.i++
		case c == ')':
			n := len(p.branches)
			if n == 0 {
				return p.errAt(p.i, "unmatched ')'")
			}
			if p.bond.set {
				return p.errAt(p.bond.pos, "bond symbol with no atom after it")
			}
			if p.dot {
				return p.errAt(p.dotPos, "'.' with no atom after it")
			}
			if p.brCount[n-1] == len(p.m.Atoms) {
				return p.errAt(p.i, "empty branch")
			}
			p.prev = p.brAtoms[n-1]
			p.branches, p.brAtoms, p.brCount = p.branches[:n-1], p.brAtoms[:n-1], p.brCount[:n-1]
			p.i++
		case c == '.':
			if p.prev < 0 || p.dot {
				return p.errAt(p.i, "'.' with no atom before it")
			}
			if p.bond.set {
				return p.errAt(p.bond.pos, "bond symbol with no atom after it")
			}
			p.dot, p.dotPos = true, p.i
			p.i++
		default:
			return p.errAt(p.i, "unexpected character")
		}
	}
	if p.bond.set {
		return p.errAt(p.bond.pos, "bond symbol with no atom after it")
	}
	if p.dot {
		return p.errAt(p.dotPos, "'.' with no atom after it")
	}
	if n := len(p.branches); n > 0 {
		return p.errAt(p.branches[n-1], "unmatched '('")
	}
	if len(p.open) > 0 {
		first := -1
		for _, r := range p.open {
			if first < 0 || r.pos < first {
				first = r.pos
			}
		}
		return p.errAt(first, "unclosed ring")
	}
	return p.closeRings()
}

func isOrganicStart(c byte) bool {
	switch c {
	case 'B', 'C', 'N', 'O', 'P', 'S', 'F', 'I', 'b', 'c', 'n', 'o', 'p', 's':
		return true
	}
	return false
}

// atom reads one atom and bonds it to the previous one.
func (p *smilesParser) atom() error {
	start := p.i
	var a Atom
	var err error
	if p.in[p.i] == '[' {
		a, err = p.bracketAtom()
		if err != nil {
			return err
		}
	} else {
		a = p.organicAtom()
	}
	a.Pos = start + 1
	idx := p.m.addAtom(a)
	if p.prev >= 0 && !p.dot {
		p.addChainBond(p.prev, idx)
	}
	p.bond = bondSpec{}
	p.dot = false
	p.prev = idx
	return nil
}

func (p *smilesParser) addChainBond(a1, a2 int) {
	b := Bond{Begin: a1, End: a2, Order: p.bond.order, Stereo: p.bond.stereo}
	if p.bond.set {
		b.Pos = p.bond.pos + 1
	} else {
		b.Pos = p.m.Atoms[a2].Pos
	}
	if b.Order == 0 {
		b.Order = p.unspecifiedOrder(a1, a2)
	}
	p.m.addBond(b)
}

// unspecifiedOrder is the order of a bond written without a symbol (or with
// only '/' or '\'): aromatic between two aromatic atoms, single otherwise.
func (p *smilesParser) unspecifiedOrder(a1, a2 int) BondOrder {
	if p.m.Atoms[a1].Aromatic && p.m.Atoms[a2].Aromatic {
		return Aromatic
	}
	return Single
}

func (p *smilesParser) organicAtom() Atom {
	c := p.in[p.i]
	if c == '*' {
		p.i++
		return Atom{Element: "*"}
	}
	if p.i+1 < len(p.in) {
		two := p.in[p.i : p.i+2]
		if two == "Cl" || two == "Br" {
			p.i += 2
			return Atom{Element: two, AtomicNum: symbolToZ[two]}
		}
	}
	p.i++
	if c >= 'a' && c <= 'z' {
		sym := string(c - 'a' + 'A')
		return Atom{Element: sym, AtomicNum: symbolToZ[sym], Aromatic: true}
	}
	sym := string(c)
	return Atom{Element: sym, AtomicNum: symbolToZ[sym]}
}

// number reads up to maxDigits decimal digits; ok is false if there are none.
func (p *smilesParser) number(maxDigits int) (n int, ok bool, err error) {
	start := p.i
	for p.i < len(p.in) && p.in[p.i] >= '0' && p.in[p.i] <= '9' {
		if p.i-start >= maxDigits {
			return 0, false, p.errAt(start, "number too long")
		}
		n = n*10 + int(p.in[p.i]-'0')
		p.i++
	}
	return n, p.i > start, nil
}

var aromaticBracketSymbols = map[string]string{
	"b": "B", "c": "C", "n": "N", "o": "O", "p": "P", "s": "S",
	"se": "Se", "as": "As", "te": "Te", "si": "Si",
}

func (p *smilesParser) bracketAtom() (Atom, error) {
	open := p.i
	p.i++ // '['
	a := Atom{Bracket: true}
	iso, ok, err := p.number(4)
	if err != nil {
		return a, err
	}
	if ok {
		a.Isotope = iso
	}
	if p.i >= len(p.in) {
		return a, p.errAt(open, "unclosed '['")
	}
	// element symbol
	symPos := p.i
	c := p.in[p.i]
	switch {
	case c == '*':
		a.Element = "*"
		p.i++
	case c == '#':
		p.i++
		z, ok, err := p.number(3)
		if err != nil {
			return a, err
		}
		if !ok || z < 1 || z >= len(elements) {
			return a, p.errAt(symPos, "bad atomic number after '#'")
		}
		a.AtomicNum, a.Element = z, elements[z].symbol
	case c >= 'A' && c <= 'Z':
		sym := ""
		if p.i+1 < len(p.in) && p.in[p.i+1] >= 'a' && p.in[p.i+1] <= 'z' {
			if _, ok := symbolToZ[p.in[p.i:p.i+2]]; ok {
				sym = p.in[p.i : p.i+2]
			}
		}
		if sym == "" {
			if _, ok := symbolToZ[p.in[p.i:p.i+1]]; !ok {
				return a, p.errAt(symPos, "unknown element")
			}
			sym = p.in[p.i : p.i+1]
		}
		a.Element, a.AtomicNum = sym, symbolToZ[sym]
		p.i += len(sym)
	case c >= 'a' && c <= 'z':
		sym := ""
		if p.i+1 < len(p.in) {
			if s, ok := aromaticBracketSymbols[p.in[p.i:p.i+2]]; ok {
				sym = s
				p.i += 2
			}
		}
		if sym == "" {
			s, ok := aromaticBracketSymbols[p.in[p.i:p.i+1]]
			if !ok {
				return a, p.errAt(symPos, "unknown aromatic element")
			}
			sym = s
			p.i++
		}
		a.Element, a.AtomicNum, a.Aromatic = sym, symbolToZ[sym], true
	default:
		if c == ']' {
			return a, p.errAt(symPos, "bracket atom without an element")
		}
		return a, p.errAt(symPos, "bad character in bracket atom")
	}
	// chirality
	if p.i < len(p.in) && p.in[p.i] == '@' {
		start := p.i
		p.i++
		if p.i < len(p.in) && p.in[p.i] == '@' {
			p.i++
		} else if p.i+1 < len(p.in) {
			switch p.in[p.i : p.i+2] {
			case "TH", "AL", "SP", "TB", "OH":
				p.i += 2
				if _, _, err := p.number(2); err != nil {
					return a, err
				}
			}
		}
		a.Chirality = p.in[start:p.i]
	}
	// hydrogen count
	if p.i < len(p.in) && p.in[p.i] == 'H' {
		p.i++
		n, ok, err := p.number(2)
		if err != nil {
			return a, err
		}
		a.ExplicitH = 1
		if ok {
			a.ExplicitH = n
		}
	}
	// charge
	if p.i < len(p.in) && (p.in[p.i] == '+' || p.in[p.i] == '-') {
		sign := 1
		if p.in[p.i] == '-' {
			sign = -1
		}
		sc := p.in[p.i]
		p.i++
		n, ok, err := p.number(2)
		if err != nil {
			return a, err
		}
		switch {
		case ok:
			a.Charge = sign * n
		case p.i < len(p.in) && p.in[p.i] == sc:
			p.i++
			a.Charge = 2 * sign
		default:
			a.Charge = sign
		}
	}
	// atom class
	if p.i < len(p.in) && p.in[p.i] == ':' {
		colon := p.i
		p.i++
		n, ok, err := p.number(9)
		if err != nil {
			return a, err
		}
		if !ok {
			return a, p.errAt(colon, "atom class ':' without a number")
		}
		a.Class = n
	}
	if p.i >= len(p.in) {
		return a, p.errAt(open, "unclosed '['")
	}
	if p.in[p.i] != ']' {
		return a, p.errAt(p.i, "bad character in bracket atom")
	}
	p.i++
	return a, nil
}

// ringBond reads a ring-closure number (digit, %nn or %(n...)) and opens or
// closes that ring.
func (p *smilesParser) ringBond() error {
	pos := p.i
	if p.prev < 0 || p.dot {
		return p.errAt(pos, "ring number with no atom before it")
	}
	var num int
	if p.in[p.i] == '%' {
		p.i++
		if p.i < len(p.in) && p.in[p.i] == '(' {
			p.i++
			n, ok, err := p.number(5)
			if err != nil {
				return err
			}
			if !ok || p.i >= len(p.in) || p.in[p.i] != ')' {
				return p.errAt(pos, "bad ring number after '%('")
			}
			p.i++
			num = n
		} else {
			if p.i+1 >= len(p.in) || !isDigit(p.in[p.i]) || !isDigit(p.in[p.i+1]) {
				return p.errAt(pos, "'%' must be followed by two digits")
			}
			num = int(p.in[p.i]-'0')*10 + int(p.in[p.i+1]-'0')
			p.i += 2
		}
	} else {
		num = int(p.in[p.i] - '0')
		p.i++
	}
	bond := p.bond
	p.bond = bondSpec{}
	if r, ok := p.open[num]; ok {
		delete(p.open, num)
		if r.atom == p.prev {
			return p.errAt(pos, "ring closure bonds an atom to itself")
		}
		p.closures = append(p.closures, closure{num: num, a1: r.atom, a2: p.prev,
			b1: r.bond, b2: bond, pos1: r.pos, pos2: pos, seq: len(p.closures)})
		return nil
	}
	p.open[num] = openRing{atom: p.prev, bond: bond, pos: pos}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// closeRings adds the ring-closure bonds after the chain bonds, ordered by
// ring number as RDKit does (this fixes bond indices and neighbour order,
// which RDKit's clean-up steps depend on).
func (p *smilesParser) closeRings() error {
	sort.SliceStable(p.closures, func(i, j int) bool { return p.closures[i].num < p.closures[j].num })
	for _, c := range p.closures {
		if p.m.BondBetween(c.a1, c.a2) >= 0 {
			return p.errAt(c.pos2, "ring closure duplicates an existing bond")
		}
		// As in RDKit, the opening side's bond order wins if given; otherwise
		// the bond is the closing side's (and begins there). A stereo mark
		// only at the other end is taken over with its direction reversed.
		var b Bond
		if c.b1.order != 0 {
			b = Bond{Begin: c.a1, End: c.a2, Order: c.b1.order, Stereo: c.b1.stereo, Pos: c.pos1 + 1}
			if b.Stereo == StereoNone {
				b.Stereo = flipStereo(c.b2.stereo)
			}
		} else {
			b = Bond{Begin: c.a2, End: c.a1, Order: c.b2.order, Stereo: c.b2.stereo, Pos: c.pos2 + 1}
			if b.Stereo == StereoNone {
				b.Stereo = flipStereo(c.b1.stereo)
			}
		}
		if b.Order == 0 {
			b.Order = p.unspecifiedOrder(c.a1, c.a2)
		}
		p.m.addBond(b)
	}
	return nil
}

func flipStereo(s BondStereo) BondStereo {
	switch s {
	case StereoUp:
		return StereoDown
	case StereoDown:
		return StereoUp
	}
	return StereoNone
}
