package nn

import (
	"fmt"
	"math"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Hypernetworks with magnitude invariant parametrisations (MIP): "Magnitude
// Invariant Parametrizations Improve Hypernetwork Learning" (Ortiz, Guttag,
// Dalca; ICLR 2024, arXiv 2304.07645; code JJGO/hyperlight). A HyperNet is
// a fully connected LeakyReLU network that maps hyperparameters γ ∈ [0, 1]^k
// to the flat parameters θ of a primary network. Under MIP
//
//   - γ is encoded as [cos(πγ/2), sin(πγ/2)] (all cosines, then all sines,
//     as hyperlight's encode_input), a vector of constant norm √k;
//   - θ = θ₀ + Δθ(γ): θ₀ is the output layer's bias, initialised as the
//     primary network's own initialisation (Kaiming normal, fan-in, for
//     weights; zero for biases), so θ at init is a primary network's usual
//     parameters plus a perturbation whose size does not depend on γ;
//   - the output layer's rows are initialised chunk by chunk, each primary
//     parameter's rows as an independent layer (Kaiming normal, fan-out =
//     the parameter's size).
//
// The default parametrisation, the paper's baseline, is the same network
// and initialisation without the two MIP components: γ enters raw and the
// output bias starts at zero, so at init θ is proportional to γ (the
// network is positively homogeneous: LeakyReLU layers with zero biases).

// ParamSpec is one parameter of a primary network that a HyperNet emits:
// its name (a weight's name ends in "weight", a bias's in "bias") and
// shape.
type ParamSpec struct {
	Name  string `json:"name"`
	Shape []int  `json:"shape"`
}

// Size returns the number of values.
func (p ParamSpec) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Hypernetwork parametrisations: MIP (input encoding and residual θ₀), the
// default (neither), and the two ablations with one component each.
const (
	HyperMIP      = "mip"
	HyperDefault  = "default"
	HyperEncoding = "encoding" // cos|sin encoding only (θ₀ = 0 at init)
	HyperResidual = "residual" // residual θ₀ only (raw γ)
)

// HyperParametrizations lists the parametrisation names.
var HyperParametrizations = []string{HyperMIP, HyperDefault, HyperEncoding, HyperResidual}

// HyperNetConfig describes a HyperNet.
type HyperNetConfig struct {
	Inputs          int         `json:"inputs"`          // number of hyperparameters γ, each in [0, 1]
	Hidden          []int       `json:"hidden"`          // hidden widths
	Outputs         []ParamSpec `json:"outputs"`         // the primary network's parameters, in order
	Parametrization string      `json:"parametrization"` // HyperMIP (default when empty), HyperDefault, …
	// Slope is the hidden LeakyReLU's negative slope (0: PyTorch's 0.01).
	Slope float64 `json:"slope,omitempty"`
}

// encode and residual report the configuration's MIP components.
func (c HyperNetConfig) encode() bool {
	return c.Parametrization == HyperMIP || c.Parametrization == HyperEncoding || c.Parametrization == ""
}

func (c HyperNetConfig) residual() bool {
	return c.Parametrization == HyperMIP || c.Parametrization == HyperResidual || c.Parametrization == ""
}

func (c HyperNetConfig) slope() float64 {
	if c.Slope == 0 {
		return 0.01
	}
	return c.Slope
}

// Validate names the first problem with c.
func (c HyperNetConfig) Validate() error {
	if c.Inputs < 1 {
		return fmt.Errorf("hypernet: inputs %d, want at least 1 hyperparameter", c.Inputs)
	}
	for i, h := range c.Hidden {
		if h < 1 {
			return fmt.Errorf("hypernet: hidden width %d (layer %d), want at least 1", h, i)
		}
	}
	if len(c.Outputs) == 0 {
		return fmt.Errorf("hypernet: no outputs: give the primary network's parameters")
	}
	seen := map[string]bool{}
	for _, o := range c.Outputs {
		if o.Name == "" {
			return fmt.Errorf("hypernet: an output of shape %v has no name", o.Shape)
		}
		if seen[o.Name] {
			return fmt.Errorf("hypernet: two outputs named %q", o.Name)
		}
		seen[o.Name] = true
		if len(o.Shape) == 0 {
			return fmt.Errorf("hypernet: output %q has no shape", o.Name)
		}
		for _, d := range o.Shape {
			if d < 1 {
				return fmt.Errorf("hypernet: output %q has shape %v, want positive sizes", o.Name, o.Shape)
			}
		}
	}
	switch c.Parametrization {
	case "", HyperMIP, HyperDefault, HyperEncoding, HyperResidual:
	default:
		return fmt.Errorf("hypernet: unknown parametrization %q, want one of %s", c.Parametrization, strings.Join(HyperParametrizations, ", "))
	}
	if s := c.Slope; math.IsNaN(s) || s < 0 || s >= 1 {
		return fmt.Errorf("hypernet: slope %g, want 0 ≤ slope < 1", s)
	}
	return nil
}

// HyperNet maps hyperparameters to a primary network's parameters.
type HyperNet struct {
	Config HyperNetConfig
	Layers []*Linear // the hidden layers, then the output layer (whose bias is θ₀)

	offsets []int // start of each output in the flat θ
	total   int
}

// kaimingGain is torch.nn.init's gain of kaiming_normal_ with its default
// a = 0 for leaky_relu: √2 (hyperlight calls it without a).
var kaimingGain = math.Sqrt2

// NewHyperNet builds a HyperNet named prefix with weights drawn from rng:
// hidden layers Kaiming normal (fan-out, as hyperlight's default
// kaiming_normal_fanout) with zero biases; the output layer per chunk
// (Kaiming normal with fan-out the chunk's size); the output bias θ₀ from
// PrimaryInit under residual parametrisations, zero otherwise.
func NewHyperNet(prefix string, c HyperNetConfig, rng *tensor.RNG) (*HyperNet, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.Parametrization == "" {
		c.Parametrization = HyperMIP
	}
	h := &HyperNet{Config: c}
	for _, o := range c.Outputs {
		h.offsets = append(h.offsets, h.total)
		h.total += o.Size()
	}
	in := c.Inputs
	if c.encode() {
		in *= 2
	}
	for i, w := range c.Hidden {
		l := &Linear{
			Weight: autograd.NewParam(Join(prefix, fmt.Sprintf("hidden.%d.weight", i)), autograd.RoleMatrix, tensor.Normal(rng, 0, kaimingGain/math.Sqrt(float64(w)), w, in)),
			Bias:   autograd.NewParam(Join(prefix, fmt.Sprintf("hidden.%d.bias", i)), autograd.RoleBias, tensor.Zeros(w)),
		}
		h.Layers = append(h.Layers, l)
		in = w
	}
	wOut := tensor.New(tensor.Float32, h.total, in)
	wd := wOut.F32()
	for k, o := range c.Outputs {
		std := kaimingGain / math.Sqrt(float64(o.Size()))
		chunk := tensor.Normal(rng, 0, std, o.Size(), in).F32()
		copy(wd[h.offsets[k]*in:], chunk)
	}
	theta0 := tensor.Zeros(h.total)
	if c.residual() {
		t0 := theta0.F32()
		for k, o := range c.Outputs {
			copy(t0[h.offsets[k]:], PrimaryInit(o, rng).F32())
		}
	}
	h.Layers = append(h.Layers, &Linear{
		Weight: autograd.NewParam(Join(prefix, "output.weight"), autograd.RoleMatrix, wOut),
		Bias:   autograd.NewParam(Join(prefix, "output.bias"), autograd.RoleBias, theta0),
	})
	return h, nil
}

// PrimaryInit returns a primary network parameter's own initialisation, as
// hyperlight's init_independent_weights: a name ending in "weight" is
// Kaiming normal with fan-in (the product of every dimension but the
// first) and gain √2; anything else (biases) is zero.
func PrimaryInit(p ParamSpec, rng *tensor.RNG) *tensor.Tensor {
	if !strings.HasSuffix(p.Name, "weight") || len(p.Shape) < 2 {
		return tensor.Zeros(p.Size())
	}
	fanIn := p.Size() / p.Shape[0]
	return tensor.Normal(rng, 0, kaimingGain/math.Sqrt(float64(fanIn)), p.Size())
}

// EncodeGamma is the hypernetwork's input for γ: [cos(πγ/2)…, sin(πγ/2)…]
// under encoding parametrisations (MIP), γ itself otherwise.
func (h *HyperNet) EncodeGamma(gamma []float64) []float64 {
	if !h.Config.encode() {
		return append([]float64(nil), gamma...)
	}
	return EncodeMIP(gamma)
}

// EncodeMIP is MIP's input encoding of γ ∈ [0, 1]^k: all cosines, then all
// sines, of πγ/2; its norm is √k whatever γ.
func EncodeMIP(gamma []float64) []float64 {
	out := make([]float64, 2*len(gamma))
	for i, g := range gamma {
		out[i] = math.Cos(math.Pi * g / 2)
		out[len(gamma)+i] = math.Sin(math.Pi * g / 2)
	}
	return out
}

// CheckGamma names the first γ component that is not finite or lies
// outside [0, 1], or a wrong count.
func (h *HyperNet) CheckGamma(gamma []float64) error {
	if len(gamma) != h.Config.Inputs {
		return fmt.Errorf("hypernet: %d hyperparameters, want %d", len(gamma), h.Config.Inputs)
	}
	for i, g := range gamma {
		if math.IsNaN(g) || g < 0 || g > 1 {
			return fmt.Errorf("hypernet: γ[%d] = %g, want a value in [0, 1]", i, g)
		}
	}
	return nil
}

// Forward maps encoded inputs x [B, in] (EncodeGamma of each row) to flat
// primary parameters [B, NumOutputs()].
func (h *HyperNet) Forward(x *autograd.Var) *autograd.Var {
	s := h.Config.slope()
	for _, l := range h.Layers[:len(h.Layers)-1] {
		x = l.Forward(x)
		x = autograd.Add(autograd.MulScalar(autograd.Relu(x), 1-s), autograd.MulScalar(x, s)) // LeakyReLU
	}
	return h.Layers[len(h.Layers)-1].Forward(x)
}

// Emit returns the primary network's parameters for one γ, shaped as
// Config.Outputs, on the tape (gradients reach the HyperNet).
func (h *HyperNet) Emit(gamma []float64) ([]*autograd.Var, error) {
	if err := h.CheckGamma(gamma); err != nil {
		return nil, err
	}
	enc := h.EncodeGamma(gamma)
	x := tensor.New(tensor.Float32, 1, len(enc))
	for i, v := range enc {
		x.F32()[i] = float32(v)
	}
	return h.Unflatten(autograd.Reshape(h.Forward(autograd.Const(x)), h.total)), nil
}

// Unflatten cuts a flat θ [NumOutputs()] into the outputs' shapes.
func (h *HyperNet) Unflatten(flat *autograd.Var) []*autograd.Var {
	sizes := make([]int, len(h.Config.Outputs))
	for k, o := range h.Config.Outputs {
		sizes[k] = o.Size()
	}
	parts := autograd.Split(flat, 0, sizes...)
	for k, o := range h.Config.Outputs {
		parts[k] = autograd.Reshape(parts[k], o.Shape...)
	}
	return parts
}

// NumOutputs returns the number of primary parameters emitted.
func (h *HyperNet) NumOutputs() int { return h.total }

// Theta0 returns the independent parameters θ₀ (the output bias), flat.
func (h *HyperNet) Theta0() *autograd.Var { return h.Layers[len(h.Layers)-1].Bias }

// SetTheta0 sets θ₀ to given primary parameters, one tensor per output in
// order (hyperlight's set_independent_weights: a pretrained network's
// weights as the starting point).
func (h *HyperNet) SetTheta0(ts []*tensor.Tensor) error {
	if len(ts) != len(h.Config.Outputs) {
		return fmt.Errorf("hypernet: %d tensors for θ₀, want %d", len(ts), len(h.Config.Outputs))
	}
	for k, o := range h.Config.Outputs {
		if ts[k].Numel() != o.Size() {
			return fmt.Errorf("hypernet: θ₀ for %s has shape %v, want %v", o.Name, ts[k].Shape(), o.Shape)
		}
	}
	t0 := h.Theta0().Value
	for k, t := range ts {
		src := tensor.FromFloat64(t.Float64s(), t.Numel())
		t0.Slice(0, h.offsets[k], h.offsets[k]+src.Numel()).CopyFrom(src.To(t0.DType()))
	}
	return nil
}

// Params returns the layers' weights and biases.
func (h *HyperNet) Params() []*autograd.Var {
	var out []*autograd.Var
	for _, l := range h.Layers {
		out = append(out, l.Params()...)
	}
	return out
}
