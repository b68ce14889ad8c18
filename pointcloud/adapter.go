package pointcloud

import (
	"fmt"
	"math"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// The Any-to-3D guided adapter. In the official code it is part of every
// transformer block (ResidualAttentionBlock in models/layers/attention.py
// of Any2Point_CLIP_Lang; Block in models/Point_MAE.py of
// Any2Point_clip_lang_modelnet; the bottleneck AdapterSuper_noout in
// models/peft_module/adapter.py), after the FFN, on the residual stream x:
//
//	f = mlp(ln_2(x))
//	x = x + f + s·A(f)            A: Linear D→16, QuickGELU, Dropout(0.1), Linear 16→D; s = --scale_factor 0.3
//	cls, p = x[:, 0], x[:, 1:]    (the guided part skips the CLS token)
//	x3 = spread(GELU(BN(max_voxel p + mean_voxel p)))          out_transform_3d, per block
//	for each line v (6):
//	    h_v = p + Attn1_v(LN_v(p), mask_v)                     attention within the line's cells; shared by all blocks
//	    f_v = spread(GELU(BN_v(mean_cell h_v)))                out_transform_1d[v], per block (max + mean with --maxmean_1d)
//	    w_v = (cos(f_v, x3) + 1)/2,   normalised over v
//	p = p + c·Σ_v w_v·f_v         c = --coef_pro: 0.3 ScanObjectNN, 0.5 ModelNet40
//	x = [cls, p]
//
// where spread gives each token its group's row, and Attn1_v is a small
// multi-head attention (Attention1: qkv D → 3·12 with bias, 6 heads of
// width 2, scale 12^−½ — the total width, not the head's — proj 12 → D)
// with −100000 added to the scores of tokens outside the query's cell.
//
// GuidedAdapter wraps the block's FFN, whose output the block adds to its
// input: it returns f + s·A(f) + c·[0, Σ_v w_v f_v], the guided part
// computed on z = x + f + s·A(f) with x the FFN's input. In a post-norm
// (BERT) block, x ← LN(x + FFN(x)), the FFN's input is the residual
// stream and this is the official computation (the norm after it, as the
// block has it). In a pre-norm block the FFN sees LN(x), so z is LN(x) +
// f + s·A(f) rather than the stream.
//
// Deviations: BatchNorm1d in the out-transforms is LayerNorm (its
// statistics are per group rather than over the batch's groups); the
// cosine similarity divides by √(|a|²|b|² + ε²) rather than max(|a||b|,
// ε), ε = 10⁻⁸, so it is smooth at zero vectors.
//
// Initialisation. The official adapter is not near the identity at first:
// AdapterSuper draws both projections Xavier-uniform with biases N(0,
// 10⁻¹²) (then the backbone's own init re-draws every Linear: Xavier-uniform
// with zero biases for ScanObjectNN, N(0, 0.02²) truncated for ModelNet40),
// and the out-transforms are BatchNorm (gain 1, bias 0) + GELU, so the
// guided term c·Σ w_v f_v is of the order of the tokens from the first
// step. loom's default (Official false) starts at the identity exactly:
// the down-projection Xavier-uniform, the up-projection and all biases
// zero, and the out-transform LayerNorms with gain 0 and bias 0, so every
// f_v and x3 is GELU(0) = 0; the up-projection and the 1-D gains get
// gradients at once, the rest as they move. Official true uses
// AdapterSuper's init and gain-1 norms.

// AdapterConfig configures GuidedAdapters.
type AdapterConfig struct {
	Bottleneck int     // adapter_dim (16)
	Scale      float64 // s, --scale_factor (0.3)
	Guide      float64 // c, --coef_pro (0.3 ScanObjectNN, 0.5 ModelNet40)
	Dropout    float64 // in the bottleneck (adapter_drop_path_rate 0.1); drawn from Geometry.Dropout
	MaxMean1D  bool    // --maxmean_1d: max + mean in the 1-D cells (official default: mean)
	Official   bool    // the official init instead of the identity (see above)
	Eps        float64 // LayerNorm epsilon (1e-5 when 0)
	FFNName    string  // ApplyGuidedAdapters: last part of the FFN modules' names ("mlp" when empty)
}

// cosEps is the cosine similarity's ε.
const cosEps = 1e-8

// GuidedAdapter is an FFN with the Any-to-3D guided adapter; see the file
// comment. Its parameters are named <FFN name>.guided_adapter.{down, up,
// out_transform_3d, out_transform_1d.<v>}.{weight, bias} (official:
// adapter.ln1, adapter.ln2, out_transform_3d.0, out_transform_1d.<v>.0).
type GuidedAdapter struct {
	Inner    nn.FFN
	Down, Up *nn.Linear      // D → m, m → D
	Out3D    *nn.LayerNorm   // out_transform_3d (BatchNorm1d officially)
	Out1D    []*nn.LayerNorm // out_transform_1d, one per line
	// Geo is the batch's grouping, shared by all adapters and set by the
	// caller per batch; nil skips the guided part (the bottleneck alone).
	Geo *Geometry
	Cfg AdapterConfig

	views *ViewAttention // shared by all blocks; its parameters are not the adapter's
}

// NewGuidedAdapter wraps inner, an FFN named name of a width-d stream, for
// geometries of M = views.Views lines; views is shared by all adapters.
func NewGuidedAdapter(name string, inner nn.FFN, d int, geo *Geometry, views *ViewAttention, c AdapterConfig, r *tensor.RNG) (*GuidedAdapter, error) {
	if c.Bottleneck < 1 || c.Bottleneck > d {
		return nil, fmt.Errorf("pointcloud: guided adapter bottleneck %d for %s (width %d)", c.Bottleneck, name, d)
	}
	if views == nil || views.Dim() != d {
		return nil, fmt.Errorf("pointcloud: guided adapter %s (width %d) needs view attentions of that width", name, d)
	}
	eps := c.Eps
	if eps == 0 {
		eps = 1e-5
	}
	prefix := nn.Join(name, "guided_adapter")
	lin := func(part string, in, out int, zero bool) *nn.Linear {
		w, b := tensor.XavierUniform(r, 1, out, in), tensor.Zeros(out)
		if c.Official {
			b = tensor.Normal(r, 0, 1e-6, out)
		} else if zero {
			w = tensor.Zeros(out, in)
		}
		return &nn.Linear{
			Weight: autograd.NewParam(nn.Join(prefix, part, "weight"), autograd.RoleMatrix, w),
			Bias:   autograd.NewParam(nn.Join(prefix, part, "bias"), autograd.RoleBias, b)}
	}
	norm := func(part string) *nn.LayerNorm {
		n := nn.NewLayerNorm(nn.Join(prefix, part), d, eps, true)
		if !c.Official {
			n.Weight.Value = tensor.Zeros(d)
		}
		return n
	}
	a := &GuidedAdapter{Inner: inner, Geo: geo, Cfg: c, views: views}
	a.Down = lin("down", d, c.Bottleneck, false)
	a.Up = lin("up", c.Bottleneck, d, true)
	a.Out3D = norm("out_transform_3d")
	for v := range views.Views {
		a.Out1D = append(a.Out1D, norm(fmt.Sprintf("out_transform_1d.%d", v)))
	}
	return a, nil
}

// Params returns the FFN's parameters, then the adapter's (not the shared
// view attentions').
func (a *GuidedAdapter) Params() []*autograd.Var {
	ps := append(a.Inner.Params(), nn.Collect(a.Down, a.Up, a.Out3D)...)
	for _, n := range a.Out1D {
		ps = append(ps, n.Params()...)
	}
	return ps
}

// quickGelu is CLIP's x·σ(1.702x), the bottleneck's activation.
func quickGelu(x *autograd.Var) *autograd.Var {
	return autograd.Mul(x, autograd.Sigmoid(autograd.MulScalar(x, 1.702)))
}

// Forward maps x [B, Offset+G, D] (the FFN's input) to the FFN's output
// plus the adapter's, [B, Offset+G, D]; see the file comment.
func (a *GuidedAdapter) Forward(x *autograd.Var) *autograd.Var { return a.ForwardCtx(nil, x) }

// ForwardCtx is Forward with the context, which the FFN gets when it
// takes one (nn.CtxFFN).
func (a *GuidedAdapter) ForwardCtx(ctx *nn.Ctx, x *autograd.Var) *autograd.Var {
	f := nn.ApplyFFN(ctx, a.Inner, x)
	var drop *tensor.RNG
	if a.Geo != nil {
		drop = a.Geo.Dropout
	}
	h := autograd.DropoutSeeded(quickGelu(a.Down.Forward(f)), a.Cfg.Dropout, drop)
	y := autograd.Add(f, autograd.MulScalar(a.Up.Forward(h), a.Cfg.Scale))
	if a.Geo == nil || a.Geo.Local == nil || a.Cfg.Guide == 0 {
		return y
	}
	return autograd.Add(y, autograd.MulScalar(a.guide(autograd.Add(x, y)), a.Cfg.Guide))
}

// guide is Σ_v w_v f_v of the stream z [B, Offset+G, D], zero on the
// leading Offset tokens.
func (a *GuidedAdapter) guide(z *autograd.Var) *autograd.Var {
	geo := a.Geo
	B, T, D := z.Dim(0), z.Dim(1), z.Dim(2)
	off, G := geo.Offset, geo.Tokens
	if B != geo.Batch || T != off+G {
		panic(fmt.Sprintf("pointcloud: guided adapter input %v, geometry of %d clouds of %d+%d tokens", z.Shape(), geo.Batch, off, G))
	}
	if len(geo.Lines) != len(a.Out1D) {
		panic(fmt.Sprintf("pointcloud: geometry of %d lines, adapter of %d", len(geo.Lines), len(a.Out1D)))
	}
	p := autograd.Slice(z, 1, off, T)         // [B, G, D]
	flat := autograd.Reshape(p, B*G, D)       // [B·G, D]
	local := geo.Local.Pool(flat, true, true) // max + mean per voxel
	x3 := geo.Local.Spread(autograd.Gelu(a.Out3D.Forward(local)))
	fs := make([]*autograd.Var, len(geo.Lines))
	ws := make([]*autograd.Var, len(geo.Lines))
	var total *autograd.Var
	for v, cells := range geo.Lines {
		h := autograd.Reshape(a.views.Forward(v, p, geo.Masks[v]), B*G, D)
		pooled := cells.Pool(h, a.Cfg.MaxMean1D, true)
		fs[v] = cells.Spread(autograd.Gelu(a.Out1D[v].Forward(pooled)))
		ws[v] = autograd.MulScalar(autograd.AddScalar(cosine(fs[v], x3), 1), 0.5) // [B·G, 1]
		if total == nil {
			total = ws[v]
		} else {
			total = autograd.Add(total, ws[v])
		}
	}
	var sum *autograd.Var
	for v := range fs {
		t := autograd.Mul(fs[v], autograd.Div(ws[v], total))
		if sum == nil {
			sum = t
		} else {
			sum = autograd.Add(sum, t)
		}
	}
	out := autograd.Reshape(sum, B, G, D)
	if off > 0 {
		zeros := autograd.Const(tensor.New(z.Value.DType(), B, off, D))
		out = autograd.Concat(1, zeros, out)
	}
	return out
}

// cosine is the cosine similarity of the rows of a and b [N, D]: [N, 1].
func cosine(a, b *autograd.Var) *autograd.Var {
	num := autograd.Sum(autograd.Mul(a, b), true, 1)
	na := autograd.Sum(autograd.Mul(a, a), true, 1)
	nb := autograd.Sum(autograd.Mul(b, b), true, 1)
	return autograd.Div(num, autograd.Sqrt(autograd.AddScalar(autograd.Mul(na, nb), cosEps*cosEps)))
}

// ViewAttentionConfig sizes the view attentions.
type ViewAttentionConfig struct {
	Prefix string  // parameter prefix ("" gives the official attn1.<v>.*, norm3.<v>.*)
	Dim    int     // D
	Views  int     // M, lines (6)
	Width  int     // --attn1d_dim (12)
	Heads  int     // 6
	Eps    float64 // LayerNorm epsilon (1e-5 when 0)
}

// ViewAttention is the official Attention1 and its LayerNorm norm3, one per
// virtual line, shared by the guided adapters of all blocks (the backbone
// owns them and passes them to every block). It is trainable; the caller
// includes its Params with the adapters'. Parameters
// <prefix>.attn1.<v>.{qkv, proj}.{weight, bias} and
// <prefix>.norm3.<v>.{weight, bias}.
type ViewAttention struct {
	Norms     []*nn.LayerNorm // norm3
	QKV, Proj []nn.Layer      // D → 3·Width, Width → D, with biases
	Views     int
	Width     int
	Heads     int
}

// NewViewAttention builds the view attentions with weights from init (the
// official backbones re-draw them Xavier-uniform or N(0, 0.02²) truncated,
// zero biases).
func NewViewAttention(c ViewAttentionConfig, init nn.Init) (*ViewAttention, error) {
	if c.Dim < 1 || c.Views < 1 || c.Width < 1 || c.Heads < 1 || c.Width%c.Heads != 0 {
		return nil, fmt.Errorf("pointcloud: view attention sizes %+v", c)
	}
	eps := c.Eps
	if eps == 0 {
		eps = 1e-5
	}
	va := &ViewAttention{Views: c.Views, Width: c.Width, Heads: c.Heads}
	for v := range c.Views {
		va.Norms = append(va.Norms, nn.NewLayerNorm(nn.Join(c.Prefix, "norm3", fmt.Sprint(v)), c.Dim, eps, true))
		qkv, err := init.NewLayer(nn.Join(c.Prefix, "attn1", fmt.Sprint(v), "qkv"), c.Dim, 3*c.Width, true)
		if err != nil {
			return nil, err
		}
		proj, err := init.NewLayer(nn.Join(c.Prefix, "attn1", fmt.Sprint(v), "proj"), c.Width, c.Dim, true)
		if err != nil {
			return nil, err
		}
		va.QKV, va.Proj = append(va.QKV, qkv), append(va.Proj, proj)
	}
	return va, nil
}

// Dim returns D.
func (va *ViewAttention) Dim() int { return va.Norms[0].Weight.Dim(0) }

// Params returns each line's norm, qkv and proj parameters.
func (va *ViewAttention) Params() []*autograd.Var {
	var ps []*autograd.Var
	for v := range va.Views {
		ps = append(ps, nn.Collect(va.Norms[v], va.QKV[v], va.Proj[v])...)
	}
	return ps
}

// Forward is line v's residual attention within cells: x + Attn1_v(norm3_v
// x, mask) for x [B, G, D] and an additive mask broadcasting to [B, heads,
// G, G] (Geometry.Masks). Returns [B, G, D].
func (va *ViewAttention) Forward(v int, x *autograd.Var, mask *tensor.Tensor) *autograd.Var {
	B, G := x.Dim(0), x.Dim(1)
	m, H := va.Width, va.Heads
	qkv := va.QKV[v].Forward(va.Norms[v].Forward(x)) // [B, G, 3m]: q, k, v, each H heads of m/H
	head := func(i int) *autograd.Var {
		t := autograd.Reshape(autograd.Slice(qkv, 2, i*m, (i+1)*m), B, G, H, m/H)
		return autograd.Contiguous(autograd.Permute(t, 0, 2, 1, 3)) // [B, H, G, m/H]
	}
	o := autograd.Attention(head(0), head(1), head(2), mask, false, 1/math.Sqrt(float64(m)))
	o = autograd.Reshape(autograd.Permute(o, 0, 2, 1, 3), B, G, m)
	return autograd.Add(x, va.Proj[v].Forward(o))
}

// ApplyGuidedAdapters freezes model and wraps every FFN whose name ends in
// cfg.FFNName with a GuidedAdapter reading geo and sharing views, for a
// residual stream of width d. It returns how many it wrapped. The caller
// trains the adapters (nn.Trainable(model.Params())), views.Params() and
// its own tokenizer and head, and calls geo.Set per batch.
func ApplyGuidedAdapters(model nn.Module, d int, geo *Geometry, views *ViewAttention, cfg AdapterConfig, seed uint64) (int, error) {
	name := cfg.FFNName
	if name == "" {
		name = "mlp"
	}
	nn.Freeze(model)
	r := tensor.NewRNG(seed)
	count, err := nn.ReplaceAll(model, func(n *nn.Node) bool {
		_, ok := n.Module.(nn.FFN)
		return ok && (n.Name == name || strings.HasSuffix(n.Name, "."+name) || strings.HasSuffix(n.Path, "."+name))
	}, func(n *nn.Node) (nn.Module, error) {
		return NewGuidedAdapter(n.Name, n.Module.(nn.FFN), d, geo, views, cfg, r)
	})
	if err == nil && count == 0 {
		err = fmt.Errorf("pointcloud: no FFN named %q to wrap", name)
	}
	return count, err
}
