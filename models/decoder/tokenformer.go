package decoder

// TokenFormer ("TokenFormer: Rethinking Transformer Scaling with Tokenized
// Model Parameters", arXiv 2410.23168; official code Haiyang-W/TokenFormer,
// megatron/model/tokenformer.py): every projection of a block is a
// Pattention (nn/pattention.go), attention from the tokens to learnable
// key–value parameter tokens, so the model grows by appending tokens.
//
//	"loom": {"tokenformer": {"qkv_slot_num": 64, "proj_slot_num": 64}}
//
// makes the query, key, value and output projections Pattentions of
// qkv_slot_num (output: proj_slot_num, default qkv_slot_num) slots, the
// FFN one Pattention of intermediate_size slots (the official
// ffn_slot_num), and the norms non-parametric LayerNorms (the official
// layernorm_nonparam); loom.attention, loom.ffn and loom.norm default to
// those ("pattention", "pattention", "layernorm_nonparam"), and the first
// two may not be set otherwise. The official models rotate 25 % of each
// head (rotary_pct 0.25): set partial_rotary_factor 0.25. The layer is the
// usual pre-norm block (x += Attn(LN x); x += FFN(LN x)) with causal
// softmax attention scaled 1/√head_dim; embeddings and the head are the
// decoder's.
//
// loom.tokenformer.tau records the slot counts before growing (Grow): each
// Pattention keeps τ, its √τ normalisation, so that the grown model with
// zero keys computes the old function. Checkpoints are loom's own (no
// Hugging Face class or GGUF architecture holds Pattentions); names:
// model.layers.<i>.self_attn.{q,k,v,o}_proj.{key,value}_param_tokens and
// model.layers.<i>.mlp.{key,value}_param_tokens.

import (
	"cmp"
	"fmt"
	"strings"

	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// TokenFormerOptions is loom.tokenformer.
type TokenFormerOptions struct {
	QKVSlotNum  int `json:"qkv_slot_num"`
	ProjSlotNum int `json:"proj_slot_num,omitempty"` // 0: qkv_slot_num
	// Tau are the τ of the Pattentions after growth (nil: the slot counts).
	Tau *TokenFormerTau `json:"tau,omitempty"`
}

// TokenFormerTau are the slot counts each kind of Pattention normalises
// with: those of the model before its first growth.
type TokenFormerTau struct {
	QKV  int `json:"qkv"`
	Proj int `json:"proj"`
	FFN  int `json:"ffn"`
}

// The parts a TokenFormer is built of.
const (
	tokenformerPart = "pattention"
	tokenformerNorm = "layernorm_nonparam"
)

// proj returns the output projection's slot count.
func (o *TokenFormerOptions) proj() int { return cmp.Or(o.ProjSlotNum, o.QKVSlotNum) }

// tau returns the τ of each kind (zero values: the slot counts).
func (o *TokenFormerOptions) tau() TokenFormerTau {
	if o == nil || o.Tau == nil {
		return TokenFormerTau{}
	}
	return *o.Tau
}

// implied returns the parts loom.tokenformer stands for (none when nil).
func (o *TokenFormerOptions) implied() Options {
	if o == nil {
		return Options{}
	}
	return Options{Attention: tokenformerPart, FFN: tokenformerPart, Norm: tokenformerNorm}
}

func init() {
	RegisterAttention(tokenformerPart, tokenformerAttention)
	RegisterOption(Option{Key: "loom.tokenformer",
		Validate: func(c *Config) error {
			o := c.Loom.TokenFormer
			if o == nil {
				if c.Loom.Attention == tokenformerPart {
					return fmt.Errorf("loom.attention %q needs loom.tokenformer (its slot counts)", tokenformerPart)
				}
				return nil
			}
			switch {
			case o.QKVSlotNum < 1 || o.ProjSlotNum < 0:
				return fmt.Errorf("loom.tokenformer.qkv_slot_num is %d and proj_slot_num %d, want ≥ 1 (and ≥ 0: 0 is qkv_slot_num)", o.QKVSlotNum, o.ProjSlotNum)
			case c.Loom.Attention != "" && c.Loom.Attention != tokenformerPart:
				return fmt.Errorf("loom.attention is %q with loom.tokenformer, want %q (or unset)", c.Loom.Attention, tokenformerPart)
			case c.Loom.FFN != "" && c.Loom.FFN != tokenformerPart:
				return fmt.Errorf("loom.ffn is %q with loom.tokenformer, want %q (or unset): the FFN is a Pattention of intermediate_size slots", c.Loom.FFN, tokenformerPart)
			case c.MLPBias || c.AttentionBias:
				return fmt.Errorf("mlp_bias/attention_bias: a TokenFormer's Pattentions have no biases")
			case c.MoE() || c.Loom.MatFormer != nil || c.Loom.PHM != nil || len(c.Loom.IntermediateSizes) > 0:
				return fmt.Errorf("loom.tokenformer: not implemented together with mixtures, loom.matformer, loom.phm or loom.intermediate_sizes")
			case c.LayoutName() != DefaultLayout || c.Loom.Share != "":
				// TokenFormer's block is the pre-norm one; growth walks
				// each layer's own Pattentions.
				return fmt.Errorf("loom.tokenformer: loom.layout %q and loom.share %q: want the %q layout and no sharing", c.LayoutName(), c.Loom.Share, DefaultLayout)
			}
			if t := o.Tau; t != nil && (t.QKV < 1 || t.Proj < 1 || t.FFN < 1 || t.QKV > o.QKVSlotNum || t.Proj > o.proj() || t.FFN > c.IntermediateSize) {
				return fmt.Errorf("loom.tokenformer.tau %+v: want positive slot counts no larger than the current ones (qkv %d, proj %d, ffn %d)", *t, o.QKVSlotNum, o.proj(), c.IntermediateSize)
			}
			return nil
		},
		Unsupported: func(c *Config, _ Format) string {
			return unless(c.Loom.TokenFormer == nil, "loom.tokenformer (Pattention projections)")
		}})
}

// tokenformerAttention is self-attention whose four projections are
// Pattentions.
func tokenformerAttention(p Parts) (Attention, error) {
	o := p.Config.Loom.TokenFormer
	if o == nil {
		return nil, fmt.Errorf("loom.attention %q needs loom.tokenformer (its slot counts)", tokenformerPart)
	}
	tau := o.tau()
	p.Init.Layer = func(prefix string, in, out int, bias bool, init nn.Init) (nn.Layer, error) {
		if bias {
			return nil, fmt.Errorf("%s: a Pattention has no bias", prefix)
		}
		slots, t := o.QKVSlotNum, tau.QKV
		if strings.HasSuffix(prefix, "."+nn.DefaultAttentionNames[3]) {
			slots, t = o.proj(), tau.Proj
		}
		return nn.NewPattention(nn.PattentionConfig{Prefix: prefix, In: in, Out: out, Slots: slots, Tau: t, Init: init})
	}
	return selfAttention(p)
}

// Pattentions returns every Pattention of the model by kind: "qkv" (the
// query, key and value projections), "proj" (the output projections) and
// "ffn".
func (m *Model) Pattentions() map[string][]*nn.Pattention {
	out := map[string][]*nn.Pattention{}
	for _, l := range m.Layers {
		b, ok := l.(*PreNorm)
		if !ok {
			continue
		}
		if a, ok := b.Attn.(*nn.Attention); ok {
			for i, pl := range []nn.Layer{a.Q, a.K, a.V, a.O} {
				kind := "qkv"
				if i == 3 {
					kind = "proj"
				}
				if pa, ok := pl.(*nn.Pattention); ok {
					out[kind] = append(out[kind], pa)
				}
			}
		}
		if f, ok := b.FFN.(nn.PattentionFFN); ok {
			out["ffn"] = append(out["ffn"], f.Pattention)
		}
	}
	return out
}

// Grow appends key–value parameter tokens to every Pattention of a
// TokenFormer: qkv to the query, key and value projections, proj to the
// output projections, ffn to the FFNs (0: none). New keys are zero and
// τ keeps the slot counts before the first growth, so the grown model
// computes exactly what m did; new values are drawn N(0, σ²) from seed,
// σ the config's initializer_range, so that the new slots train (with
// zero values too their gradients would vanish). The config follows
// (slot counts, intermediate_size, loom.tokenformer.tau). An optimizer
// built before must be rebuilt: the grown tokens are new parameters.
func Grow(m *Model, qkv, proj, ffn int, seed uint64) error {
	c := m.Config
	o := c.Loom.TokenFormer
	if o == nil {
		return fmt.Errorf("grow: the model is not a TokenFormer (no loom.tokenformer in its config): only Pattention layers grow")
	}
	if qkv < 0 || proj < 0 || ffn < 0 || qkv+proj+ffn == 0 {
		return fmt.Errorf("grow: slots to add %d (qkv), %d (proj), %d (ffn): want non-negative counts, one positive", qkv, proj, ffn)
	}
	ps := m.Pattentions()
	if len(ps["qkv"]) != 3*len(m.Layers) || len(ps["proj"]) != len(m.Layers) || len(ps["ffn"]) != len(m.Layers) {
		return fmt.Errorf("grow: expected 5 Pattentions in each of %d layers, found %d qkv, %d proj, %d ffn", len(m.Layers), len(ps["qkv"]), len(ps["proj"]), len(ps["ffn"]))
	}
	tau := o.tau()
	if tau.QKV == 0 {
		tau = TokenFormerTau{QKV: o.QKVSlotNum, Proj: o.proj(), FFN: c.IntermediateSize}
	}
	rng := tensor.NewRNG(seed)
	std := c.InitializerRange
	if std == 0 {
		std = 0.02
	}
	for _, g := range []struct {
		kind  string
		extra int
		tau   int
	}{{"qkv", qkv, tau.QKV}, {"proj", proj, tau.Proj}, {"ffn", ffn, tau.FFN}} {
		if g.extra == 0 {
			continue
		}
		for _, p := range ps[g.kind] {
			p.Tau = g.tau
			if err := p.Grow(g.extra, std, rng); err != nil {
				return err
			}
		}
	}
	no := *o
	no.QKVSlotNum += qkv
	no.ProjSlotNum = o.proj() + proj
	no.Tau = &tau
	c.Loom.TokenFormer = &no
	c.IntermediateSize += ffn
	return nil
}
