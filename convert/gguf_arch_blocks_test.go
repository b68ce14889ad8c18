package convert

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// TestGGUFArchFusedInPlace: the fused tensors of a phi3 Q4_K_M file
// (attn_qkv, ffn_up, in k-quant blocks) load as the file's rows of blocks,
// sliced as they are, and written back as the same mix give the file's
// bytes: nothing widened and requantised (ggml's k-quant quantisers do not
// give a dequantised block's bytes back).
func TestGGUFArchFusedInPlace(t *testing.T) {
	c, err := decoder.ParseConfig("config.json", []byte(`{"model_type": "phi3", "hidden_size": 256, "intermediate_size": 512,
		"num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 4, "vocab_size": 256,
		"max_position_embeddings": 64, "rms_norm_eps": 1e-5, "rope_theta": 10000, "hidden_act": "silu"}`))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := WriteRandom(c, dir, tensor.Float32, 3, 2000e6, nil); err != nil {
		t.Fatal(err)
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	mix, _ := ParseQuantMix("Q4_K_M")
	path := filepath.Join(t.TempDir(), "a.gguf")
	if err := ExportGGUFMix(m, path, tokenizer.Byte{}, mix, "m", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	back, err := LoadWith(path, LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range back.Params() {
		if strings.Contains(p.Name, "self_attn.q_proj") || strings.Contains(p.Name, "mlp.up_proj") {
			if d := p.Value.DType(); d.Info().Block != 256 {
				t.Errorf("%s held as %v, want its k-quant blocks", p.Name, d)
			}
		}
	}
	again := filepath.Join(t.TempDir(), "b.gguf")
	if err := ExportGGUFMix(back, again, tokenizer.Byte{}, mix, "m", WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gguf.Open(again)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	fused := 0
	for _, info := range f.Tensors {
		if info.Name == "blk.0.attn_qkv.weight" || info.Name == "blk.0.ffn_up.weight" {
			fused++
		}
		x, _ := f.TensorBytes(info.Name)
		y, err := g.TensorBytes(info.Name)
		if err != nil || !bytes.Equal(x, y) {
			t.Errorf("%s (%v): written back with other bytes (%v)", info.Name, info.Type, err)
		}
	}
	if fused != 2 {
		t.Fatalf("%d fused tensors in the file, want attn_qkv and ffn_up", fused)
	}
}
