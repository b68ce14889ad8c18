package atoms

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"codeberg.org/sbinet/npyio/npz"
)

// npzLayout is one naming of the arrays of a NumPy .npz set of molecular
// geometries.
type npzLayout struct {
	name                string
	z, pos, energy, frc string
}

// The layouts ReadNPZ knows: sGDML's MD17 files (R [M,N,3] Å, z [N],
// E [M,1] kcal/mol, F [M,N,3] kcal/mol/Å) and the revised MD17's
// (coords, nuclear_charges, energies [M], forces), in the same units.
var npzLayouts = []npzLayout{
	{"sGDML/MD17", "z", "R", "E", "F"},
	{"rMD17", "nuclear_charges", "coords", "energies", "forces"},
}

// ReadNPZ reads the frames of a NumPy .npz file of one molecule's (or
// several same-sized molecules') geometries in the sGDML/MD17 layout
// (arrays R, z, E, F) or the revised MD17's (coords, nuclear_charges,
// energies, forces). Positions are taken as Å, energies as given (MD17:
// kcal/mol) and forces as given (kcal/mol/Å); the atomic numbers may be
// one row for every frame [N] or one per frame [M, N]. Energies and forces
// are optional; arrays of any other name are ignored. Errors name the file
// and the array.
func ReadNPZ(path string) ([]Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("atoms: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("atoms: %w", err)
	}
	r, err := npz.NewReader(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("atoms: %s: not a NumPy .npz archive: %w", path, err)
	}
	defer r.Close()
	name := filepath.Base(path)
	keys := map[string]bool{}
	for _, k := range r.Keys() {
		keys[strings.TrimSuffix(k, ".npy")] = true
	}
	var lay *npzLayout
	for i := range npzLayouts {
		if keys[npzLayouts[i].pos] && keys[npzLayouts[i].z] {
			lay = &npzLayouts[i]
			break
		}
	}
	if lay == nil {
		have := make([]string, 0, len(keys))
		for k := range keys {
			have = append(have, k)
		}
		slices.Sort(have)
		return nil, fmt.Errorf("atoms: %s: arrays %v; want positions and atomic numbers as R and z (sGDML/MD17) or coords and nuclear_charges (rMD17)", name, have)
	}
	read := func(key string) ([]float64, []int, error) {
		h := r.Header(key + ".npy")
		if h == nil {
			return nil, nil, fmt.Errorf("atoms: %s: array %s: unreadable NumPy header", name, key)
		}
		if h.Descr.Fortran && len(h.Descr.Shape) > 1 {
			return nil, nil, fmt.Errorf("atoms: %s: array %s is in Fortran order; save it C-ordered (numpy.ascontiguousarray)", name, key)
		}
		v, err := readNumbers(r, key+".npy", h)
		if err != nil {
			return nil, nil, fmt.Errorf("atoms: %s: array %s: %w", name, key, err)
		}
		return v, h.Descr.Shape, nil
	}
	pos, ps, err := read(lay.pos)
	if err != nil {
		return nil, err
	}
	if len(ps) != 3 || ps[2] != 3 {
		return nil, fmt.Errorf("atoms: %s: array %s has shape %v, want [frames, atoms, 3]", name, lay.pos, ps)
	}
	M, N := ps[0], ps[1]
	zs, zsh, err := read(lay.z)
	if err != nil {
		return nil, err
	}
	perFrame := len(zsh) == 2
	if !(len(zsh) == 1 && zsh[0] == N || perFrame && zsh[0] == M && zsh[1] == N) {
		return nil, fmt.Errorf("atoms: %s: array %s has shape %v, want [%d] or [%d, %d] to match %s %v", name, lay.z, zsh, N, M, N, lay.pos, ps)
	}
	var energy, forces []float64
	if keys[lay.energy] {
		var es []int
		if energy, es, err = read(lay.energy); err != nil {
			return nil, err
		}
		if !(len(es) == 1 && es[0] == M || len(es) == 2 && es[0] == M && es[1] == 1) {
			return nil, fmt.Errorf("atoms: %s: array %s has shape %v, want [%d] or [%d, 1]", name, lay.energy, es, M, M)
		}
	}
	if keys[lay.frc] {
		var fsh []int
		if forces, fsh, err = read(lay.frc); err != nil {
			return nil, err
		}
		if !slices.Equal(fsh, ps) {
			return nil, fmt.Errorf("atoms: %s: array %s has shape %v, want %v like %s", name, lay.frc, fsh, ps, lay.pos)
		}
	}
	frames := make([]Frame, M)
	for m := range M {
		fr := Frame{Line: m + 1, Z: make([]int, N), Species: make([]string, N), Pos: pos[m*N*3 : (m+1)*N*3 : (m+1)*N*3],
			Info: map[string]string{"frame": fmt.Sprint(m), "source": lay.name}}
		row := zs
		if perFrame {
			row = zs[m*N : (m+1)*N]
		}
		for a := range N {
			z := int(row[a])
			if float64(z) != row[a] || Symbol(z) == "" {
				return nil, fmt.Errorf("atoms: %s: array %s: frame %d atom %d has atomic number %v, want an integer 1–118", name, lay.z, m, a, row[a])
			}
			fr.Z[a], fr.Species[a] = z, Symbol(z)
		}
		if forces != nil {
			fr.Forces = forces[m*N*3 : (m+1)*N*3 : (m+1)*N*3]
		}
		if energy != nil {
			fr.Energy, fr.HasEnergy = energy[m], true
		}
		frames[m] = fr
	}
	return frames, nil
}

// readNumbers reads a numeric array of any of NumPy's usual element types
// as float64s.
func readNumbers(r *npz.Reader, key string, h *npy.Header) ([]float64, error) {
	switch strings.Trim(h.Descr.Type, "'\"<>|=") {
	case "f8":
		return readAs[float64](r, key)
	case "f4":
		return readAs[float32](r, key)
	case "i8":
		return readAs[int64](r, key)
	case "i4":
		return readAs[int32](r, key)
	case "i2":
		return readAs[int16](r, key)
	case "i1":
		return readAs[int8](r, key)
	case "u1":
		return readAs[uint8](r, key)
	case "u2":
		return readAs[uint16](r, key)
	case "u4":
		return readAs[uint32](r, key)
	}
	return nil, fmt.Errorf("element type %q, want a float or integer type", h.Descr.Type)
}

func readAs[T float64 | float32 | int64 | int32 | int16 | int8 | uint8 | uint16 | uint32](r *npz.Reader, key string) ([]float64, error) {
	var v []T
	if err := r.Read(key, &v); err != nil {
		return nil, err
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out, nil
}
