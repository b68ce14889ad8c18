package encoder

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/loomml/loom/nn"
)

// Sublayer kinds of an encoder layer, as config.json's loom.removed names
// them.
const (
	SublayerAttention = "attention"
	SublayerFFN       = "ffn"
)

// Removed is the map of pruned sublayers saved under config.json's "loom"
// key: for each kind, the increasing layer indices whose attention or FFN
// is gone with its residual and its norm (Layer.Forward skips a nil
// sublayer; nothing is stored for it). AxFormer (arXiv 2010.03688,
// compress/axformer) records its removals here; a whole removed layer is
// listed under both kinds.
type Removed struct {
	Attention []int `json:"attention,omitempty"`
	FFN       []int `json:"ffn,omitempty"`
}

func (r *Removed) list(kind string) []int {
	switch {
	case r == nil:
		return nil
	case kind == SublayerAttention:
		return r.Attention
	case kind == SublayerFFN:
		return r.FFN
	}
	return nil
}

// Has reports whether layer's sublayer of kind is removed.
func (r *Removed) Has(layer int, kind string) bool { return slices.Contains(r.list(kind), layer) }

// Count returns the number of removed sublayers.
func (r *Removed) Count() int {
	if r == nil {
		return 0
	}
	return len(r.Attention) + len(r.FFN)
}

// validatePruning checks loom.removed and loom.attention_top_k against
// the number of layers, naming the field.
func (c *Config) validatePruning() error {
	L := c.NumHiddenLayers
	for _, kind := range []string{SublayerAttention, SublayerFFN} {
		l := c.Loom.Removed.list(kind)
		for i, v := range l {
			if v < 0 || v >= L {
				return fmt.Errorf("loom.removed.%s lists layer %d; the model has layers 0 to %d", kind, v, L-1)
			}
			if i > 0 && l[i-1] >= v {
				return fmt.Errorf("loom.removed.%s must list layers in increasing order without repeats, have %v", kind, l)
			}
		}
	}
	ks := c.Loom.AttentionTopK
	if ks == nil {
		return nil
	}
	if len(ks) != L {
		return fmt.Errorf("loom.attention_top_k has %d entries, want one per layer (%d; 0 for dense attention)", len(ks), L)
	}
	for i, k := range ks {
		switch {
		case k < 0:
			return fmt.Errorf("loom.attention_top_k[%d] is %d, want 0 (dense attention) or a positive k", i, k)
		case k > 0 && c.Loom.Removed.Has(i, SublayerAttention):
			return fmt.Errorf("loom.attention_top_k[%d] is %d, but loom.removed.attention lists layer %d (it has no attention)", i, k, i)
		}
	}
	return nil
}

// checkLoomKeys refuses keys under config.json's "loom" (and its
// "removed") that loom does not read, as ParseConfig does at the top
// level: a misspelt removal map would otherwise load the unpruned shape.
func checkLoomKeys(name string, raw json.RawMessage) error {
	if raw == nil {
		return nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return fmt.Errorf("%s: loom: %w", name, err)
	}
	if err := unknownKeys(name, "loom", keys, Options{}); err != nil {
		return err
	}
	if r, ok := keys["removed"]; ok && string(r) != "null" {
		var rk map[string]json.RawMessage
		if err := json.Unmarshal(r, &rk); err != nil {
			return fmt.Errorf("%s: loom.removed: %w", name, err)
		}
		return unknownKeys(name, "loom.removed", rk, Removed{})
	}
	return nil
}

func unknownKeys(name, field string, keys map[string]json.RawMessage, v any) error {
	known := jsonKeys(v)
	var unknown []string
	for k := range keys {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return fmt.Errorf("%s: %s: keys loom does not read: %s (it has %s)", name, field, strings.Join(unknown, ", "), strings.Join(known, ", "))
}

// applyPruning removes the sublayers c.Loom.Removed lists from m's layers
// and gives layers their top-k attention (New calls it).
func (m *Model) applyPruning() error {
	c := m.Config
	if c.Loom.Removed.Count() == 0 && c.Loom.AttentionTopK == nil {
		return nil
	}
	for i, b := range m.Layers {
		l := b.(*Layer) // New builds plain layers
		if c.Loom.Removed.Has(i, SublayerAttention) {
			l.Attn = nil
		}
		if c.Loom.Removed.Has(i, SublayerFFN) {
			l.FFN = nil
		}
		if i < len(c.Loom.AttentionTopK) && c.Loom.AttentionTopK[i] > 0 {
			a, ok := l.Attn.(*nn.Attention)
			if !ok {
				return fmt.Errorf("loom.attention_top_k[%d]: layer %d's attention is a %T, not an nn.Attention", i, i, l.Attn)
			}
			t, err := nn.NewTopK(a, c.Loom.AttentionTopK[i])
			if err != nil {
				return fmt.Errorf("loom.attention_top_k[%d]: %w", i, err)
			}
			l.Attn = t
		}
	}
	return nil
}

// RecordPruning sets the config's loom.removed and loom.attention_top_k
// from m's layers as they are now (a nil Attn or FFN is removed; an
// nn.TopKAttention gives its k), so that Save writes a checkpoint that
// loads into the same model. Save calls it; layers that are not Layer
// (deep prompts wrapping one) are left as they are.
func (m *Model) RecordPruning() error {
	r := &Removed{}
	ks := make([]int, len(m.Layers))
	anyK := false
	for i, b := range m.Layers {
		l, ok := b.(*Layer)
		if !ok {
			continue
		}
		switch a := l.Attn.(type) {
		case nil:
			r.Attention = append(r.Attention, i)
		case *nn.TopKAttention:
			ks[i], anyK = a.K, true
		}
		if l.FFN == nil {
			r.FFN = append(r.FFN, i)
		}
	}
	c := m.Config
	c.Loom.Removed, c.Loom.AttentionTopK = nil, nil
	if r.Count() > 0 {
		c.Loom.Removed = r
	}
	if anyK {
		c.Loom.AttentionTopK = ks
	}
	return c.validatePruning()
}
