package atoms

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/loomml/loom/data/molecules"
	"github.com/loomml/loom/tensor"
)

var (
	mmffOnce                     sync.Once
	mmffTrain, mmffVal, mmffTest []Molecule
	mmffErr                      error
)

// mmff returns the MMFF94 set's splits as molecules.
func mmff(t testing.TB) (train, val, test []Molecule) {
	t.Helper()
	mmffOnce.Do(func() {
		tr, va, te, err := molecules.MMFFSplit()
		if err != nil {
			mmffErr = err
			return
		}
		if mmffTrain, mmffErr = FromFrames(tr); mmffErr != nil {
			return
		}
		if mmffVal, mmffErr = FromFrames(va); mmffErr != nil {
			return
		}
		mmffTest, mmffErr = FromFrames(te)
	})
	if mmffErr != nil {
		t.Fatal(mmffErr)
	}
	return mmffTrain, mmffVal, mmffTest
}

// small returns a few MMFF training molecules of different sizes (the
// smallest first), at most maxAtoms atoms each.
func small(t testing.TB, n, maxAtoms int) []Molecule {
	tr, _, _ := mmff(t)
	var out []Molecule
	seen := map[int]bool{}
	for i := 0; i < len(tr) && len(out) < n; i += 7 {
		if m := tr[i]; m.Len() <= maxAtoms && !seen[m.Len()] {
			seen[m.Len()] = true
			out = append(out, m)
		}
	}
	if len(out) < n {
		t.Fatalf("found %d molecules of at most %d atoms, want %d", len(out), maxAtoms, n)
	}
	return out
}

// configs are the models the symmetry and derivative tests run on: both
// architectures, small.
var configs = []struct {
	name string
	c    Config
}{
	{"transformer", Config{Arch: ArchTransformer, Dim: 16, Layers: 2, Heads: 2, FFN: 32, Seed: 3}},
	{"transformer-linear-coords", Config{Arch: ArchTransformer, Dim: 16, Layers: 2, Heads: 2, FFN: 32, CoordLinear: true, Seed: 4}},
	{"schnet", Config{Arch: ArchSchNet, Dim: 16, Layers: 2, Filters: 16, RBF: 12, Cutoff: 4, Seed: 5}},
	{"transformer-aux-force-head", Config{Arch: ArchTransformer, Dim: 16, Layers: 2, Heads: 2, FFN: 32, AuxForceWeight: 5, Seed: 10}},
}

// testModel builds c with references fitted on the MMFF training set and
// every zero-initialised parameter (the heads' last layers, the biases)
// drawn at random, so that energies and forces are not trivially zero.
func testModel(t testing.TB, c Config) *Model {
	t.Helper()
	tr, _, _ := mmff(t)
	ref, err := FitReference(tr)
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(c, ref)
	if err != nil {
		t.Fatal(err)
	}
	r := tensor.NewRNG(c.Seed + 100)
	for _, p := range m.Params() {
		if maxAbs(p.Value.Float64s()) == 0 {
			p.Value = tensor.MulScalar(tensor.RandN(r, p.Shape()...), 0.3)
		}
	}
	return m
}

// Forces are −∇E: each coordinate's force against a central difference of
// the energy, in float64, for a padded batch of two molecules.
func TestForcesAreMinusGradient(t *testing.T) {
	mols := small(t, 2, 14)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.c)
			m.ToFloat64()
			b := Collate(mols)
			E, F, err := m.Predict(b)
			if err != nil {
				t.Fatal(err)
			}
			const h = 1e-5
			worst := 0.0
			for i := range b.B {
				for k := range 3 * b.Lengths[i] {
					at := i*b.T*3 + k
					x0 := b.Pos[at]
					b.Pos[at] = x0 + h
					Ep, _, err := m.Predict(b)
					if err != nil {
						t.Fatal(err)
					}
					b.Pos[at] = x0 - h
					Em, _, _ := m.Predict(b)
					b.Pos[at] = x0
					fd := -(Ep.At(i) - Em.At(i)) / (2 * h)
					got := F.Float64s()[at]
					if d := math.Abs(got - fd); d > 1e-6*(1+math.Abs(fd)) {
						t.Fatalf("molecule %d coordinate %d: force %.10g, −ΔE/Δx %.10g", i, k, got, fd)
					} else {
						worst = max(worst, d/(1+math.Abs(fd)))
					}
					// The other molecule's energy does not move.
					if j := 1 - i; math.Abs(Ep.At(j)-E.At(j)) > 1e-12*(1+math.Abs(E.At(j))) {
						t.Fatalf("moving molecule %d changed molecule %d's energy by %g", i, j, Ep.At(j)-E.At(j))
					}
				}
			}
			// Padding gets no force.
			for i := range b.B {
				for k := 3 * b.Lengths[i]; k < 3*b.T; k++ {
					if v := F.Float64s()[i*b.T*3+k]; v != 0 {
						t.Fatalf("padding of molecule %d has force %g", i, v)
					}
				}
			}
			t.Logf("energies %.4f, %.4f kcal/mol; largest relative difference from central differences %.2g", E.At(0), E.At(1), worst)
		})
	}
}

// closeRel reports whether a and b agree to tol relative to scale.
func closeRel(a, b, tol, scale float64) bool { return math.Abs(a-b) <= tol*scale }

// maxAbs is the largest |x|.
func maxAbs(xs []float64) float64 {
	m := 0.0
	for _, x := range xs {
		m = max(m, math.Abs(x))
	}
	return m
}

// predictOne returns a molecule's energy and its forces, unpadded.
func predictOne(t testing.TB, m *Model, mol Molecule) (float64, []float64) {
	t.Helper()
	E, F, err := m.Predict(Collate([]Molecule{mol}))
	if err != nil {
		t.Fatal(err)
	}
	return E.At(0), F.Float64s()[:3*mol.Len()]
}

// Permuting a molecule's atoms permutes its forces and leaves its energy
// alone, for both models (no positional encoding in the Transformer).
func TestPermutation(t *testing.T) {
	mols := small(t, 1, 30)
	mol := mols[0]
	r := tensor.NewRNG(7)
	perm := r.Perm(mol.Len())
	p := Molecule{Z: make([]int, mol.Len()), Pos: make([]float64, 3*mol.Len()), Energy: mol.Energy}
	for i, j := range perm {
		p.Z[i] = mol.Z[j]
		copy(p.Pos[3*i:3*i+3], mol.Pos[3*j:3*j+3])
	}
	for _, tc := range append(configs, struct {
		name string
		c    Config
	}{"transformer-direct-forces", Config{Arch: ArchTransformer, Dim: 16, Layers: 2, Heads: 2, FFN: 32, DirectForces: true, Seed: 6}}) {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.c)
			E, F := predictOne(t, m, mol)
			Ep, Fp := predictOne(t, m, p)
			scale := maxAbs(F)
			if !closeRel(E, Ep, 1e-5, 1+math.Abs(E)) {
				t.Fatalf("energy %.6f, permuted %.6f", E, Ep)
			}
			for i, j := range perm {
				for c := range 3 {
					if !closeRel(Fp[3*i+c], F[3*j+c], 1e-4, scale) {
						t.Fatalf("atom %d (was %d) force %d: %.6g, want %.6g", i, j, c, Fp[3*i+c], F[3*j+c])
					}
				}
			}
		})
	}
}

// Rotating a molecule rotates SchNet's forces and leaves its energy (to
// float32 rounding); the Transformer is not invariant, and the test
// reports by how much it is not.
func TestRotation(t *testing.T) {
	mols := small(t, 3, 30)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.c)
			r := tensor.NewRNG(9)
			var dE, dF, scaleF float64
			for _, mol := range mols {
				R := RandomRotation(r)
				E, F := predictOne(t, m, mol)
				Er, Fr := predictOne(t, m, mol.Rotated(R))
				want := R.Apply(F)
				dE = max(dE, math.Abs(Er-E))
				scaleF = max(scaleF, maxAbs(F))
				for i := range Fr {
					dF = max(dF, math.Abs(Fr[i]-want[i]))
				}
			}
			msg := fmt.Sprintf("largest change of energy under rotation %.3g kcal/mol; of forces from the rotated forces %.3g kcal/mol/Å (forces up to %.3g)", dE, dF, scaleF)
			if tc.c.Arch == ArchSchNet {
				if dE > 1e-4*m.Ref.Scale || dF > 1e-4*scaleF {
					t.Fatal("SchNet is not invariant: " + msg)
				}
			}
			t.Log(msg)
		})
	}
}

// A padded batch equals its molecules run one by one.
func TestBatchEqualsSeparate(t *testing.T) {
	mols := small(t, 3, 40)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.c)
			b := Collate(mols)
			E, F, err := m.Predict(b)
			if err != nil {
				t.Fatal(err)
			}
			for i, mol := range mols {
				Ei, Fi := predictOne(t, m, mol)
				if !closeRel(E.At(i), Ei, 1e-5, 1+math.Abs(Ei)) {
					t.Fatalf("molecule %d: batched energy %.6f, alone %.6f", i, E.At(i), Ei)
				}
				Fb := F.Float64s()[i*b.T*3 : i*b.T*3+3*mol.Len()]
				scale := maxAbs(Fi)
				for k := range Fi {
					if !closeRel(Fb[k], Fi[k], 1e-4, scale) {
						t.Fatalf("molecule %d coordinate %d: batched force %.6g, alone %.6g", i, k, Fb[k], Fi[k])
					}
				}
			}
		})
	}
}

// The objective's parameter gradient, taken through the forces −∂E/∂x
// (the second-order tape), matches central differences of the objective
// for a sample of every parameter's entries, in float64.
func TestLossGradient(t *testing.T) {
	mols := small(t, 2, 12)
	for _, tc := range configs {
		t.Run(tc.name, func(t *testing.T) {
			m := testModel(t, tc.c)
			m.ToFloat64()
			b := Collate(mols)
			loss := m.Loss(nil, b)
			loss.Backward()
			r := tensor.NewRNG(1)
			const h = 1e-6
			worst := 0.0
			for _, p := range m.Params() {
				v := p.Value.F64()
				g := p.Grad.Float64s()
				for range 3 {
					k := r.Intn(len(v))
					x0 := v[k]
					v[k] = x0 + h
					lp := m.Loss(nil, b).Item()
					v[k] = x0 - h
					lm := m.Loss(nil, b).Item()
					v[k] = x0
					fd := (lp - lm) / (2 * h)
					d := math.Abs(g[k]-fd) / (1e-4 + math.Abs(fd))
					if d > 1e-4 {
						t.Fatalf("%s[%d]: gradient %.8g, central difference %.8g", p.Name, k, g[k], fd)
					}
					worst = max(worst, d)
				}
			}
			t.Logf("loss %.6g; largest relative difference %.2g", loss.Item(), worst)
		})
	}
}
