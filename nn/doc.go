// Package nn holds the building blocks of loom's models and the contract
// every model family shares.
//
// Blocks: Linear layers, embeddings, norms, activations, feed-forward
// networks and one Attention for every family (causal or bidirectional,
// grouped-query heads, rotary positions, sliding windows, padding and
// arbitrary sparse or graph masks, dropout on the probabilities, the fused
// flash kernel wherever the mask allows), each a plain struct whose
// parameters carry checkpoint (Hugging Face) names.
//
// The contract:
//   - Ctx is what a forward pass carries besides its inputs: training or
//     evaluation, the RNG for dropout, a sink for auxiliary losses
//     (AddAux), a per-call attention Mask, the Cache and the position.
//   - Parameters carry what their builder says about them
//     (autograd.Var.Role, LRScale, InitScale): weight decay, optimizer
//     groups, low-precision storage and export read those, never a rank or
//     a name suffix. Freeze makes a module untrainable (no gradients, no
//     optimizer state).
//   - The module tree: Walk visits every submodule with its Hugging Face
//     name, and Replace/ReplaceAll swap modules of a built or loaded model
//     (how LoRA and adapters are injected), keeping checkpoint names.
//   - Caches sit behind Cache and KVCache (FullKV, SlidingKV), so a paged or
//     recurrent-state cache plugs in without touching callers.
//
// Variants from papers plug in through small interfaces (Layer, Norm,
// Activation, FFN) and registries keyed by the names used in config files,
// so a model family's forward code never branches on a variant:
//
//	act, _ := nn.NewActivation("silu", nn.ActivationConfig{Prefix: "model.layers.0.mlp.act_fn", Dim: 1024})
//	ffn, _ := nn.NewFFN("gated", nn.FFNConfig{Prefix: "model.layers.0.mlp", Dim: 256, Hidden: 1024, Act: "silu", Init: init})
//	y := ffn.Forward(x) // x: [B, T, 256]
//	attn, _ := nn.NewAttention(nn.AttentionConfig{Prefix: "model.layers.0.self_attn", Dim: 256, Heads: 4, RopeTheta: 1e4, Init: init})
//	z := attn.Forward(&nn.Ctx{Train: true, RNG: rng}, x)
//
// A paper's variant lives in its own file named after the technique, with
// the arXiv id in its doc comment, and registers itself from init.
package nn
