package pointcloud

import (
	"math"
	"testing"

	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

func TestEulerToMatrix(t *testing.T) {
	// Rz(π/2) alone, and Rx(π/2) alone.
	for _, tc := range []struct {
		a    [3]float64
		want [3]vec3
	}{
		{[3]float64{0, 0, math.Pi / 2}, [3]vec3{{0, -1, 0}, {1, 0, 0}, {0, 0, 1}}},
		{[3]float64{math.Pi / 2, 0, 0}, [3]vec3{{1, 0, 0}, {0, 0, -1}, {0, 1, 0}}},
		{[3]float64{0, math.Pi / 2, 0}, [3]vec3{{0, 0, 1}, {0, 1, 0}, {-1, 0, 0}}},
	} {
		got := eulerToMatrix(tc.a[0], tc.a[1], tc.a[2])
		for i := range 3 {
			if maxDiff(got[i][:], tc.want[i][:]) > 1e-12 {
				t.Fatalf("angles %v: %v, want %v", tc.a, got, tc.want)
			}
		}
	}
}

// officialCoordinates follows PCViews.get_pos and points2pos step by step
// (without the −0.5 shift and wrap): rotate the centres by p·R_vᵀ, shift by
// −(0, 0, −1.6), subtract the mean, project on the normalised axis,
// min–max normalise.
func officialCoordinates(c []float64, G int, axis [3]float64) [][]float64 {
	d := norm(axis)
	out := make([][]float64, len(viewAngles))
	for v, a := range viewAngles {
		R := eulerToMatrix(a[0], a[1], a[2])
		pts := make([]vec3, G)
		var mean vec3
		for g := range G {
			p := vec3{c[3*g], c[3*g+1], c[3*g+2]}
			for i := range 3 { // (p · Rᵀ)_i = Σ_j p_j R[i][j]
				pts[g][i] = dot(p, R[i])
			}
			pts[g][2] += 1.6
			for i := range 3 {
				mean[i] += pts[g][i] / float64(G)
			}
		}
		proj := make([]float64, G)
		lo, hi := math.Inf(1), math.Inf(-1)
		for g := range G {
			proj[g] = dot(sub(pts[g], mean), vec3{axis[0] / d, axis[1] / d, axis[2] / d})
			lo, hi = min(lo, proj[g]), max(hi, proj[g])
		}
		for g := range G {
			proj[g] = (proj[g] - lo) / (hi - lo)
		}
		out[v] = proj
	}
	return out
}

func TestLinesAndCoordinates(t *testing.T) {
	r := tensor.NewRNG(3)
	for _, axis := range [][3]float64{AxisScanObjectNN, AxisModelNet, {0.3, 2, -1}} {
		lines := Lines(axis)
		if len(lines) != 6 {
			t.Fatalf("%d lines", len(lines))
		}
		for _, u := range lines {
			if math.Abs(norm(u)-1) > 1e-12 {
				t.Fatalf("line %v is not a unit vector", u)
			}
		}
		t.Logf("axis %v: lines %.4f", axis, lines)
		repeated := 0
		for i := range lines {
			for j := i + 1; j < len(lines); j++ {
				if maxDiff(lines[i][:], lines[j][:]) < 1e-12 {
					repeated++
				}
			}
		}
		if want := map[bool]int{true: 1, false: 0}[axis == AxisScanObjectNN]; repeated != want {
			t.Fatalf("axis %v: %d repeated lines, want %d", axis, repeated, want)
		}
		const B, G = 2, 9
		centres := tensor.RandN(r, B, G, 3)
		vp := NewVirtualProjection(tensor.RandN(r, 5, 4), axis)
		got := vp.Coordinates(centres)
		if s := got.Shape(); s[0] != B || s[1] != 6 || s[2] != G {
			t.Fatalf("coordinates %v", s)
		}
		c := centres.Float64s()
		for b := range B {
			want := officialCoordinates(c[b*G*3:(b+1)*G*3], G, axis)
			for m := range 6 {
				for g := range G {
					if d := math.Abs(got.At(b, m, g) - want[m][g]); d > 1e-5 {
						t.Fatalf("axis %v cloud %d line %d token %d: %v, official pipeline %v", axis, b, m, g, got.At(b, m, g), want[m][g])
					}
				}
			}
		}
	}
}

func TestLookup(t *testing.T) {
	r := tensor.NewRNG(4)
	const P, D = 7, 5
	table := tensor.RandN(r, P, D)
	vp := NewVirtualProjection(table, AxisScanObjectNN)
	row := func(i int) []float64 { return table.Slice(0, i, i+1).Contiguous().Float64s() }
	for i := range P { // integer coordinates give the rows
		if d := maxDiff(vp.Lookup(float64(i)), row(i)); d > 1e-6 {
			t.Fatalf("row %d differs by %g", i, d)
		}
	}
	for _, tc := range []struct {
		c    float64
		i    int
		frac float64
	}{{0.25, 0, 0.25}, {2.5, 2, 0.5}, {5.9, 5, 0.9}} {
		lo, hi := row(tc.i), row(tc.i+1)
		want := make([]float64, D)
		for d := range D {
			want[d] = (1-tc.frac)*lo[d] + tc.frac*hi[d]
		}
		if d := maxDiff(vp.Lookup(tc.c), want); d > 1e-6 {
			t.Fatalf("c = %v: off the line between rows by %g", tc.c, d)
		}
	}
	// Linearity: the midpoint of two lookups in one interval is the lookup
	// of the midpoint; clamped outside [0, P−1].
	a, b, m := vp.Lookup(3.1), vp.Lookup(3.7), vp.Lookup(3.4)
	for d := range D {
		if math.Abs((a[d]+b[d])/2-m[d]) > 1e-6 {
			t.Fatalf("not linear within an interval")
		}
	}
	if maxDiff(vp.Lookup(-2), row(0)) > 1e-6 || maxDiff(vp.Lookup(P+3), row(P-1)) > 1e-6 {
		t.Fatalf("not clamped")
	}
}

func TestEncode(t *testing.T) {
	r := tensor.NewRNG(5)
	const B, G, P, D = 2, 6, 11, 4
	vp := NewVirtualProjection(tensor.RandN(r, P, D), AxisModelNet)
	centres := tensor.RandN(r, B, G, 3)
	pos, lines := vp.Encode(centres)
	if s := pos.Shape(); s[0] != B || s[1] != G || s[2] != D {
		t.Fatalf("pos %v", s)
	}
	for b := range B {
		for g := range G {
			want := make([]float64, D)
			for m := range 6 {
				row := vp.Lookup(lines.At(b, m, g) * (P - 1))
				for d := range D {
					want[d] += row[d] / 6
				}
			}
			got := pos.Slice(0, b, b+1).Slice(1, g, g+1).Contiguous().Float64s()
			if d := maxDiff(got, want); d > 1e-5 {
				t.Fatalf("token (%d, %d): mean over lines differs by %g", b, g, d)
			}
		}
	}
	// One coordinate per line is 0 and one is 1 in every cloud.
	for b := range B {
		for m := range 6 {
			lo, hi := 1.0, 0.0
			for g := range G {
				lo, hi = min(lo, lines.At(b, m, g)), max(hi, lines.At(b, m, g))
			}
			if lo != 0 || hi != 1 {
				t.Fatalf("cloud %d line %d spans [%v, %v]", b, m, lo, hi)
			}
		}
	}
}

func TestLearnedPositions(t *testing.T) {
	lp, err := NewLearnedPositions("", 8, 6, nn.Init{RNG: tensor.NewRNG(6), Std: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	out := lp.Forward(tensor.RandN(tensor.NewRNG(7), 2, 5, 3))
	if s := out.Shape(); s[0] != 2 || s[1] != 5 || s[2] != 6 {
		t.Fatalf("shape %v", s)
	}
	want := []string{"pos_embed.0.weight", "pos_embed.0.bias", "pos_embed.2.weight", "pos_embed.2.bias"}
	if got := names(lp.Params()); len(got) != 4 || got[0] != want[0] || got[3] != want[3] {
		t.Fatalf("names %v, want %v", got, want)
	}
}
