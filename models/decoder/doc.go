// Package decoder is loom's decoder-only transformer language model: by
// default Llama (RMSNorm, rotary embeddings, SwiGLU, grouped-query
// attention, no biases), configured by a Hugging Face config.json whose
// parameters carry HF Llama names, so a saved model loads in transformers'
// LlamaForCausalLM. GPT-2-style options (LayerNorm, learned positions, GELU
// MLP, biases) live under the config's "loom" key. Reading and writing
// models (Hugging Face directories, GGUF files) is package convert's.
//
// Papers that change the block plug in through registries chosen by
// config: the block layout (RegisterLayout), the attention
// (RegisterAttention), and through package nn the norm, feed-forward
// network and activation. Every option registers its validation and
// whether each export format can express it (RegisterOption).
//
//	cfg, _ := decoder.LoadConfig("config.json")
//	m, _ := decoder.New(cfg, 1)
//	loss := m.Loss(&nn.Ctx{Train: true}, batch) // batch: data.Batch of ids and next tokens
//	loss.Backward()
//	logits := m.Forward(nil, ids, 1, len(ids)) // evaluation: a nil Ctx
package decoder
