package scaling

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/tensor"
)

// synthetic returns points of L∞ + (N₀/N)^α at sizes 1e5·2^k with
// multiplicative noise of relative std sd.
func synthetic(lInf, n0, alpha, sd float64, k int, rng *tensor.RNG) []Point {
	var ps []Point
	for i := range k {
		n := 1e5 * math.Pow(2, float64(i))
		l := (lInf + math.Pow(n0/n, alpha)) * (1 + sd*rng.Normal())
		ps = append(ps, Point{n, l})
	}
	return ps
}

// TestPowerPlusConstRecovers: exact points give the law back; noisy ones
// (1 %) give α and L∞ within a few per cent, inside their bootstrap
// intervals; the pure power law fits worse.
func TestPowerPlusConstRecovers(t *testing.T) {
	exact := synthetic(1.7, 3e4, 0.35, 0, 10, tensor.NewRNG(1))
	f, err := PowerPlusConst(exact)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(f.LInf-1.7) > 1e-6 || math.Abs(f.Alpha-0.35) > 1e-6 || math.Abs(f.N0-3e4)/3e4 > 1e-4 || f.RMSE > 1e-8 {
		t.Fatalf("exact points: %+v", f)
	}
	noisy := synthetic(1.7, 3e4, 0.35, 0.01, 10, tensor.NewRNG(2))
	f, err = PowerPlusConst(noisy)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(f.LInf-1.7) > 0.1 || math.Abs(f.Alpha-0.35)/0.35 > 0.25 {
		t.Errorf("1 %% noise: L∞ %.3f (1.7), α %.3f (0.35)", f.LInf, f.Alpha)
	}
	li, ai, err := Bootstrap(noisy, PowerPlusConst, 300, tensor.NewRNG(3))
	if err != nil {
		t.Fatal(err)
	}
	if !(li.Lo <= 1.7 && 1.7 <= li.Hi) || !(ai.Lo <= 0.35 && 0.35 <= ai.Hi) {
		t.Errorf("95 %% intervals L∞ %v, α %v miss the truth", li, ai)
	}
	p, err := PowerLaw(noisy)
	if err != nil {
		t.Fatal(err)
	}
	if !(p.RMSE > 2*f.RMSE) {
		t.Errorf("pure power law RMSE %.4f, with the constant %.4f", p.RMSE, f.RMSE)
	}
	// A pure power law is recovered by PowerLaw exactly.
	pure := synthetic(0, 3e4, 0.2, 0, 8, tensor.NewRNG(4))
	if p, _ := PowerLaw(pure); math.Abs(p.Alpha-0.2) > 1e-9 || math.Abs(p.N0-3e4)/3e4 > 1e-6 {
		t.Errorf("pure power law: %+v", p)
	}
	if _, err := PowerPlusConst(exact[:2]); err == nil || !strings.Contains(err.Error(), "at least 3") {
		t.Errorf("two points: %v", err)
	}
}

// TestFrontier: curves L = a(N) + b(N)/C whose envelope switches to
// larger models as compute grows give N_opt rising with C, and the
// exponent of an exactly power-law frontier comes back.
func TestFrontier(t *testing.T) {
	// N_opt = C^0.7 by construction: model N is best on [N^(1/0.7)/√2, N^(1/0.7)·√2].
	var curves []Curve
	for k := range 6 {
		n := math.Pow(10, 3+0.5*float64(k))
		c0 := math.Pow(n, 1/0.7)
		var cs, ls []float64
		for j := -20; j <= 20; j++ {
			c := c0 * math.Pow(2, float64(j)/4)
			cs = append(cs, c)
			ls = append(ls, 1+math.Pow(math.Log(c/c0), 2)+1/math.Log10(n)) // bowl around c0, deeper for larger n
		}
		curves = append(curves, Curve{N: n, C: cs, L: ls})
	}
	f, err := Frontier(curves, 200)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(f); i++ {
		if f[i].N < f[i-1].N {
			t.Fatalf("N_opt fell from %v to %v as compute grew", f[i-1].N, f[i].N)
		}
	}
	// Within the span of the models' own optima (beyond it the smallest or
	// largest model is best whatever the compute).
	lo, hi := math.Pow(curves[0].N, 1/0.7), math.Pow(curves[len(curves)-1].N, 1/0.7)
	var mid []FrontierPoint
	for _, p := range f {
		if p.C >= lo && p.C <= hi {
			mid = append(mid, p)
		}
	}
	beta, err := OptimalExponent(mid)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(beta-0.7) > 0.1 {
		t.Errorf("β = %.3f, want ≈ 0.7", beta)
	}
}
