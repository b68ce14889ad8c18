package decoder

import (
	"fmt"
	"reflect"

	"github.com/loomml/loom/nn"
)

// SSAOptions make training subsample attention: stochastically subsampled
// self-attention (Hussain, Zaki and Subramanian, arXiv 2306.01705; nn.SSA,
// tensor.SampleSSA). In config.json:
//
//	"loom": {"ssa": {"ratio": 0.25, "locality": 1, "seed": 0}}
//
// Every training step each query tile of 64 positions attends to its own
// key tile and ⌈ratio·visible⌉ − 1 earlier ones drawn without replacement
// with weights (1 + tile distance)^(−locality); evaluation and generation
// stay dense. The weights are those of the dense model, so a model trained
// with SSA exports as the same dense model (a dense fine-tune is training
// on without loom.ssa).
type SSAOptions struct {
	Ratio float64 `json:"ratio"`
	// Locality is the exponent of the bias towards near tiles (nil: 1;
	// 0: uniform).
	Locality *float64 `json:"locality,omitempty"`
	Seed     uint64   `json:"seed,omitempty"` // the sampler's seed
}

// DefaultSSALocality is the locality when loom.ssa.locality is unset.
const DefaultSSALocality = 1.0

func (o *SSAOptions) locality() float64 {
	if o.Locality == nil {
		return DefaultSSALocality
	}
	return *o.Locality
}

func init() {
	RegisterOption(Option{Key: "loom.ssa",
		Validate: func(c *Config) error {
			o := c.Loom.SSA
			if o == nil {
				return nil
			}
			if !(o.Ratio > 0 && o.Ratio <= 1) {
				return fmt.Errorf("loom.ssa.ratio is %v, want a number in (0, 1]", o.Ratio)
			}
			if l := o.locality(); !(l >= 0) || l > 1e6 {
				return fmt.Errorf("loom.ssa.locality is %v, want a finite number ≥ 0", l)
			}
			return nil
		},
		// Training only: the exported model is the dense one.
	})
}

// attachSSA gives every multi-head attention layer of m one shared
// sampler when the config asks for SSA.
func attachSSA(m *Model) { m.AttachSSA() }

// AttachSSA gives every multi-head attention layer of m one new shared
// sampler from m.Config.Loom.SSA (none when it is nil), for a config
// changed after the model was built. The options must be valid.
func (m *Model) AttachSSA() {
	var s *nn.SSA
	if o := m.Config.Loom.SSA; o != nil {
		var err error
		if s, err = nn.NewSSA(o.Ratio, o.locality(), o.Seed); err != nil {
			panic(err) // Validate checked the options
		}
	}
	for _, a := range m.attentionLayers() {
		a.SSA = s
	}
}

// SSA returns the model's sampler (nil without loom.ssa): set Off for a
// dense fine-tune, Ensemble for subsampled evaluation passes.
func (m *Model) SSA() *nn.SSA {
	for _, a := range m.attentionLayers() {
		if a.SSA != nil {
			return a.SSA
		}
	}
	return nil
}

// attentionLayers returns the *nn.Attention held by the blocks' fields
// (whatever the layout), each once.
func (m *Model) attentionLayers() []*nn.Attention {
	var out []*nn.Attention
	seen := map[*nn.Attention]bool{}
	for _, b := range m.Layers {
		v := reflect.ValueOf(b)
		if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
			continue
		}
		v = v.Elem()
		for i := range v.NumField() {
			f := v.Field(i)
			if !f.CanInterface() {
				continue
			}
			if a, ok := f.Interface().(*nn.Attention); ok && a != nil && !seen[a] {
				seen[a] = true
				out = append(out, a)
			}
		}
	}
	return out
}
