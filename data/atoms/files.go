package atoms

import (
	"fmt"
	"io"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/loomml/loom/chem"
	"github.com/loomml/loom/internal/fsutil"
)

// ReadOptions say where the labels are in formats that do not fix them.
type ReadOptions struct {
	// EnergyKey names the energy: the comment-line key of an extended XYZ
	// file or the data item of an SD file ("": "energy"; in SD files also
	// matched regardless of case).
	EnergyKey string
	// ForcesKey names an SD data item holding the forces as 3·atoms
	// numbers, x y z per atom ("": "forces"; optional).
	ForcesKey string
}

// Formats lists the file kinds ReadAny accepts, for messages.
const Formats = ".xyz/.extxyz (extended XYZ), .sdf/.mol (V2000 SD file) or .npz (sGDML/MD17 or rMD17 arrays), optionally .gz-compressed (not .npz)"

// ReadAny reads the frames of path by its extension: extended XYZ
// (.xyz, .extxyz), SD/MOL V2000 (.sdf, .mol; coordinates from the atom
// block, every written atom is an atom, hydrogens included only when the
// file has them) or NumPy (.npz, ReadNPZ); .xyz and .sdf may be gzipped
// (.gz). Energies and forces are in the file's units: loom's models on
// atoms take kcal/mol and Å.
func ReadAny(path string, o ReadOptions) ([]Frame, error) {
	base := strings.ToLower(filepath.Base(path))
	gz := strings.HasSuffix(base, ".gz")
	ext := filepath.Ext(strings.TrimSuffix(base, ".gz"))
	key := o.EnergyKey
	if key == "" {
		key = "energy"
	}
	switch ext {
	case ".xyz", ".extxyz":
		frames, err := ReadFile(path)
		if err != nil || key == "energy" {
			return frames, err
		}
		for i := range frames {
			f := &frames[i]
			v, ok := f.Info[key]
			if !ok {
				continue
			}
			e, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return nil, fmt.Errorf("atoms: %s:%d: %s=%q is not a number", filepath.Base(path), f.Line+1, key, v)
			}
			f.Energy, f.HasEnergy = e, true
		}
		return frames, nil
	case ".sdf", ".mol", ".sd":
		r, err := fsutil.Open(path)
		if err != nil {
			return nil, fmt.Errorf("atoms: %w", err)
		}
		defer r.Close()
		return readSDF(r, filepath.Base(path), key, o.ForcesKey)
	case ".npz":
		if gz {
			return nil, fmt.Errorf("atoms: %s: an .npz archive is already compressed; give it unzipped", path)
		}
		return ReadNPZ(path)
	}
	return nil, fmt.Errorf("atoms: %s: unknown extension %q; want %s", path, ext, Formats)
}

// readSDF converts an SD file's records to frames.
func readSDF(r io.Reader, name, energyKey, forcesKey string) ([]Frame, error) {
	if forcesKey == "" {
		forcesKey = "forces"
	}
	mols, err := chem.ReadSDF(r)
	if err != nil {
		return nil, fmt.Errorf("atoms: %s: record %d: %w", name, len(mols)+1, err)
	}
	item := func(m *chem.Molecule, key string) (string, bool) {
		if v, ok := m.Prop(key); ok {
			return v, true
		}
		for _, d := range m.Data {
			if strings.EqualFold(d.Name, key) {
				return d.Value, true
			}
		}
		return "", false
	}
	frames := make([]Frame, len(mols))
	for i, m := range mols {
		n := len(m.Atoms)
		fr := Frame{Z: make([]int, n), Species: make([]string, n), Pos: make([]float64, 0, 3*n),
			Info: map[string]string{"record": strconv.Itoa(i + 1)}}
		if n > 0 {
			fr.Line = max(m.Atoms[0].Pos-4, 1)
		}
		if m.Name != "" {
			fr.Info["name"] = m.Name
		}
		for _, d := range m.Data {
			fr.Info[d.Name] = d.Value
		}
		for a, at := range m.Atoms {
			if at.AtomicNum < 1 {
				return nil, fmt.Errorf("atoms: %s: record %d (line %d): atom %d is %q, not an element", name, i+1, at.Pos, a+1, at.Element)
			}
			fr.Z[a], fr.Species[a] = at.AtomicNum, at.Element
			fr.Pos = append(fr.Pos, m.Coords[a][0], m.Coords[a][1], m.Coords[a][2])
		}
		if v, ok := item(m, energyKey); ok {
			e, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return nil, fmt.Errorf("atoms: %s: record %d: data item <%s> %q is not a number", name, i+1, energyKey, v)
			}
			fr.Energy, fr.HasEnergy = e, true
		}
		if v, ok := item(m, forcesKey); ok {
			f := strings.Fields(v)
			if len(f) != 3*n {
				return nil, fmt.Errorf("atoms: %s: record %d: data item <%s> has %d numbers, want 3 per atom (%d)", name, i+1, forcesKey, len(f), 3*n)
			}
			fr.Forces = make([]float64, 3*n)
			for k, s := range f {
				if fr.Forces[k], err = strconv.ParseFloat(s, 64); err != nil {
					return nil, fmt.Errorf("atoms: %s: record %d: data item <%s>: number %d %q is not a number", name, i+1, forcesKey, k+1, s)
				}
			}
		}
		frames[i] = fr
	}
	return frames, nil
}

// SplitOptions say how Split divides frames.
type SplitOptions struct {
	Val, Test float64 // fractions of the groups (0 each: none)
	// Group is the Info key whose value keeps frames together (""
	// "mol"): the geometries of one molecule stay in one part. Frames
	// without it are groups of their own.
	Group string
	Seed  uint64
}

// Split divides frames into training, validation and test parts. When
// every frame has an Info "split" of train, val or test (as loom's MMFF
// set does), those are the parts; otherwise groups of frames (one per
// value of o.Group) are shuffled with o.Seed and the first fractions
// o.Test and o.Val of them are the test and validation parts. It says
// which it did.
func Split(frames []Frame, o SplitOptions) (train, val, test []Frame, how string, err error) {
	if o.Val < 0 || o.Test < 0 || o.Val+o.Test >= 1 {
		return nil, nil, nil, "", fmt.Errorf("atoms: validation %v and test %v fractions must be non-negative and sum below 1", o.Val, o.Test)
	}
	marked := len(frames) > 0
	for _, f := range frames {
		switch f.Info["split"] {
		case "train", "val", "test":
		default:
			marked = false
		}
	}
	if marked {
		for _, f := range frames {
			switch f.Info["split"] {
			case "train":
				train = append(train, f)
			case "val":
				val = append(val, f)
			default:
				test = append(test, f)
			}
		}
		return train, val, test, "the file's split= marks", nil
	}
	key := o.Group
	if key == "" {
		key = "mol"
	}
	index := map[string]int{}
	var groups [][]int
	grouped := 0
	for i, f := range frames {
		g, ok := f.Info[key]
		if !ok {
			groups = append(groups, []int{i})
			continue
		}
		grouped++
		k, seen := index[g]
		if !seen {
			k = len(groups)
			index[g] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed5))
	rng.Shuffle(len(groups), func(i, j int) { groups[i], groups[j] = groups[j], groups[i] })
	nt, nv := int(o.Test*float64(len(groups))+0.5), int(o.Val*float64(len(groups))+0.5)
	if nt+nv >= len(groups) && (nt > 0 || nv > 0) {
		return nil, nil, nil, "", fmt.Errorf("atoms: %d groups of frames leave none to train on after %d test and %d validation groups", len(groups), nt, nv)
	}
	take := func(gs [][]int) []Frame {
		var idx []int
		for _, g := range gs {
			idx = append(idx, g...)
		}
		slices.Sort(idx)
		out := make([]Frame, len(idx))
		for i, k := range idx {
			out[i] = frames[k]
		}
		return out
	}
	test, val, train = take(groups[:nt]), take(groups[nt:nt+nv]), take(groups[nt+nv:])
	how = fmt.Sprintf("random by frame (seed %d)", o.Seed)
	if grouped > 0 {
		how = fmt.Sprintf("random by %s= (%d groups, seed %d)", key, len(groups), o.Seed)
	}
	return train, val, test, how, nil
}
