// Package atoms reads atomistic data: frames of elements, Cartesian
// positions and, when labelled, forces and an energy, from (extended) XYZ
// files as ASE writes them, from V2000 SD files (through package chem) and
// from NumPy .npz archives in the MD17 layouts (ReadAny picks by the
// extension; ReadNPZ), and writes extended XYZ (Write). Split divides
// frames into training, validation and test parts, keeping a molecule's
// geometries together.
//
// A frame is an atom-count line, a comment line and one line per atom. In
// extended XYZ the comment line holds key=value pairs (values may be
// double-quoted, with \" and \\ escapes; a bare key means true), and its
// Properties key names the per-atom columns as name:type:count triples,
// e.g.
//
//	Properties=species:S:1:pos:R:3:forces:R:3 energy=-15.124491 pbc="F F F"
//
// species (S:1, element symbols) or Z (I:1, atomic numbers) and pos (R:3)
// are required; forces (R:3) is read when present; other columns are kept
// by name in Frame.Arrays (types R and I) or Frame.Strings (S and L). The
// energy key is read into Frame.Energy and every other key kept, unparsed,
// in Frame.Info. A comment line without a Properties key means plain XYZ:
// species and pos. Units are the file's own; nothing is converted.
//
// Bad input is an error naming the file and line (and, in an atom line,
// the field), never skipped.
package atoms

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/internal/fsutil"
)

// Frame is one structure.
type Frame struct {
	Line    int       // line of the atom-count line in the file
	Z       []int     // atomic numbers
	Species []string  // element symbols as written (or derived from Z)
	Pos     []float64 // positions, [atom][x y z] row-major
	// Forces, [atom][x y z] row-major; nil when the file has none.
	Forces    []float64
	Energy    float64
	HasEnergy bool
	// Info holds the comment line's other keys (quotes removed); a bare
	// key maps to "T".
	Info map[string]string
	// Comment is the comment line as written.
	Comment string
	// Arrays and Strings hold the other per-atom columns by name,
	// [atom][component] row-major.
	Arrays  map[string][]float64
	Strings map[string][]string
}

// Len is the number of atoms.
func (f *Frame) Len() int { return len(f.Z) }

// property is one name:type:count column group.
type property struct {
	name  string
	typ   byte // S, R, I or L
	count int
}

// ReadFile reads every frame of an XYZ file, decompressing it when the
// name ends in .gz.
func ReadFile(path string) ([]Frame, error) {
	r, err := fsutil.Open(path)
	if err != nil {
		return nil, fmt.Errorf("atoms: %w", err)
	}
	defer r.Close()
	return Read(r, filepath.Base(path))
}

// Read parses every frame of an (extended) XYZ stream; name labels errors.
func Read(r io.Reader, name string) ([]Frame, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	line := 0
	next := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		line++
		return strings.TrimSuffix(sc.Text(), "\r"), true
	}
	errf := func(l int, format string, a ...any) error {
		return fmt.Errorf("atoms: %s:%d: %s", name, l, fmt.Sprintf(format, a...))
	}
	var frames []Frame
	for {
		text, ok := next()
		if !ok {
			break
		}
		if strings.TrimSpace(text) == "" {
			continue // blank lines between frames or at the end
		}
		start := line
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil || n < 0 {
			return nil, errf(line, "atom count %q is not a non-negative integer", text)
		}
		comment, ok := next()
		if !ok {
			return nil, errf(start, "frame of %d atoms ends before its comment line", n)
		}
		fr := Frame{Line: start, Comment: comment}
		props, err := fr.parseComment(comment)
		if err != nil {
			return nil, errf(line, "%v", err)
		}
		width := 0
		for _, p := range props {
			width += p.count
		}
		fr.Z = make([]int, n)
		fr.Species = make([]string, n)
		fr.Pos = make([]float64, 3*n)
		for a := range n {
			text, ok := next()
			if !ok {
				return nil, errf(start, "file ends after %d of the frame's %d atoms", a, n)
			}
			f := strings.Fields(text)
			if len(f) != width {
				return nil, errf(line, "%d fields, want %d (%s)", len(f), width, describe(props))
			}
			col := 0
			for _, p := range props {
				for c := range p.count {
					v := f[col]
					col++
					if err := fr.set(p, a, c, n, v); err != nil {
						return nil, errf(line, "field %d (%s): %v", col, fieldLabel(p, c), err)
					}
				}
			}
		}
		frames = append(frames, fr)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("atoms: %s: after line %d: %w", name, line, err)
	}
	return frames, nil
}

func describe(props []property) string {
	var parts []string
	for _, p := range props {
		parts = append(parts, fmt.Sprintf("%s:%c:%d", p.name, p.typ, p.count))
	}
	return strings.Join(parts, " ")
}

func fieldLabel(p property, c int) string {
	if p.count == 3 && (p.name == "pos" || p.name == "forces") {
		return p.name + " " + string("xyz"[c])
	}
	if p.count == 1 {
		return p.name
	}
	return fmt.Sprintf("%s[%d]", p.name, c)
}

// set stores column c of property p for atom a of n.
func (fr *Frame) set(p property, a, c, n int, v string) error {
	switch p.name {
	case "species":
		z, ok := AtomicNumber(v)
		if !ok {
			return fmt.Errorf("%q is not an element symbol", v)
		}
		fr.Z[a], fr.Species[a] = z, Symbol(z)
		return nil
	case "Z":
		z, err := strconv.Atoi(v)
		if err != nil || z < 1 || z > len(symbols) {
			return fmt.Errorf("%q is not an atomic number 1..%d", v, len(symbols))
		}
		fr.Z[a], fr.Species[a] = z, Symbol(z)
		return nil
	case "pos":
		return parseReal(v, &fr.Pos[3*a+c])
	case "forces":
		if fr.Forces == nil {
			fr.Forces = make([]float64, 3*n)
		}
		return parseReal(v, &fr.Forces[3*a+c])
	}
	switch p.typ {
	case 'R', 'I':
		if fr.Arrays == nil {
			fr.Arrays = map[string][]float64{}
		}
		arr := fr.Arrays[p.name]
		if arr == nil {
			arr = make([]float64, n*p.count)
			fr.Arrays[p.name] = arr
		}
		if p.typ == 'I' {
			i, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not an integer", v)
			}
			arr[a*p.count+c] = float64(i)
			return nil
		}
		return parseReal(v, &arr[a*p.count+c])
	default:
		if fr.Strings == nil {
			fr.Strings = map[string][]string{}
		}
		arr := fr.Strings[p.name]
		if arr == nil {
			arr = make([]string, n*p.count)
			fr.Strings[p.name] = arr
		}
		arr[a*p.count+c] = v
		return nil
	}
}

func parseReal(v string, dst *float64) error {
	x, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%q is not a finite number", v)
	}
	*dst = x
	return nil
}

// parseComment reads the key=value pairs of an extended-XYZ comment line
// into fr (Info, Energy) and returns the per-atom columns.
func (fr *Frame) parseComment(comment string) ([]property, error) {
	kv, err := keyValues(comment)
	if err != nil && strings.Contains(comment, "Properties=") {
		return nil, err
	}
	if err != nil || kv["Properties"] == "" {
		// Plain XYZ: the comment is free text.
		return []property{{"species", 'S', 1}, {"pos", 'R', 3}}, nil
	}
	props, err := parseProperties(kv["Properties"])
	if err != nil {
		return nil, err
	}
	delete(kv, "Properties")
	if e, ok := kv["energy"]; ok {
		x, err := strconv.ParseFloat(e, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("energy=%q is not a finite number", e)
		}
		fr.Energy, fr.HasEnergy = x, true
		delete(kv, "energy")
	}
	fr.Info = kv
	return props, nil
}

func parseProperties(s string) ([]property, error) {
	f := strings.Split(s, ":")
	if len(f)%3 != 0 {
		return nil, fmt.Errorf("Properties=%q: want name:type:count triples", s)
	}
	var props []property
	seen := map[string]bool{}
	for i := 0; i < len(f); i += 3 {
		name, typ := f[i], f[i+1]
		count, err := strconv.Atoi(f[i+2])
		if name == "" || len(typ) != 1 || !strings.Contains("SRIL", typ) || err != nil || count < 1 {
			return nil, fmt.Errorf("Properties=%q: bad triple %s:%s:%s", s, f[i], f[i+1], f[i+2])
		}
		if seen[name] {
			return nil, fmt.Errorf("Properties=%q: %s twice", s, name)
		}
		seen[name] = true
		p := property{name, typ[0], count}
		want := map[string]string{"species": "S:1", "Z": "I:1", "pos": "R:3", "forces": "R:3"}[name]
		if want != "" && fmt.Sprintf("%c:%d", p.typ, p.count) != want {
			return nil, fmt.Errorf("Properties=%q: %s is %c:%d, want %s", s, name, p.typ, p.count, want)
		}
		props = append(props, p)
	}
	if !seen["pos"] || seen["species"] == seen["Z"] {
		return nil, fmt.Errorf("Properties=%q: want pos and one of species or Z", s)
	}
	return props, nil
}

// keyValues splits an extended-XYZ comment line into key=value pairs.
func keyValues(s string) (map[string]string, error) {
	kv := map[string]string{}
	i := 0
	for {
		for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
			i++
		}
		if i == len(s) {
			return kv, nil
		}
		j := i
		for j < len(s) && s[j] != '=' && s[j] != ' ' && s[j] != '\t' {
			j++
		}
		key := s[i:j]
		if j == len(s) || s[j] != '=' {
			kv[key] = "T"
			i = j
			continue
		}
		j++ // '='
		var val strings.Builder
		switch {
		case j < len(s) && s[j] == '"':
			j++
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
				}
				val.WriteByte(s[j])
			}
			if j == len(s) {
				return nil, fmt.Errorf("unterminated quote in value of %s", key)
			}
			j++
		case j < len(s) && s[j] == '{':
			k := strings.IndexByte(s[j:], '}')
			if k < 0 {
				return nil, fmt.Errorf("unterminated { in value of %s", key)
			}
			val.WriteString(s[j+1 : j+k])
			j += k + 1
		default:
			for ; j < len(s) && s[j] != ' ' && s[j] != '\t'; j++ {
				val.WriteByte(s[j])
			}
		}
		kv[key] = val.String()
		i = j
	}
}

// symbols[z-1] is the symbol of element z.
var symbols = strings.Fields(`H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca
Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr Y Zr Nb Mo Tc Ru Rh Pd Ag
Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W
Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md
No Lr Rf Db Sg Bh Hs Mt Ds Rg Cn Nh Fl Mc Lv Ts Og`)

var numbers = func() map[string]int {
	m := make(map[string]int, len(symbols))
	for i, s := range symbols {
		m[s] = i + 1
	}
	return m
}()

// AtomicNumber returns the atomic number of an element symbol ("C", "Cl";
// case-sensitive as written in XYZ files).
func AtomicNumber(symbol string) (int, bool) {
	z, ok := numbers[symbol]
	return z, ok
}

// Symbol returns the symbol of element z (1..118), or "" outside that range.
func Symbol(z int) string {
	if z < 1 || z > len(symbols) {
		return ""
	}
	return symbols[z-1]
}

// Write writes frames as extended XYZ: species and positions, forces when
// a frame has them, and energy= when it has one, then its Info keys in
// sorted order (values quoted when they hold spaces). Read reads it back.
func Write(w io.Writer, frames []Frame) error {
	bw := bufio.NewWriter(w)
	for _, f := range frames {
		n := f.Len()
		props := "species:S:1:pos:R:3"
		if f.Forces != nil {
			props += ":forces:R:3"
		}
		fmt.Fprintf(bw, "%d\nProperties=%s", n, props)
		if f.HasEnergy {
			fmt.Fprintf(bw, " energy=%s", strconv.FormatFloat(f.Energy, 'g', -1, 64))
		}
		keys := make([]string, 0, len(f.Info))
		for k := range f.Info {
			if k != "energy" && k != "Properties" {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			v := f.Info[k]
			if v == "" || strings.ContainsAny(v, " \t=\"") {
				v = strconv.Quote(v)
			}
			fmt.Fprintf(bw, " %s=%s", k, v)
		}
		bw.WriteByte('\n')
		for a := range n {
			s := Symbol(f.Z[a])
			if a < len(f.Species) && f.Species[a] != "" {
				s = f.Species[a]
			}
			bw.WriteString(s)
			for k := range 3 {
				fmt.Fprintf(bw, " %s", strconv.FormatFloat(f.Pos[3*a+k], 'g', -1, 64))
			}
			if f.Forces != nil {
				for k := range 3 {
					fmt.Fprintf(bw, " %s", strconv.FormatFloat(f.Forces[3*a+k], 'g', -1, 64))
				}
			}
			bw.WriteByte('\n')
		}
	}
	return bw.Flush()
}
