package graph

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/loomml/loom/tensor"
)

// jacobiEigen is the dense reference the LapPE is checked against: the
// cyclic Jacobi method on a symmetric matrix a (n×n, row-major), which
// returns the eigenvalues ascending and the eigenvectors as columns
// (vecs[i][c] is entry i of vector c). It shares nothing with gonum's
// solver but the matrix.
func jacobiEigen(a []float64, n int) ([]float64, [][]float64) {
	a = append([]float64(nil), a...)
	v := make([]float64, n*n)
	for i := range n {
		v[i*n+i] = 1
	}
	for sweep := 0; sweep < 100; sweep++ {
		var off float64
		for i := range n {
			for j := i + 1; j < n; j++ {
				off += a[i*n+j] * a[i*n+j]
			}
		}
		if off < 1e-30 {
			break
		}
		for p := range n {
			for q := p + 1; q < n; q++ {
				if math.Abs(a[p*n+q]) < 1e-300 {
					continue
				}
				theta := (a[q*n+q] - a[p*n+p]) / (2 * a[p*n+q])
				t := math.Copysign(1, theta) / (math.Abs(theta) + math.Sqrt(theta*theta+1))
				c := 1 / math.Sqrt(t*t+1)
				s := t * c
				for k := range n { // A ← A·J
					akp, akq := a[k*n+p], a[k*n+q]
					a[k*n+p], a[k*n+q] = c*akp-s*akq, s*akp+c*akq
				}
				for k := range n { // A ← Jᵀ·A
					apk, aqk := a[p*n+k], a[q*n+k]
					a[p*n+k], a[q*n+k] = c*apk-s*aqk, s*apk+c*aqk
				}
				for k := range n { // V ← V·J
					vkp, vkq := v[k*n+p], v[k*n+q]
					v[k*n+p], v[k*n+q] = c*vkp-s*vkq, s*vkp+c*vkq
				}
			}
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(x, y int) bool { return a[order[x]*n+order[x]] < a[order[y]*n+order[y]] })
	vals := make([]float64, n)
	vecs := make([][]float64, n)
	for i := range vecs {
		vecs[i] = make([]float64, n)
	}
	for c, o := range order {
		vals[c] = a[o*n+o]
		for i := range n {
			vecs[i][c] = v[i*n+o]
		}
	}
	return vals, vecs
}

// laplacian returns the normalised Laplacian of g built by hand, for the
// reference solver.
func laplacian(g *Graph) []float64 {
	n := g.NumNodes()
	adj := make([]float64, n*n)
	for e := range g.Src {
		adj[g.Src[e]*n+g.Dst[e]], adj[g.Dst[e]*n+g.Src[e]] = 1, 1
	}
	deg := make([]float64, n)
	for i := range n {
		for j := range n {
			deg[i] += adj[i*n+j]
		}
		deg[i] = max(deg[i], 1)
	}
	l := make([]float64, n*n)
	for i := range n {
		for j := range n {
			l[i*n+j] = -adj[i*n+j] / math.Sqrt(deg[i]*deg[j])
		}
		l[i*n+i]++
	}
	return l
}

// TestNormalizedLaplacian checks L on a 3-node path by hand.
func TestNormalizedLaplacian(t *testing.T) {
	l := NormalizedLaplacian(3, []int{0, 1, 1, 2}, []int{1, 0, 2, 1})
	s := 1 / math.Sqrt2
	want := [][]float64{{1, -s, 0}, {-s, 1, -s}, {0, -s, 1}}
	for i := range 3 {
		for j := range 3 {
			if math.Abs(l.At(i, j)-want[i][j]) > 1e-15 {
				t.Fatalf("L[%d][%d] = %v, want %v", i, j, l.At(i, j), want[i][j])
			}
		}
	}
}

// TestLapPEMatchesDense compares the LapPE of random connected graphs
// whose eigenvalues are distinct with the dense Jacobi decomposition:
// eigenvalues to 1e-10, eigenvectors up to sign to 1e-8.
func TestLapPEMatchesDense(t *testing.T) {
	r := tensor.NewRNG(11)
	const k = 4
	checked := 0
	for trial := 0; checked < 8 && trial < 100; trial++ {
		n := 5 + r.Intn(10)
		g := randomGraph(t, r, n, r.Intn(n))
		want, vecs := jacobiEigen(laplacian(g), n)
		if minGap(want, k+2) < 1e-3 {
			continue // a repeated eigenvalue: TestLapPEEigenspaces
		}
		checked++
		vals, _ := LaplacianEigen(n, g.Src, g.Dst)
		for i := range vals {
			if math.Abs(vals[i]-want[i]) > 1e-10 {
				t.Fatalf("n %d: eigenvalue %d is %v, dense %v", n, i, vals[i], want[i])
			}
		}
		pe := g.PE(k)
		for c := 0; c < k && c+1 < n; c++ {
			var dot float64
			for i := range n {
				dot += pe[i][c] * vecs[i][c+1]
			}
			sign := math.Copysign(1, dot)
			for i := range n {
				if d := math.Abs(pe[i][c] - sign*vecs[i][c+1]); d > 1e-8 {
					t.Fatalf("n %d: eigenvector %d entry %d is %v, dense %v (sign %v)", n, c+1, i, pe[i][c], vecs[i][c+1], sign)
				}
			}
		}
	}
	if checked < 8 {
		t.Fatalf("only %d graphs with distinct eigenvalues", checked)
	}
}

// minGap is the smallest difference between consecutive values among the
// first m.
func minGap(vals []float64, m int) float64 {
	gap := math.Inf(1)
	for i := 1; i < min(m, len(vals)); i++ {
		gap = min(gap, vals[i]-vals[i-1])
	}
	return gap
}

// TestLapPEEigenspaces checks graphs with repeated eigenvalues — the
// skeletons of symmetric molecules, whose eigenvectors are any basis of
// each eigenspace — by eigenspaces rather than vectors: for every
// eigenvalue whose whole eigenspace lies within the LapPE's k columns, the
// projector Σ v·vᵀ onto the LapPE's columns must equal the dense
// decomposition's; where k cuts an eigenspace, the LapPE's columns must
// lie in it. The columns must also be orthonormal eigenvectors (L·v = λ·v).
func TestLapPEEigenspaces(t *testing.T) {
	for _, c := range []struct {
		name string
		g    *Graph
		k    int
		mult []int // multiplicities of the dense eigenvalues, ascending
	}{
		{"benzene_6_cycle", ring(t, 6), 4, []int{1, 2, 2, 1}},                    // 1 − cos(2πj/6)
		{"benzene_6_cycle_k2", ring(t, 6), 2, []int{1, 2, 2, 1}},                 // k = 2 takes all of λ = ½
		{"cyclopentane_k3", ring(t, 5), 3, []int{1, 2, 2}},                       // k = 3 cuts the second pair
		{"neopentane_star", star(t, 5), 4, []int{1, 3, 1}},                       // 0, 1 (×3), 2
		{"star_k2", star(t, 6), 2, []int{1, 4, 1}},                               // k = 2 within λ = 1 (×4)
		{"cubane", cube(t), 7, []int{1, 3, 3, 1}},                                // 0, ⅔ (×3), 4/3 (×3), 2
		{"naphthalene_10", naphthalene(t), 6, nil},                               // multiplicities as found
		{"two_triangles", twoTriangles(t), 4, []int{2, 4}},                       // 0 (×2), 3/2 (×4)
		{"isolated_nodes", mustBonds(t, 4, [][2]int{{0, 1}}), 3, []int{1, 2, 1}}, // 0, 1 (×2: degree clipped to 1), 2
	} {
		t.Run(c.name, func(t *testing.T) {
			n := c.g.NumNodes()
			L := laplacian(c.g)
			vals, vecs := jacobiEigen(L, n)
			clusters := cluster(vals, 1e-8)
			if c.mult != nil {
				if got := sizes(clusters); fmt.Sprint(got) != fmt.Sprint(c.mult) {
					t.Fatalf("eigenvalue multiplicities %v (%v), want %v", got, vals, c.mult)
				}
			}
			pe := c.g.PE(c.k)
			got, _ := LaplacianEigen(n, c.g.Src, c.g.Dst)
			// each LapPE column: unit, orthogonal to the others, L·v = λ·v
			for a := 0; a < c.k && a+1 < n; a++ {
				lam := got[a+1]
				for i := range n {
					var lv float64
					for j := range n {
						lv += L[i*n+j] * pe[j][a]
					}
					if math.Abs(lv-lam*pe[i][a]) > 1e-9 {
						t.Fatalf("column %d: (L·v)_%d = %v, λ·v = %v", a, i, lv, lam*pe[i][a])
					}
				}
				for b := 0; b <= a; b++ {
					var dot float64
					for i := range n {
						dot += pe[i][a] * pe[i][b]
					}
					if want := b2f(a == b); math.Abs(dot-want) > 1e-9 {
						t.Fatalf("columns %d·%d = %v, want %v", a, b, dot, want)
					}
				}
			}
			for _, cl := range clusters {
				lo, hi := cl[0], cl[1] // dense columns [lo, hi) share an eigenvalue
				cols := [][]int{}
				for col := max(lo, 1); col < min(hi, c.k+1); col++ {
					cols = append(cols, []int{col - 1})
				}
				if len(cols) == 0 {
					continue // the trivial eigenspace, or beyond k
				}
				P := projector(vecs, lo, hi, n)
				if lo >= 1 && hi <= c.k+1 { // whole eigenspace inside the LapPE: same projector
					Q := make([]float64, n*n)
					for col := lo; col < hi; col++ {
						for i := range n {
							for j := range n {
								Q[i*n+j] += pe[i][col-1] * pe[j][col-1]
							}
						}
					}
					for i := range Q {
						if math.Abs(Q[i]-P[i]) > 1e-8 {
							t.Fatalf("eigenvalue %.6f (columns %d–%d): LapPE projector entry %d is %v, dense %v", vals[lo], lo, hi-1, i, Q[i], P[i])
						}
					}
					continue
				}
				for _, col := range cols { // cut by k (or sharing λ = 0): the columns lie in the eigenspace
					for i := range n {
						var pv float64
						for j := range n {
							pv += P[i*n+j] * pe[j][col[0]]
						}
						if math.Abs(pv-pe[i][col[0]]) > 1e-8 {
							t.Fatalf("eigenvalue %.6f: LapPE column %d is not in its eigenspace (P·v − v = %v at %d)", vals[lo], col[0], pv-pe[i][col[0]], i)
						}
					}
				}
			}
		})
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// cluster groups ascending eigenvalues equal within tol as column ranges
// [lo, hi).
func cluster(vals []float64, tol float64) [][2]int {
	var out [][2]int
	lo := 0
	for i := 1; i <= len(vals); i++ {
		if i == len(vals) || vals[i]-vals[i-1] > tol {
			out = append(out, [2]int{lo, i})
			lo = i
		}
	}
	return out
}

func sizes(cl [][2]int) []int {
	var out []int
	for _, c := range cl {
		out = append(out, c[1]-c[0])
	}
	return out
}

// projector is Σ v·vᵀ over the dense eigenvectors lo … hi−1.
func projector(vecs [][]float64, lo, hi, n int) []float64 {
	P := make([]float64, n*n)
	for c := lo; c < hi; c++ {
		for i := range n {
			for j := range n {
				P[i*n+j] += vecs[i][c] * vecs[j][c]
			}
		}
	}
	return P
}

// cube is cubane's skeleton: the 3-cube graph.
func cube(t testing.TB) *Graph {
	var bonds [][2]int
	for i := range 8 {
		for _, bit := range []int{1, 2, 4} {
			if j := i ^ bit; i < j {
				bonds = append(bonds, [2]int{i, j})
			}
		}
	}
	return mustBonds(t, 8, bonds)
}

// naphthalene is two fused 6-rings (10 carbons).
func naphthalene(t testing.TB) *Graph {
	return mustBonds(t, 10, [][2]int{{0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 9}, {9, 0}, {4, 5}, {5, 6}, {6, 7}, {7, 8}, {8, 9}})
}

// twoTriangles is two disconnected 3-cycles (a salt of two cyclopropyl
// fragments): 0 twice.
func twoTriangles(t testing.TB) *Graph {
	return mustBonds(t, 6, [][2]int{{0, 1}, {1, 2}, {2, 0}, {3, 4}, {4, 5}, {5, 3}})
}

// TestLapPESmallGraphs: a graph of n ≤ k nodes fills n − 1 columns and
// leaves the rest 0; one node gets zeros.
func TestLapPESmallGraphs(t *testing.T) {
	pe := LapPE(3, []int{0, 1}, []int{1, 2}, 5)
	for i, row := range pe {
		if len(row) != 5 || row[2] != 0 || row[3] != 0 || row[4] != 0 || (row[0] == 0 && row[1] == 0) {
			t.Fatalf("row %d: %v", i, row)
		}
	}
	if one := LapPE(1, nil, nil, 2); len(one) != 1 || one[0][0] != 0 || one[0][1] != 0 {
		t.Fatalf("one node: %v", one)
	}
	if none := LapPE(0, nil, nil, 2); len(none) != 0 {
		t.Fatalf("no nodes: %v", none)
	}
}
