package pointcloud

import (
	"math"
	"slices"
	"testing"
)

func TestGenerate(t *testing.T) {
	for _, tc := range []struct {
		n, points int
		seed      uint64
	}{
		{len(Classes), 64, 1},
		{2*len(Classes) + 3, 128, 7},
		{len(Classes), 1, 3},
	} {
		clouds, labels := Generate(tc.n, tc.points, tc.seed)
		again, labels2 := Generate(tc.n, tc.points, tc.seed)
		if !slices.Equal(labels, labels2) {
			t.Fatalf("%+v: labels differ between calls", tc)
		}
		seen := map[int]bool{}
		for i, c := range clouds {
			if !slices.Equal(c, again[i]) {
				t.Fatalf("%+v: sample %d differs between calls", tc, i)
			}
			if len(c) != 3*tc.points {
				t.Fatalf("%+v: sample %d has %d values", tc, i, len(c))
			}
			seen[labels[i]] = true
			var far float64
			var centroid [3]float64
			for j := 0; j < len(c); j += 3 {
				r := math.Sqrt(float64(c[j]*c[j] + c[j+1]*c[j+1] + c[j+2]*c[j+2]))
				if math.IsNaN(r) || r > 1+1e-5 {
					t.Fatalf("%+v: sample %d point %d at radius %v", tc, i, j/3, r)
				}
				far = max(far, r)
				for a := range 3 {
					centroid[a] += float64(c[j+a]) / float64(tc.points)
				}
			}
			if tc.points > 1 && math.Abs(far-1) > 1e-5 {
				t.Fatalf("%+v: sample %d reaches radius %v, want 1", tc, i, far)
			}
			if norm(centroid) > 1e-5 {
				t.Fatalf("%+v: sample %d centroid %v", tc, i, centroid)
			}
		}
		if len(seen) != len(Classes) {
			t.Fatalf("%+v: %d classes present, want %d", tc, len(seen), len(Classes))
		}
	}
}

// Sample i depends only on the seed and i: a prefix is stable, another
// seed gives other clouds.
func TestGenerateStableSubsets(t *testing.T) {
	long, ll := Generate(30, 32, 5)
	short, sl := Generate(7, 32, 5)
	for i := range short {
		if !slices.Equal(short[i], long[i]) || sl[i] != ll[i] {
			t.Fatalf("sample %d differs between n = 7 and n = 30", i)
		}
	}
	other, _ := Generate(7, 32, 6)
	for i := range other {
		if slices.Equal(other[i], short[i]) {
			t.Fatalf("sample %d is the same for seeds 5 and 6", i)
		}
	}
}

// Every class has its own form: the spread along the principal axes
// (eigenvalues of the covariance, a crude shape descriptor) differs
// between flat (disc, annulus) and solid shapes.
func TestGenerateFlatShapesAreFlat(t *testing.T) {
	clouds, labels := Generate(4*len(Classes), 256, 11)
	for i, c := range clouds {
		name := Classes[labels[i]]
		if name != "disc" && name != "annulus" && name != "sphere" {
			continue
		}
		ev := covarianceEigenvalues(c)
		ratio := ev[0] / ev[2] // smallest over largest
		flat := name != "sphere"
		if flat && ratio > 0.05 || !flat && ratio < 0.2 {
			t.Errorf("sample %d (%s): smallest/largest principal variance %.3f", i, name, ratio)
		}
	}
}

// covarianceEigenvalues returns the covariance's eigenvalues, ascending
// (Jacobi rotations on the 3×3 matrix).
func covarianceEigenvalues(c []float32) [3]float64 {
	n := float64(len(c) / 3)
	var a [3][3]float64
	for j := 0; j < len(c); j += 3 {
		for p := range 3 {
			for q := range 3 {
				a[p][q] += float64(c[j+p]) * float64(c[j+q]) / n
			}
		}
	}
	for range 50 {
		for p := range 3 {
			for q := p + 1; q < 3; q++ {
				if math.Abs(a[p][q]) < 1e-15 {
					continue
				}
				theta := (a[q][q] - a[p][p]) / (2 * a[p][q])
				tt := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				cs := 1 / math.Sqrt(tt*tt+1)
				sn := tt * cs
				for k := range 3 {
					akp, akq := a[k][p], a[k][q]
					a[k][p], a[k][q] = cs*akp-sn*akq, sn*akp+cs*akq
				}
				for k := range 3 {
					apk, aqk := a[p][k], a[q][k]
					a[p][k], a[q][k] = cs*apk-sn*aqk, sn*apk+cs*aqk
				}
			}
		}
	}
	ev := []float64{a[0][0], a[1][1], a[2][2]}
	slices.Sort(ev)
	return [3]float64(ev)
}
