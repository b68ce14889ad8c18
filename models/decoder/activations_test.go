package decoder_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
)

// TestLearnedActivationsSurviveSaveLoad: activations with parameters of
// their own (PolyCom, DRA) are chosen by hidden_act, their scalars appear
// under <layer>.mlp.act_fn, and a saved model (after its scalars moved away
// from their initial values) reloads with identical logits.
func TestLearnedActivationsSurviveSaveLoad(t *testing.T) {
	for _, c := range []struct {
		act    string
		params []string
	}{
		{"polynorm", []string{"weight", "bias"}},
		{"polyrelu", []string{"weight", "bias"}},
		{"dra", []string{"a", "b", "c", "d"}},
		{"snake", []string{"a"}},
	} {
		t.Run(c.act, func(t *testing.T) {
			cfg := decodertest.TinyConfig(func(cfg *decoder.Config) { cfg.HiddenAct = c.act; cfg.Loom.FFN = "mlp" })
			m, err := decoder.New(cfg, 9)
			if err != nil {
				t.Fatal(err)
			}
			names := map[string]*autograd.Var{}
			for _, p := range m.Params() {
				names[p.Name] = p
			}
			for l := range 2 {
				for _, p := range c.params {
					v, ok := names["model.layers."+strconv.Itoa(l)+".mlp.act_fn."+p]
					if !ok {
						t.Fatalf("no parameter model.layers.%d.mlp.act_fn.%s", l, p)
					}
					v.Value.F32()[0] += 0.25 * float32(l+1) // as if trained
				}
			}
			dir := t.TempDir()
			if err := convert.Save(m, dir); err != nil {
				t.Fatal(err)
			}
			raw, _ := os.ReadFile(filepath.Join(dir, "config.json"))
			if !strings.Contains(string(raw), `"hidden_act": "`+c.act+`"`) {
				t.Fatalf("config.json does not name the activation:\n%s", raw)
			}
			m2, err := convert.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			x := decodertest.IDs(12, 50)
			var a, b *autograd.Var
			autograd.NoGrad(func() { a, b = m.Forward(nil, x, 1, 12), m2.Forward(nil, x, 1, 12) })
			for i, v := range a.Value.F32() {
				if b.Value.F32()[i] != v {
					t.Fatalf("reloaded %s model differs at %d: %v vs %v", c.act, i, b.Value.F32()[i], v)
				}
			}
			if got := cfg.Unexportable(decoder.HF); len(got) == 0 {
				t.Errorf("%s exported to HF without a word", c.act)
			}
		})
	}
}
