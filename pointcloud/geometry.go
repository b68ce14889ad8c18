package pointcloud

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// The per-batch neighbourhoods of the point tokens that every guided
// adapter aggregates over. The official forward (PointViT.forward in
// models/backbone/pointvit.py, PointTransformer.forward in
// clip_lang_modelnet's models/Point_MAE.py) computes them once per batch
// and passes them to every block:
//
//   - 3-D: torch_geometric's voxel_grid of the centres, shifted by each
//     cloud's minimum, with voxel edge --coef_3dgird (0.08 ScanObjectNN,
//     0.16 ModelNet40): the tokens of one voxel form a group;
//   - 1-D, per virtual line: the projected coordinate (in [0, 77)) cut into
//     cells of --coef_1dgird = 2 positions, 39 cells per cloud; and the
//     attention mask that lets a token attend only to tokens of its cell
//     (−100000 added to the other scores).
//
// loom takes the line coordinate u ∈ [0, 1] (VirtualProjection.
// Coordinates) and cuts it into LineCells equal cells (39 reproduces the
// official width, 2 of 77 positions). As an alternative to voxels, KNN > 0
// makes each token's 3-D group its KNN nearest centres (itself included),
// the FPS/kNN neighbourhoods of Point-BERT-style models.

// GeometryConfig says how tokens are grouped.
type GeometryConfig struct {
	Offset    int     // leading tokens of the adapters' input that are not points (1 for a CLS token)
	VoxelSize float64 // 3-D voxel edge in the centres' units (official: 0.08, 0.16)
	KNN       int     // > 0: 3-D groups are each token's KNN nearest centres instead of voxels
	LineCells int     // cells per virtual line (official: 39)
}

// Groups is a grouping of the B·G point tokens of a batch (token b·G+g):
// either a partition (voxels, cells) or one group per token (kNN).
type Groups struct {
	Count   int       // C, number of groups
	Size    int       // K, the largest group's size
	Members []int     // [C·K] tokens of each group, short groups padded with their first member
	Weights []float64 // [C·K] 1/size for members, 0 for padding: the mean's weights
	Of      []int     // [B·G] the group each token reads its result from
}

// newGroups builds Groups from member lists and each token's group.
func newGroups(lists [][]int, of []int) *Groups {
	g := &Groups{Count: len(lists), Of: of}
	for _, l := range lists {
		g.Size = max(g.Size, len(l))
	}
	g.Members = make([]int, g.Count*g.Size)
	g.Weights = make([]float64, g.Count*g.Size)
	for c, l := range lists {
		for k := range g.Size {
			if k < len(l) {
				g.Members[c*g.Size+k] = l[k]
				g.Weights[c*g.Size+k] = 1 / float64(len(l))
			} else {
				g.Members[c*g.Size+k] = l[0] // max is unchanged by a repeat; the mean weighs it 0
			}
		}
	}
	return g
}

// partition builds Groups from each token's label (tokens with equal
// labels form a group), groups numbered in order of first appearance.
func partition[L comparable](labels []L) *Groups {
	ids := map[L]int{}
	var lists [][]int
	of := make([]int, len(labels))
	for t, l := range labels {
		c, ok := ids[l]
		if !ok {
			c = len(lists)
			ids[l] = c
			lists = append(lists, nil)
		}
		lists[c] = append(lists[c], t)
		of[t] = c
	}
	return newGroups(lists, of)
}

// Pool reduces x [B·G, D] over each group: the max, the mean, or their sum
// (the official 3-D aggregation is max + mean, the 1-D one the mean).
// Returns [C, D].
func (g *Groups) Pool(x *autograd.Var, useMax, useMean bool) *autograd.Var {
	D := x.Dim(1)
	members := autograd.Reshape(autograd.IndexSelect(x, 0, g.Members), g.Count, g.Size, D)
	var out *autograd.Var
	if useMax {
		out = autograd.Max(members, false, 1)
	}
	if useMean {
		w := autograd.Const(tensor.FromFloat64(g.Weights, g.Count, g.Size, 1).To(x.Value.DType()))
		mean := autograd.Sum(autograd.Mul(members, w), false, 1)
		if out == nil {
			out = mean
		} else {
			out = autograd.Add(out, mean)
		}
	}
	if out == nil {
		panic("pointcloud: Pool with neither max nor mean")
	}
	return out
}

// Spread gives each token its group's row: y [C, D] → [B·G, D].
func (g *Groups) Spread(y *autograd.Var) *autograd.Var { return autograd.IndexSelect(y, 0, g.Of) }

// maskedScore is added to the attention scores of tokens in other cells
// (the official value).
const maskedScore = -100000

// Geometry is the grouping of one batch's point tokens, shared by all
// guided adapters: the caller sets it (Set) before each forward pass.
type Geometry struct {
	GeometryConfig
	Batch, Tokens int              // B, G
	Local         *Groups          // 3-D groups
	Lines         []*Groups        // per virtual line, the 1-D cells
	Masks         []*tensor.Tensor // per line, [B, 1, G, G]: 0 within a cell, −100000 across
	// Dropout draws the adapters' dropout masks; nil (evaluation) turns
	// dropout off.
	Dropout *tensor.RNG
}

// NewGeometry returns an empty Geometry with the given grouping.
func NewGeometry(c GeometryConfig) *Geometry {
	if c.LineCells == 0 {
		c.LineCells = 39
	}
	if c.VoxelSize <= 0 && c.KNN <= 0 {
		panic("pointcloud: geometry needs a voxel size or a KNN")
	}
	return &Geometry{GeometryConfig: c}
}

// Set groups a batch: centres [B, G, 3] (Tokens.Centres) and line
// coordinates [B, M, G] in [0, 1] (VirtualProjection.Encode).
func (g *Geometry) Set(centres, lines *tensor.Tensor) {
	B, G := centres.Dim(0), centres.Dim(1)
	if lines.NDim() != 3 || lines.Dim(0) != B || lines.Dim(2) != G {
		panic(fmt.Sprintf("pointcloud: geometry of centres %v and lines %v", centres.Shape(), lines.Shape()))
	}
	g.Batch, g.Tokens = B, G
	c := centres.Contiguous().Float64s()
	if g.KNN > 0 {
		g.Local = knnGroups(c, B, G, min(g.KNN, G))
	} else {
		g.Local = voxelGroups(c, B, G, g.VoxelSize)
	}
	M := lines.Dim(1)
	u := lines.Contiguous().Float64s()
	g.Lines, g.Masks = make([]*Groups, M), make([]*tensor.Tensor, M)
	labels := make([]int64, B*G)
	for m := range M {
		mask := make([]float32, B*G*G)
		for b := range B {
			for t := range G {
				cell := min(int(math.Floor(u[(b*M+m)*G+t]*float64(g.LineCells))), g.LineCells-1)
				labels[b*G+t] = int64(b*g.LineCells + max(cell, 0))
			}
			for i := range G {
				for j := range G {
					if labels[b*G+i] != labels[b*G+j] {
						mask[(b*G+i)*G+j] = maskedScore
					}
				}
			}
		}
		g.Lines[m] = partition(labels)
		g.Masks[m] = tensor.FromFloat32(mask, B, 1, G, G)
	}
}

// voxelGroups groups each cloud's centres by voxels of edge size, the
// voxel grid starting at the cloud's minimum corner.
func voxelGroups(c []float64, B, G int, size float64) *Groups {
	labels := make([][4]int64, B*G)
	for b := range B {
		lo := [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
		for t := range G {
			for a := range 3 {
				lo[a] = min(lo[a], c[(b*G+t)*3+a])
			}
		}
		for t := range G {
			cell := [4]int64{int64(b)}
			for a := range 3 {
				cell[a+1] = int64(math.Floor((c[(b*G+t)*3+a] - lo[a]) / size))
			}
			labels[b*G+t] = cell
		}
	}
	return partition(labels)
}

// knnGroups makes each token's group its k nearest centres in its cloud.
func knnGroups(c []float64, B, G, k int) *Groups {
	lists := make([][]int, B*G)
	of := make([]int, B*G)
	pts := make([]float32, G*3)
	centres := make([]int, G)
	for t := range centres {
		centres[t] = t
	}
	for b := range B {
		for i := range pts {
			pts[i] = float32(c[b*G*3+i])
		}
		for t, nb := range KNN(pts, centres, k) {
			for j := range nb {
				nb[j] += b * G
			}
			lists[b*G+t] = nb
			of[b*G+t] = b*G + t
		}
	}
	return newGroups(lists, of)
}
