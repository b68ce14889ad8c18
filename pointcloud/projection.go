package pointcloud

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// The 3D-to-any virtual projection for a 1-D model. The official code
// (models/peft_module/mv_utils.py, PCViews.get_pos and points2pos, and
// bilinear_interpolation_3d_to_1d in models/backbone/pointvit.py of
// Any2Point_CLIP_Lang) does, for the G centres of each cloud:
//
//  1. six views: the centres are rotated by R_v = Rx(a)·Ry(b)·Rz(c) for
//     the Euler angles (a, b, c) = (kπ/2, 0, π/2), k = 0…3, and (0, ∓π/2,
//     π/2) — SimpleView's six views — and shifted by (0, 0, 1.6);
//  2. each view's centres, minus their mean, are projected on one fixed
//     axis d (the --pos_cor option: (−1, 0, 1) for ScanObjectNN, (1, −1, 0)
//     for ModelNet40, normalised), which is projecting the original
//     centres on the line u_v = R_vᵀ·d;
//  3. the projections are min–max normalised per cloud and view to [0, 1]
//     and scaled to the table length 77 (CLIP's context);
//  4. the frozen table [77, D] is linearly interpolated at that coordinate
//     (floor and ceil rows, weights ceil − x and x − floor);
//  5. the six interpolated vectors are averaged: the token's position
//     encoding [B, G, D]; the CLS token keeps a learned cls_pos.
//
// loom computes the same lines (Lines, from the same Euler angles and
// axis) and the same per-cloud min–max coordinate u ∈ [0, 1], mapped to c
// = u·(P−1) for a table of P rows. The official mapping has three
// artefacts loom does not copy: it shifts by −0.5 (the size_x = 1 offset)
// and wraps modulo 77, so the extreme minimum lands at 76.5, the far end;
// it then rescales every coordinate by 76/(max − min) taken over the whole
// batch, so a token's encoding depends on the other clouds in the batch;
// and at an integer coordinate floor = ceil gives both weights 0, a zero
// vector. loom interpolates between rows ⌊c⌋ and ⌊c⌋+1 with weights
// 1−(c−⌊c⌋) and c−⌊c⌋, which gives row c exactly at an integer.

// The official line axes (the --pos_cor option of the fine_tune.sh
// scripts). With AxisScanObjectNN two of the six lines coincide (views 2
// and 5 both give (0, 1, −1)/√2), so the official ScanObjectNN encoding
// averages five distinct lines, one of them twice; AxisModelNet's six are
// distinct.
var (
	AxisScanObjectNN = [3]float64{-1, 0, 1} // Any2Point_CLIP_Lang
	AxisModelNet     = [3]float64{1, -1, 0} // Any2Point_clip_lang_modelnet
)

// viewAngles are PCViews' six (x, y, z) Euler angles.
var viewAngles = [6][3]float64{
	{0, 0, math.Pi / 2},
	{math.Pi / 2, 0, math.Pi / 2},
	{math.Pi, 0, math.Pi / 2},
	{3 * math.Pi / 2, 0, math.Pi / 2},
	{0, -math.Pi / 2, math.Pi / 2},
	{0, math.Pi / 2, math.Pi / 2},
}

// Lines returns the M = 6 unit directions the official virtual projection
// projects on for axis d: u_v = R_vᵀ·d/|d| with R_v = Rx·Ry·Rz of view v's
// Euler angles (mv_utils.euler2mat).
func Lines(axis [3]float64) [][3]float64 {
	d := norm(axis)
	if d == 0 {
		panic("pointcloud: zero projection axis")
	}
	out := make([][3]float64, len(viewAngles))
	for v, a := range viewAngles {
		R := eulerToMatrix(a[0], a[1], a[2])
		for i := range 3 {
			for j := range 3 {
				out[v][i] += R[j][i] * axis[j] / d // (Rᵀ d)_i
			}
		}
	}
	return out
}

// eulerToMatrix is mv_utils.euler2mat: Rx(x)·Ry(y)·Rz(z).
func eulerToMatrix(x, y, z float64) [3]vec3 {
	cx, sx := math.Cos(x), math.Sin(x)
	cy, sy := math.Cos(y), math.Sin(y)
	cz, sz := math.Cos(z), math.Sin(z)
	rx := [3]vec3{{1, 0, 0}, {0, cx, -sx}, {0, sx, cx}}
	ry := [3]vec3{{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}}
	rz := [3]vec3{{cz, -sz, 0}, {sz, cz, 0}, {0, 0, 1}}
	return matMul(matMul(rx, ry), rz)
}

func matMul(a, b [3]vec3) [3]vec3 {
	var c [3]vec3
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// VirtualProjection is the position encoding of 3-D tokens from a frozen
// 1-D table; see the file comment.
type VirtualProjection struct {
	Table *tensor.Tensor // [P, D], frozen (e.g. BERT's position_embeddings)
	Lines [][3]float64   // M unit directions
}

// NewVirtualProjection projects on the official six lines of axis (see
// Lines) and interpolates table [P, D].
func NewVirtualProjection(table *tensor.Tensor, axis [3]float64) *VirtualProjection {
	if table.NDim() != 2 || table.Dim(0) < 2 {
		panic(fmt.Sprintf("pointcloud: position table %v, want [P ≥ 2, D]", table.Shape()))
	}
	return &VirtualProjection{Table: table, Lines: Lines(axis)}
}

// Coordinates returns where each centre falls on each line, [B, M, G]
// float32 in [0, 1]: the projection on the line, min–max normalised over
// the cloud's G centres (0.5 for all when they project to one point).
// Centres is [B, G, 3].
func (v *VirtualProjection) Coordinates(centres *tensor.Tensor) *tensor.Tensor {
	B, G := centres.Dim(0), centres.Dim(1)
	c := centres.Contiguous().Float64s()
	M := len(v.Lines)
	out := make([]float32, B*M*G)
	proj := make([]float64, G)
	for b := range B {
		for m, u := range v.Lines {
			lo, hi := math.Inf(1), math.Inf(-1)
			for g := range G {
				p := c[(b*G+g)*3:]
				proj[g] = p[0]*u[0] + p[1]*u[1] + p[2]*u[2]
				lo, hi = min(lo, proj[g]), max(hi, proj[g])
			}
			for g := range G {
				t := 0.5
				if hi > lo {
					t = (proj[g] - lo) / (hi - lo)
				}
				out[(b*M+m)*G+g] = float32(t)
			}
		}
	}
	return tensor.FromFloat32(out, B, M, G)
}

// Lookup returns the table linearly interpolated at coordinate c ∈ [0,
// P−1] (clamped): (1−w)·Table[i] + w·Table[i+1] for i = ⌊c⌋, w = c − i. [D].
func (v *VirtualProjection) Lookup(c float64) []float64 {
	out := make([]float64, v.Table.Dim(1))
	v.lookupAdd(c, 1, out, v.Table.Contiguous().Float64s())
	return out
}

// lookupAdd adds scale × the interpolated row at c to dst.
func (v *VirtualProjection) lookupAdd(c, scale float64, dst, table []float64) {
	P, D := v.Table.Dim(0), v.Table.Dim(1)
	c = min(max(c, 0), float64(P-1))
	i := min(int(math.Floor(c)), P-2)
	w := c - float64(i)
	lo, hi := table[i*D:(i+1)*D], table[(i+1)*D:(i+2)*D]
	for d := range dst {
		dst[d] += scale * ((1-w)*lo[d] + w*hi[d])
	}
}

// Encode returns the position encodings of centres [B, G, 3], [B, G, D]
// in the table's dtype — the mean over the lines of the table interpolated
// at u·(P−1) — and the line coordinates u [B, M, G] (Coordinates), which
// the adapters' Geometry groups tokens by.
func (v *VirtualProjection) Encode(centres *tensor.Tensor) (pos, lines *tensor.Tensor) {
	B, G := centres.Dim(0), centres.Dim(1)
	P, D := v.Table.Dim(0), v.Table.Dim(1)
	M := len(v.Lines)
	lines = v.Coordinates(centres)
	u := lines.F32()
	table := v.Table.Contiguous().Float64s()
	out := make([]float64, B*G*D)
	for b := range B {
		for g := range G {
			dst := out[(b*G+g)*D : (b*G+g+1)*D]
			for m := range M {
				v.lookupAdd(float64(u[(b*M+m)*G+g])*float64(P-1), 1/float64(M), dst, table)
			}
		}
	}
	return tensor.FromFloat64(out, B, G, D).To(v.Table.DType()), lines
}

// LearnedPositions is the baseline position encoding: Point-BERT's
// pos_embed, a trainable MLP Linear(3, H) → GELU → Linear(H, D) of each
// centre (H = 128 officially). Parameters <prefix>.0.* and <prefix>.2.*
// (prefix "pos_embed" when empty).
type LearnedPositions struct {
	In, Out nn.Layer
}

// NewLearnedPositions builds the MLP with weights from init.
func NewLearnedPositions(prefix string, hidden, dim int, init nn.Init) (*LearnedPositions, error) {
	if prefix == "" {
		prefix = "pos_embed"
	}
	in, err := init.NewLayer(nn.Join(prefix, "0"), 3, hidden, true)
	if err != nil {
		return nil, err
	}
	out, err := init.NewLayer(nn.Join(prefix, "2"), hidden, dim, true)
	if err != nil {
		return nil, err
	}
	return &LearnedPositions{In: in, Out: out}, nil
}

// Forward maps centres [B, G, 3] (converted to the weights' dtype) to
// encodings [B, G, D].
func (l *LearnedPositions) Forward(centres *tensor.Tensor) *autograd.Var {
	x := autograd.Const(centres.To(l.In.Params()[0].Value.DType()))
	return l.Out.Forward(autograd.Gelu(l.In.Forward(x)))
}

// Params returns the two layers' parameters.
func (l *LearnedPositions) Params() []*autograd.Var { return nn.Collect(l.In, l.Out) }
