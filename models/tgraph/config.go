package tgraph

import (
	"fmt"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
)

// Architectures.
const (
	ArchTodyformer = "todyformer" // local and global encoders alternating
	ArchMPNN       = "mpnn"       // the local encoder alone (the ablation)
	ArchTGN        = "tgn"        // the TGN-style memory baseline (memory.go)
)

// Archs lists the architectures.
var Archs = []string{ArchTodyformer, ArchMPNN, ArchTGN}

// Config describes a model; it is saved as config.json.
type Config struct {
	Arch    string `json:"arch"`     // todyformer, mpnn or tgn
	Dim     int    `json:"dim"`      // width D of node states and tokens (tgn: of the memory)
	TimeDim int    `json:"time_dim"` // frequencies of the time encoding
	Heads   int    `json:"heads"`    // attention heads, local and global
	// Blocks is the number L of encoder blocks; block b runs LocalLayers
	// message-passing layers on every patch, then GlobalLayers Transformer
	// layers over every node's tokens.
	Blocks       int `json:"blocks"`
	LocalLayers  int `json:"local_layers"`
	GlobalLayers int `json:"global_layers"` // 0 for mpnn
	FFN          int `json:"ffn"`           // the global layers' feed-forward width
	// Window is the number W of most recent events before the cutoff the
	// model sees, and Patches the number M of patches they are cut into.
	Window  int `json:"window"`
	Patches int `json:"patches"`
	// EdgeFeat is the number of features per event of the streams the
	// model reads (0: none, as CollegeMsg).
	EdgeFeat int     `json:"edge_feat"`
	Dropout  float64 `json:"dropout"`
	// LearnTime trains the time encoding's frequencies (TGAT); by default
	// they are fixed (GraphMixer).
	LearnTime bool `json:"learn_time"`
	// MemoryBatch is, for tgn, the number of consecutive events whose
	// messages update the memory at once (TGN's batch; the training
	// batch size).
	MemoryBatch int    `json:"memory_batch,omitempty"`
	Seed        uint64 `json:"seed"`
}

// Defaults returns the configuration of arch used for CollegeMsg (see the
// package documentation for the sources of each number): width 64, two
// heads, time encoding of 32 frequencies, L = 2 blocks of one
// message-passing layer and one Transformer layer, a window of the last
// 2,048 events in M = 8 patches of 256, dropout 0.1. The MPNN ablation
// keeps the window and the two message-passing layers, without
// Transformer, over the whole window as one patch (the MPNN sees every
// edge of the window at once: DyG2Vec's encoder). The TGN baseline has a
// memory of width 64, the same time encoding, and updates it every 200
// events.
func Defaults(arch string) Config {
	if arch == ArchTGN {
		return Config{Arch: arch, Dim: 64, TimeDim: 32, MemoryBatch: 200}
	}
	c := Config{Arch: arch, Dim: 64, TimeDim: 32, Heads: 2, Blocks: 2, LocalLayers: 1, GlobalLayers: 1, FFN: 128,
		Window: 2048, Patches: 8, Dropout: 0.1}
	if arch == ArchMPNN {
		c.GlobalLayers, c.Patches = 0, 1
	}
	return c
}

// Check reports a configuration New cannot build.
func (c Config) Check() error {
	if c.Arch == ArchTGN {
		if c.Dim < 1 || c.TimeDim < 1 || c.MemoryBatch < 1 || c.EdgeFeat < 0 {
			return fmt.Errorf("tgraph: tgn of dim %d, time_dim %d, memory_batch %d, edge_feat %d", c.Dim, c.TimeDim, c.MemoryBatch, c.EdgeFeat)
		}
		return nil
	}
	switch {
	case c.Arch != ArchTodyformer && c.Arch != ArchMPNN:
		return fmt.Errorf("tgraph: arch %q (want todyformer, mpnn or tgn)", c.Arch)
	case c.Dim < 1 || c.TimeDim < 1 || c.Heads < 1 || c.Dim%c.Heads != 0:
		return fmt.Errorf("tgraph: dim %d, time_dim %d, heads %d (dim must be a multiple of heads)", c.Dim, c.TimeDim, c.Heads)
	case c.Blocks < 1 || c.LocalLayers < 1 || c.GlobalLayers < 0:
		return fmt.Errorf("tgraph: %d blocks of %d local and %d global layers", c.Blocks, c.LocalLayers, c.GlobalLayers)
	case c.Arch == ArchTodyformer && c.GlobalLayers < 1:
		return fmt.Errorf("tgraph: todyformer without global layers (that is arch mpnn)")
	case c.Arch == ArchMPNN && c.GlobalLayers != 0:
		return fmt.Errorf("tgraph: mpnn with %d global layers", c.GlobalLayers)
	case c.GlobalLayers > 0 && c.FFN < 1:
		return fmt.Errorf("tgraph: ffn %d", c.FFN)
	case c.Window < 1 || c.Patches < 1 || c.Patches > c.Window:
		return fmt.Errorf("tgraph: window %d in %d patches", c.Window, c.Patches)
	case c.EdgeFeat < 0 || c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("tgraph: edge_feat %d, dropout %v", c.EdgeFeat, c.Dropout)
	}
	return nil
}

// LinkModel is a trainable link predictor: Model (todyformer, mpnn) or TGN.
type LinkModel interface {
	nn.Module
	Scorer
	// Logits scores the pairs src[i] → dst[i] at cutoff from the events
	// of h strictly before it: [len(src)]. A training ctx applies
	// dropout; nil is evaluation.
	Logits(ctx *nn.Ctx, h *History, cutoff float64, src, dst []int) *autograd.Var
	// Config returns the model's configuration.
	Config() Config
}

// Build builds c's model, of any architecture.
func Build(c Config) (LinkModel, error) {
	if c.Arch == ArchTGN {
		return NewTGN(c)
	}
	return New(c)
}
