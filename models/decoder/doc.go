// Package decoder is loom's decoder-only transformer language model: by
// default Llama (RMSNorm, rotary embeddings, SwiGLU, grouped-query
// attention, no biases), configured by a Hugging Face config.json whose
// parameters carry HF Llama names, so a saved model loads in transformers'
// LlamaForCausalLM. GPT-2-style options (LayerNorm, learned positions, GELU
// MLP, biases) live under the config's "loom" key.
//
// Papers that change the block plug in through interfaces chosen by config:
// the block layout (RegisterLayout), the attention (Attention), and through
// package nn the norm, feed-forward network and activation.
//
//	cfg, _ := decoder.LoadConfig("config.json")
//	m, _ := decoder.New(cfg, 1)
//	loss := m.Loss(x, y, B, T) // x, y: [B·T] token ids and next tokens
//	loss.Backward()
package decoder
