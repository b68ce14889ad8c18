package chem

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// SDFError is a MOL/SD record that could not be read: the 1-based line of the
// input, the field concerned, and what was wrong.
type SDFError struct {
	Line  int
	Field string // e.g. "atom count", "x coordinate", "bond type", "M  CHG"
	Text  string // the offending text
	Msg   string
}

func (e *SDFError) Error() string {
	return fmt.Sprintf("sdf: line %d: %s %q: %s", e.Line, e.Field, e.Text, e.Msg)
}

// SDFReader reads V2000 MOL blocks and SD files (records separated by
// "$$$$", each followed by its "> <NAME>" data items). Each molecule is
// sanitised like ParseSMILES's (implicit hydrogens for atoms without a
// valence field, rings, aromaticity), keeps hydrogen atoms as atoms, and has
// its coordinates in Coords.
//
// Read: the counts line, the atom block (coordinates, symbol, charge code
// with its doublet-radical value, valence field), the bond block (types 1, 2,
// 3 and 4 = aromatic), and the M  CHG, M  RAD and M  ISO lines (the first of
// these resets the atom block's charges and radicals, as the format says).
// Not read: V3000, query atoms and bonds (an error), the atom block's mass
// difference (use M  ISO), wedge and parity stereo marks.
type SDFReader struct {
	r    *bufio.Reader
	line int
	eof  bool
}

// NewSDFReader returns a reader of the records in r.
func NewSDFReader(r io.Reader) *SDFReader {
	return &SDFReader{r: bufio.NewReader(r)}
}

// ReadSDF reads every record of an SD file.
func ReadSDF(r io.Reader) ([]*Molecule, error) {
	sr := NewSDFReader(r)
	var out []*Molecule
	for {
		m, err := sr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

// ParseMolBlock reads one MOL block (with or without SD data and "$$$$").
func ParseMolBlock(s string) (*Molecule, error) {
	m, err := NewSDFReader(strings.NewReader(s)).Next()
	if err == io.EOF {
		return nil, &SDFError{Line: 1, Field: "header", Msg: "empty MOL block"}
	}
	return m, err
}

// readLine returns the next line without its line ending; ok is false at the
// end of the input.
func (sr *SDFReader) readLine() (string, bool, error) {
	if sr.eof {
		return "", false, nil
	}
	s, err := sr.r.ReadString('\n')
	if err == io.EOF {
		sr.eof = true
		if s == "" {
			return "", false, nil
		}
	} else if err != nil {
		return "", false, err
	}
	sr.line++
	s = strings.TrimRight(s, "\r\n")
	return s, true, nil
}

func (sr *SDFReader) errf(field, text, format string, args ...any) *SDFError {
	return &SDFError{Line: sr.line, Field: field, Text: text, Msg: fmt.Sprintf(format, args...)}
}

// mustLine reads a line that the format requires.
func (sr *SDFReader) mustLine(what string) (string, error) {
	s, ok, err := sr.readLine()
	if err != nil {
		return "", err
	}
	if !ok {
		return "", &SDFError{Line: sr.line + 1, Field: what, Msg: "unexpected end of input"}
	}
	return s, nil
}

// field returns the fixed-width columns [from, to) of s, trimmed, or "" when
// the line is shorter.
func field(s string, from, to int) string {
	if from >= len(s) {
		return ""
	}
	if to > len(s) {
		to = len(s)
	}
	return strings.TrimSpace(s[from:to])
}

func (sr *SDFReader) intField(s string, from, to int, name string, required bool) (int, error) {
	f := field(s, from, to)
	if f == "" {
		if required {
			return 0, sr.errf(name, f, "missing (columns %d-%d)", from+1, to)
		}
		return 0, nil
	}
	v, err := strconv.Atoi(f)
	if err != nil {
		return 0, sr.errf(name, f, "not an integer (columns %d-%d)", from+1, to)
	}
	return v, nil
}

func (sr *SDFReader) floatField(s string, from, to int, name string) (float64, error) {
	f := field(s, from, to)
	if f == "" {
		return 0, sr.errf(name, f, "missing (columns %d-%d)", from+1, to)
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		return 0, sr.errf(name, f, "not a number (columns %d-%d)", from+1, to)
	}
	return v, nil
}

// maxMolAtoms bounds the counts line, so that a corrupt count cannot ask for
// a huge allocation.
const maxMolAtoms = 100_000

// Next returns the next record, or io.EOF after the last.
func (sr *SDFReader) Next() (*Molecule, error) {
	// The header is three free lines (title, program, comment) and the
	// counts line; any of the first three may be blank. Input that ends
	// before a header with only blank lines is the end of the file.
	var header []string
	for len(header) < 4 {
		s, ok, err := sr.readLine()
		if err != nil {
			return nil, err
		}
		if !ok {
			for _, h := range header {
				if strings.TrimSpace(h) != "" {
					return nil, &SDFError{Line: sr.line + 1, Field: "header", Msg: "unexpected end of input in the header"}
				}
			}
			return nil, io.EOF
		}
		header = append(header, s)
	}
	m := &Molecule{Name: strings.TrimSpace(header[0])}
	counts := header[3]
	if v := field(counts, 33, 39); v == "V3000" {
		return nil, sr.errf("version", v, "V3000 MOL blocks are not supported")
	} else if v != "" && v != "V2000" {
		return nil, sr.errf("version", v, "expected V2000")
	}
	nAtoms, err := sr.intField(counts, 0, 3, "atom count", true)
	if err != nil {
		return nil, err
	}
	nBonds, err := sr.intField(counts, 3, 6, "bond count", true)
	if err != nil {
		return nil, err
	}
	if nAtoms < 0 || nAtoms > maxMolAtoms || nBonds < 0 || nBonds > 4*maxMolAtoms {
		return nil, sr.errf("counts line", strings.TrimSpace(counts[:min(6, len(counts))]), "implausible atom or bond count")
	}

	valenceField := make([]int, nAtoms)
	for i := 0; i < nAtoms; i++ {
		s, err := sr.mustLine("atom block")
		if err != nil {
			return nil, err
		}
		a, xyz, val, err := sr.atomLine(s)
		if err != nil {
			return nil, err
		}
		m.addAtom(a)
		m.Coords = append(m.Coords, xyz)
		valenceField[i] = val
	}
	for k := 0; k < nBonds; k++ {
		s, err := sr.mustLine("bond block")
		if err != nil {
			return nil, err
		}
		b, err := sr.bondLine(s, nAtoms)
		if err != nil {
			return nil, err
		}
		if m.BondBetween(b.Begin, b.End) >= 0 {
			return nil, sr.errf("bond atoms", field(s, 0, 6), "duplicate bond")
		}
		m.addBond(b)
		if b.Order == Aromatic {
			m.Atoms[b.Begin].Aromatic = true
			m.Atoms[b.End].Aromatic = true
		}
	}
	if err := sr.properties(m); err != nil {
		return nil, err
	}
	// A valence field fixes the hydrogen count (as RDKit reads it).
	for i, v := range valenceField {
		if v == 0 {
			continue
		}
		a := &m.Atoms[i]
		a.Bracket = true
		if v == 15 {
			v = 0
		}
		sum := 0.0
		for _, b := range m.adj[i] {
			sum += m.Bonds[b].Order.valence()
		}
		if h := v - int(sum+0.5); h > 0 {
			a.ExplicitH = h
		}
	}
	if err := sr.dataItems(m); err != nil {
		return nil, err
	}
	if err := sanitize(m); err != nil {
		if ae, ok := err.(*atomError); ok {
			a := m.Atoms[ae.atom]
			return nil, &SDFError{Line: a.Pos, Field: "atom " + strconv.Itoa(ae.atom+1), Text: a.Element, Msg: ae.msg}
		}
		return nil, err
	}
	return m, nil
}

var chargeCodes = map[int]int{0: 0, 1: 3, 2: 2, 3: 1, 4: 0, 5: -1, 6: -2, 7: -3}

func (sr *SDFReader) atomLine(s string) (Atom, [3]float64, int, error) {
	var a Atom
	var xyz [3]float64
	a.Pos = sr.line
	for k, name := range []string{"x coordinate", "y coordinate", "z coordinate"} {
		v, err := sr.floatField(s, 10*k, 10*k+10, name)
		if err != nil {
			return a, xyz, 0, err
		}
		xyz[k] = v
	}
	sym := field(s, 31, 34)
	switch sym {
	case "":
		return a, xyz, 0, sr.errf("atom symbol", sym, "missing (columns 32-34)")
	case "D", "T":
		a.Element, a.AtomicNum, a.Isotope = "H", 1, 2
		if sym == "T" {
			a.Isotope = 3
		}
	case "*":
		a.Element = "*"
	default:
		z, ok := symbolToZ[sym]
		if !ok || z == 0 {
			return a, xyz, 0, sr.errf("atom symbol", sym, "unknown element (query atoms are not supported)")
		}
		a.Element, a.AtomicNum = sym, z
	}
	code, err := sr.intField(s, 36, 39, "charge", false)
	if err != nil {
		return a, xyz, 0, err
	}
	c, ok := chargeCodes[code]
	if !ok {
		return a, xyz, 0, sr.errf("charge", field(s, 36, 39), "charge code must be 0-7")
	}
	a.Charge = c
	if code == 4 {
		a.Radicals = 1
	}
	val, err := sr.intField(s, 48, 51, "valence", false)
	if err != nil {
		return a, xyz, 0, err
	}
	if val < 0 || val > 15 {
		return a, xyz, 0, sr.errf("valence", field(s, 48, 51), "valence field must be 0-15")
	}
	return a, xyz, val, nil
}

func (sr *SDFReader) bondLine(s string, nAtoms int) (Bond, error) {
	var b Bond
	b.Pos = sr.line
	a1, err := sr.intField(s, 0, 3, "first bond atom", true)
	if err != nil {
		return b, err
	}
	a2, err := sr.intField(s, 3, 6, "second bond atom", true)
	if err != nil {
		return b, err
	}
	if a1 < 1 || a1 > nAtoms {
		return b, sr.errf("first bond atom", field(s, 0, 3), "no atom %d (the block has %d)", a1, nAtoms)
	}
	if a2 < 1 || a2 > nAtoms {
		return b, sr.errf("second bond atom", field(s, 3, 6), "no atom %d (the block has %d)", a2, nAtoms)
	}
	if a1 == a2 {
		return b, sr.errf("bond atoms", field(s, 0, 6), "bond from an atom to itself")
	}
	t, err := sr.intField(s, 6, 9, "bond type", true)
	if err != nil {
		return b, err
	}
	switch t {
	case 1, 2, 3:
		b.Order = BondOrder(t)
	case 4:
		b.Order = Aromatic
	default:
		return b, sr.errf("bond type", field(s, 6, 9), "bond type must be 1, 2, 3 or 4 (query bonds are not supported)")
	}
	b.Begin, b.End = a1-1, a2-1
	return b, nil
}

// properties reads the properties block up to "M  END".
func (sr *SDFReader) properties(m *Molecule) error {
	reset := false
	for {
		s, err := sr.mustLine("properties block (M  END)")
		if err != nil {
			return err
		}
		if strings.HasPrefix(s, "M  END") {
			return nil
		}
		switch {
		case strings.HasPrefix(s, "A  "), strings.HasPrefix(s, "G  "):
			// An alias or group abbreviation: its text is on the next line.
			if _, err := sr.mustLine("properties block"); err != nil {
				return err
			}
			continue
		case !strings.HasPrefix(s, "M  "):
			continue
		}
		kind := field(s, 0, 6)
		if kind != "M  CHG" && kind != "M  RAD" && kind != "M  ISO" {
			continue
		}
		if !reset && (kind == "M  CHG" || kind == "M  RAD") {
			for i := range m.Atoms {
				m.Atoms[i].Charge, m.Atoms[i].Radicals = 0, 0
			}
			reset = true
		}
		f := strings.Fields(s[6:])
		if len(f) == 0 {
			return sr.errf(kind, s, "missing entry count")
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 0 || len(f) != 1+2*n {
			return sr.errf(kind, s, "entry count does not match the entries")
		}
		for k := 0; k < n; k++ {
			ai, err1 := strconv.Atoi(f[1+2*k])
			v, err2 := strconv.Atoi(f[2+2*k])
			if err1 != nil || err2 != nil {
				return sr.errf(kind, s, "entry %d is not two integers", k+1)
			}
			if ai < 1 || ai > len(m.Atoms) {
				return sr.errf(kind, s, "no atom %d", ai)
			}
			a := &m.Atoms[ai-1]
			switch kind {
			case "M  CHG":
				if v < -15 || v > 15 {
					return sr.errf(kind, s, "charge %d out of range", v)
				}
				a.Charge = v
			case "M  RAD":
				// 1 singlet (two unpaired electrons), 2 doublet, 3 triplet.
				switch v {
				case 0:
					a.Radicals = 0
				case 1, 3:
					a.Radicals = 2
				case 2:
					a.Radicals = 1
				default:
					return sr.errf(kind, s, "radical value %d must be 0-3", v)
				}
			case "M  ISO":
				if v < 0 || v > 999 {
					return sr.errf(kind, s, "mass %d out of range", v)
				}
				a.Isotope = v
			}
		}
	}
}

// dataItems reads "> <NAME>" items up to "$$$$" or the end of the input.
func (sr *SDFReader) dataItems(m *Molecule) error {
	for {
		s, ok, err := sr.readLine()
		if err != nil {
			return err
		}
		if !ok || strings.HasPrefix(s, "$$$$") {
			return nil
		}
		if strings.TrimSpace(s) == "" {
			continue
		}
		if !strings.HasPrefix(s, ">") {
			return sr.errf("data header", s, "expected '> <NAME>' or '$$$$'")
		}
		name := ""
		if i := strings.IndexByte(s, '<'); i >= 0 {
			if j := strings.IndexByte(s[i+1:], '>'); j >= 0 {
				name = s[i+1 : i+1+j]
			}
		}
		if name == "" {
			return sr.errf("data header", s, "no <NAME> in the header")
		}
		var vals []string
		for {
			v, ok, err := sr.readLine()
			if err != nil {
				return err
			}
			if !ok || strings.TrimSpace(v) == "" {
				break
			}
			if strings.HasPrefix(v, "$$$$") {
				m.Data = append(m.Data, DataItem{name, strings.Join(vals, "\n")})
				return nil
			}
			vals = append(vals, v)
		}
		m.Data = append(m.Data, DataItem{name, strings.Join(vals, "\n")})
		if sr.eof {
			return nil
		}
	}
}
