package convert

import (
	"fmt"
	"testing"

	"github.com/loomml/loom/dtype"
)

// llamaTensors lists a llama-style GGUF's tensors in llama.cpp's order.
func llamaTensors(layers, hidden, ffn, vocab int, tied bool) []QuantTensor {
	ts := []QuantTensor{{"token_embd.weight", []int{hidden, vocab}}}
	for i := range layers {
		p := fmt.Sprintf("blk.%d.", i)
		ts = append(ts,
			QuantTensor{p + "attn_norm.weight", []int{hidden}},
			QuantTensor{p + "attn_q.weight", []int{hidden, hidden}},
			QuantTensor{p + "attn_k.weight", []int{hidden, hidden / 2}},
			QuantTensor{p + "attn_v.weight", []int{hidden, hidden / 2}},
			QuantTensor{p + "attn_output.weight", []int{hidden, hidden}},
			QuantTensor{p + "ffn_norm.weight", []int{hidden}},
			QuantTensor{p + "ffn_gate.weight", []int{hidden, ffn}},
			QuantTensor{p + "ffn_up.weight", []int{hidden, ffn}},
			QuantTensor{p + "ffn_down.weight", []int{ffn, hidden}})
	}
	ts = append(ts, QuantTensor{"output_norm.weight", []int{hidden}})
	if !tied {
		ts = append(ts, QuantTensor{"output.weight", []int{hidden, vocab}})
	}
	return ts
}

// TestQuantMixTypes: llama.cpp's choice of type per tensor for the mixes
// (llama_tensor_get_type): with 10 layers use_more_bits picks layers 0, 3,
// 6, 8 and 9 for attn_v and ffn_down in the _M mixes; the output (or the
// tied embedding) gets Q6_K; rows that the type's blocks do not divide fall
// back; norms stay.
func TestQuantMixTypes(t *testing.T) {
	more := map[int]bool{0: true, 3: true, 6: true, 8: true, 9: true}
	cases := []struct {
		mix         string
		hidden, ffn int
		tied        bool
		want        func(name string, layer int) dtype.DType // 0 for "stays"
	}{
		{"Q4_K_M", 256, 512, false, func(name string, l int) dtype.DType {
			switch name {
			case "output":
				return dtype.Q6_K
			case "attn_v", "ffn_down":
				if more[l] {
					return dtype.Q6_K
				}
			}
			return dtype.Q4_K
		}},
		{"Q5_K_M", 256, 320, true, func(name string, l int) dtype.DType {
			switch name {
			case "token_embd":
				return dtype.Q6_K // tied
			case "ffn_down": // rows of 320: Q6_K → Q8_0, Q5_K → Q5_1
				if more[l] {
					return dtype.Q8_0
				}
				return dtype.Q5_1
			case "attn_v":
				if more[l] {
					return dtype.Q6_K
				}
			}
			return dtype.Q5_K
		}},
		{"Q8_0", 256, 512, false, func(string, int) dtype.DType { return dtype.Q8_0 }},
		{"Q4_0", 288, 512, false, func(name string, l int) dtype.DType {
			if name == "output" {
				return dtype.Q8_0 // Q6_K, whose 256 do not divide 288
			}
			return dtype.Q4_0
		}},
		{"Q6_K", 256, 512, false, func(string, int) dtype.DType { return dtype.Q6_K }},
	}
	for _, c := range cases {
		q, err := ParseQuantMix(c.mix)
		if err != nil {
			t.Fatal(err)
		}
		ts := llamaTensors(10, c.hidden, c.ffn, 512, c.tied)
		got := q.Types(ts)
		for i, tn := range ts {
			var layer int
			var kind string
			if _, err := fmt.Sscanf(tn.Name, "blk.%d.", &layer); err == nil {
				kind = tn.Name[len(fmt.Sprintf("blk.%d.", layer)) : len(tn.Name)-len(".weight")]
			} else {
				kind = tn.Name[:len(tn.Name)-len(".weight")]
			}
			want := c.want(kind, layer)
			if len(tn.Shape) == 1 {
				want = 0
			}
			if got[i] != want {
				t.Errorf("%s %s: %v, want %v", c.mix, tn.Name, got[i], want)
			}
		}
	}
	if _, err := ParseQuantMix("q3_k_xl"); err == nil {
		t.Error("q3_k_xl accepted")
	}
}
