package dit

// Mixture of Blocks, Dense2MoE's block router (arXiv 2510.09094, §MoB, as
// third-party notes of the paper describe it; there is no official code):
// the blocks form groups of Group consecutive blocks, and per image (and
// timestep) a router picks the Active blocks of each group that run; the
// others pass the image's tokens through unchanged. The router of group g
// scores its blocks from the group's input, pooled over tokens, and the
// conditioning c: s = W_x·mean_t(h) + W_c·c ([Group] scores; the paper's
// α·W_x[x, c] + (1−α)·W_y·y with α folded into the learned weights), and
// the top Active by a softmax over the group run. In training a running
// block's update is scaled by p/sg(p) (1 in value, the router's gradient
// through p: a straight-through choice); at inference the skipped blocks
// are not computed for that image (its rows are left out of the block's
// batch), which is where the saving comes from. Distillation's feature
// matching at the groups' last blocks is the paper's group feature loss
// (distill.DiTConfig.Layers).

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// MoBConfig is a Mixture of Blocks: groups of Group consecutive blocks,
// Active of each group run per image.
type MoBConfig struct {
	Group  int `json:"group"`
	Active int `json:"active"`
}

// Validate checks the configuration against depth blocks.
func (c MoBConfig) Validate(depth int) error {
	if c.Group < 1 || c.Active < 1 || c.Active > c.Group || depth%c.Group != 0 {
		return fmt.Errorf("dit: mob group %d, active %d with %d blocks: want 1 ≤ active ≤ group, group dividing the depth", c.Group, c.Active, depth)
	}
	return nil
}

// WithMoB returns a copy of m with Mixture of Blocks c: every weight of m
// copied, and fresh block routers drawn from seed (N(0, 0.02²), so that
// they start near a uniform choice) — Dense2MoE's last stage starts so.
func WithMoB(m *Model, c MoBConfig, seed uint64) (*Model, error) {
	if m.Cfg.MoB != nil {
		return nil, fmt.Errorf("dit: the model already routes its blocks (mob %+v)", *m.Cfg.MoB)
	}
	nc := m.Cfg
	nc.MoB = &c
	if m.Cfg.MoE != nil {
		mc := *m.Cfg.MoE
		nc.MoE = &mc
	}
	out, err := New(nc, seed)
	if err != nil {
		return nil, err
	}
	src, err := nn.ParamMap(m.Params())
	if err != nil {
		return nil, err
	}
	used := 0
	for _, p := range out.Params() {
		s, ok := src[p.Name]
		switch {
		case ok && slices.Equal(s.Shape(), p.Shape()):
			p.Value = s.Value.Clone()
			used++
		case !ok && strings.HasPrefix(p.Name, "mob."):
		default:
			return nil, fmt.Errorf("dit: %s does not match the model's weights", p.Name)
		}
	}
	if used != len(src) {
		return nil, fmt.Errorf("dit: %d of the model's %d weights have no place in the copy", len(src)-used, len(src))
	}
	for i, b := range m.Blocks { // a mixture's settings beyond its config (a zeroed balance loss)
		if moe, ok := b.MLP.(*nn.MoE); ok {
			out.Blocks[i].MLP.(*nn.MoE).Cfg = moe.Cfg
		}
	}
	return out, nil
}

// MoBRouter scores the blocks of one group.
type MoBRouter struct {
	X, C *nn.Linear // [Group, H] each, no bias
}

// Params returns the router's weights.
func (r *MoBRouter) Params() []*autograd.Var { return nn.Collect(r.X, r.C) }

// MoBStats counts, over the last forward pass, how many block runs the
// router skipped (Skipped of Total block × image pairs).
type MoBStats struct{ Skipped, Total int }

// runGroups applies the blocks with Mixture of Blocks: h [N, T, H], sc the
// SiLU'd conditioning [N, H], cond the conditioning c [N, H].
func (m *Model) runGroups(ctx *nn.Ctx, h, sc, cond *autograd.Var) (*autograd.Var, []*autograd.Var) {
	mc := m.Cfg.MoB
	N, T, H := h.Dim(0), h.Dim(1), m.Cfg.Hidden
	var hidden []*autograd.Var
	m.MoBStats = MoBStats{}
	for g, r := range m.MoB {
		pooled := autograd.Mean(h, false, 1)                           // [N, H]
		scores := autograd.Add(r.X.Forward(pooled), r.C.Forward(cond)) // [N, Group]
		probs := autograd.Softmax(scores, 1)                           // [N, Group]
		_, sel := tensor.TopK(probs.Value, mc.Active, 1, true)         // chosen blocks per image
		run := make([][]int, mc.Group)                                 // images running each block of the group
		for n := range N {
			for j := range mc.Active {
				b := sel[n*mc.Active+j]
				run[b] = append(run[b], n)
			}
		}
		for j := range mc.Group {
			b := m.Blocks[g*mc.Group+j]
			rows := run[j]
			m.MoBStats.Total += N
			m.MoBStats.Skipped += N - len(rows)
			if len(rows) == 0 {
				hidden = append(hidden, h)
				continue
			}
			hs := autograd.IndexSelect(h, 0, rows)
			out := m.block(ctx, b, hs, autograd.IndexSelect(sc, 0, rows))
			delta := autograd.Sub(out, hs) // [R, T, H]
			if ctx.Training() {
				// p/sg(p): 1 in value, the router's gradient through p.
				p := autograd.Reshape(autograd.IndexSelect(autograd.Slice(probs, 1, j, j+1), 0, rows), len(rows), 1, 1)
				delta = autograd.Mul(delta, autograd.Div(p, autograd.Const(p.Value.Clone())))
			}
			// Scatter the updates back: rows not running take a zero row.
			idx := make([]int, N)
			for n := range idx {
				idx[n] = len(rows)
			}
			for i, n := range rows {
				idx[n] = i
			}
			zero := autograd.Const(tensor.Zeros(1, T, H).To(h.Value.DType()))
			h = autograd.Add(h, autograd.IndexSelect(autograd.Concat(0, delta, zero), 0, idx))
			hidden = append(hidden, h)
		}
	}
	return h, hidden
}

// block applies one adaLN-Zero block to h [N, T, H] with conditioning sc.
func (m *Model) block(ctx *nn.Ctx, b *Block, h, sc *autograd.Var) *autograd.Var {
	H := m.Cfg.Hidden
	mod := autograd.Split(b.Ada.Forward(sc), 1, H, H, H, H, H, H) // shift, scale, gate ×2
	a := b.Attn.Forward(ctx, modulate(layerNorm(h), mod[0], mod[1]))
	h = autograd.Add(h, autograd.Mul(autograd.Unsqueeze(mod[2], 1), a))
	f := nn.ApplyFFN(ctx, b.MLP, modulate(layerNorm(h), mod[3], mod[4]))
	return autograd.Add(h, autograd.Mul(autograd.Unsqueeze(mod[5], 1), f))
}
