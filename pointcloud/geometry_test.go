package pointcloud

import (
	"math"
	"slices"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// sameGroup reports whether tokens i and j share a group of a partition.
func sameGroup(g *Groups, i, j int) bool { return g.Of[i] == g.Of[j] }

func TestGeometryVoxelsCellsMasks(t *testing.T) {
	r := tensor.NewRNG(1)
	const B, G = 3, 12
	centres := tensor.RandN(r, B, G, 3)
	vp := NewVirtualProjection(tensor.RandN(r, 10, 4), AxisModelNet)
	_, lines := vp.Encode(centres)
	for _, tc := range []struct {
		voxel float64
		cells int
	}{{0.7, 4}, {5, 1}, {1e-3, 39}} {
		geo := NewGeometry(GeometryConfig{VoxelSize: tc.voxel, LineCells: tc.cells})
		geo.Set(centres, lines)
		c := centres.Float64s()
		for b := range B {
			var lo [3]float64
			for a := range 3 {
				lo[a] = math.Inf(1)
				for g := range G {
					lo[a] = min(lo[a], c[(b*G+g)*3+a])
				}
			}
			voxel := func(g int) [3]float64 {
				var v [3]float64
				for a := range 3 {
					v[a] = math.Floor((c[(b*G+g)*3+a] - lo[a]) / tc.voxel)
				}
				return v
			}
			for i := range G {
				for j := range G {
					if got, want := sameGroup(geo.Local, b*G+i, b*G+j), voxel(i) == voxel(j); got != want {
						t.Fatalf("voxel %v: tokens %d, %d of cloud %d grouped %v, want %v", tc.voxel, i, j, b, got, want)
					}
					for m := range 6 {
						cell := func(g int) int { return min(int(lines.At(b, m, g)*float64(tc.cells)), tc.cells-1) }
						same := cell(i) == cell(j)
						if sameGroup(geo.Lines[m], b*G+i, b*G+j) != same {
							t.Fatalf("cells %d line %d: tokens %d, %d grouped wrongly", tc.cells, m, i, j)
						}
						if masked := geo.Masks[m].At(b, 0, i, j) != 0; masked == same {
							t.Fatalf("cells %d line %d: mask of %d → %d is %v", tc.cells, m, i, j, geo.Masks[m].At(b, 0, i, j))
						}
					}
				}
			}
		}
		// Clouds never share a group.
		for _, gr := range append([]*Groups{geo.Local}, geo.Lines...) {
			for c := range gr.Count {
				first := gr.Members[c*gr.Size] / G
				for k := range gr.Size {
					if gr.Members[c*gr.Size+k]/G != first {
						t.Fatalf("a group spans clouds")
					}
				}
			}
		}
	}
}

func TestGroupsPoolSpread(t *testing.T) {
	r := tensor.NewRNG(2)
	const N, D = 7, 3
	x := tensor.RandN(r, N, D)
	for _, tc := range []struct {
		name string
		g    *Groups
		sets [][]int // each token's group
	}{
		{"partition", partition([]int{5, 1, 5, 2, 1, 5, 9}), nil},
		{"knn", newGroups([][]int{{0, 1}, {1, 2, 3}, {2}, {3, 0}, {4, 5, 6}, {5}, {6, 4}}, []int{0, 1, 2, 3, 4, 5, 6}), nil},
	} {
		sets := make([][]int, N)
		for tok := range N {
			c := tc.g.Of[tok]
			seen := map[int]bool{}
			for k := range tc.g.Size {
				if tc.g.Weights[c*tc.g.Size+k] > 0 && !seen[tc.g.Members[c*tc.g.Size+k]] {
					seen[tc.g.Members[c*tc.g.Size+k]] = true
					sets[tok] = append(sets[tok], tc.g.Members[c*tc.g.Size+k])
				}
			}
		}
		if tc.name == "partition" && !slices.Equal(sets[0], []int{0, 2, 5}) {
			t.Fatalf("token 0's group %v", sets[0])
		}
		got := tc.g.Spread(tc.g.Pool(autograd.Const(x), true, true)).Value
		for tok := range N {
			for d := range D {
				mx, mean := math.Inf(-1), 0.0
				for _, m := range sets[tok] {
					mx = max(mx, x.At(m, d))
					mean += x.At(m, d) / float64(len(sets[tok]))
				}
				if math.Abs(got.At(tok, d)-(mx+mean)) > 1e-6 {
					t.Fatalf("%s token %d: pooled %v, want max %v + mean %v", tc.name, tok, got.At(tok, d), mx, mean)
				}
			}
		}
	}
}

func TestGeometryKNN(t *testing.T) {
	r := tensor.NewRNG(3)
	const B, G = 2, 8
	centres := tensor.RandN(r, B, G, 3)
	_, lines := NewVirtualProjection(tensor.RandN(r, 10, 4), AxisModelNet).Encode(centres)
	geo := NewGeometry(GeometryConfig{KNN: 3})
	geo.Set(centres, lines)
	c := centres.Float32s()
	for b := range B {
		want := KNN(c[b*G*3:(b+1)*G*3], []int{0, 1, 2, 3, 4, 5, 6, 7}, 3)
		for g := range G {
			got := geo.Local.Members[(b*G+g)*3 : (b*G+g+1)*3]
			for k := range 3 {
				if got[k] != want[g][k]+b*G {
					t.Fatalf("cloud %d token %d: group %v, want %v (+%d)", b, g, got, want[g], b*G)
				}
			}
		}
	}
}
