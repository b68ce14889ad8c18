// Package nn holds the building blocks of loom's models: Linear layers,
// embeddings, norms, activations, feed-forward networks and self-attention,
// each a plain struct whose parameters carry checkpoint (Hugging Face) names.
//
// Variants from papers plug in through small interfaces (Layer, Norm,
// Activation, FFN) and registries keyed by the names used in config files,
// so a model family's forward code never branches on a variant:
//
//	act, _ := nn.NewActivation("silu", "model.layers.0.mlp", 1024)
//	ffn, _ := nn.NewFFN("gated", nn.FFNConfig{Prefix: "model.layers.0.mlp", Dim: 256, Hidden: 1024, Act: "silu"}, rng)
//	y := ffn.Forward(x) // x: [B, T, 256]
//
// A paper's variant lives in its own file named after the technique, with
// the arXiv id in its doc comment, and registers itself from init.
package nn
