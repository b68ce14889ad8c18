package w8a8

import (
	"fmt"
	"math"
	"slices"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Activation quantisation of Decoder.
const (
	// PerToken quantises each token's input row of a layer with one scale
	// (the scheme of MatMul). A decoder runs it as the values the int32
	// product sees: the weight dequantised and each input row rounded to
	// its int8 grid, multiplied in float32 (equal to MatMul up to the
	// float32 accumulation, see the tests).
	PerToken = "token"
	// Block32 keeps the weight as q8_0 blocks with the per-channel scale
	// and lets loom's q8_0 kernels quantise activations per block of 32
	// values and sum int8 products in int32 (VNNI where the CPU has it).
	Block32 = "block32"
)

// Options configure Decoder.
type Options struct {
	Activations string  // PerToken or Block32 ("": PerToken)
	SmoothQuant bool    // migrate activation outliers into the weights first
	Alpha       float64 // SmoothQuant's migration strength (0: 0.5, the paper's default)
	// Calib are the batches whose activations calibrate SmoothQuant's
	// maxima (required with SmoothQuant): Calib for Decoder, EncoderCalib
	// for Encoder.
	Calib        []data.Batch
	EncoderCalib []encoder.Batch

	noRound bool // tests: smooth only, no rounding
}

// Report describes what Decoder did.
type Report struct {
	Linears     int   // linear layers quantised
	Params      int64 // their weights
	Int8Bytes   int64 // their int8 values and scales (q8_0 stores 34 bytes per 32)
	Float32Byte int64 // the same weights in float32
	// MaxSmooth and MinSmooth are the extreme SmoothQuant factors (1 when
	// not smoothing).
	MaxSmooth, MinSmooth float64
}

// Decoder quantises in place every linear layer inside m's blocks (the
// embedding and the output head stay float, as in SmoothQuant) to int8
// weights per output channel, with activations quantised as o says at run
// time (forward passes without gradients: evaluation and generation).
// With SmoothQuant, the per-channel maxima of each layer's inputs are
// measured on o.Calib first, the weight is multiplied by diag(s) before
// quantisation and the layer's input divided by s at run time (the exact
// scaling identity; SmoothQuant folds the division into the preceding
// normalisation, which is the same function). m must be a float32 model.
func Decoder(m *decoder.Model, o Options) (*Report, error) {
	return quantize(Linears(m), o, func(ls []*nn.Linear) ([][]float32, error) { return Calibrate(m, ls, o.Calib) }, len(o.Calib))
}

// quantize quantises the linear layers ls in place as o says (Decoder's
// and Encoder's work): measure returns the per-channel maxima of their
// inputs on the nCalib calibration batches when o asks for SmoothQuant.
func quantize(ls []*nn.Linear, o Options, measure func([]*nn.Linear) ([][]float32, error), nCalib int) (*Report, error) {
	if o.Activations == "" {
		o.Activations = PerToken
	}
	if o.Activations != PerToken && o.Activations != Block32 {
		return nil, fmt.Errorf("w8a8: activations %q, want %s or %s", o.Activations, PerToken, Block32)
	}
	if o.Alpha == 0 {
		o.Alpha = 0.5
	}
	if !(o.Alpha > 0 && o.Alpha <= 1) {
		return nil, fmt.Errorf("w8a8: SmoothQuant α = %v, want 0 < α ≤ 1", o.Alpha)
	}
	if o.SmoothQuant && nCalib == 0 {
		return nil, fmt.Errorf("w8a8: SmoothQuant needs calibration batches")
	}
	for _, l := range ls {
		if l.Weight.Value.DType() != tensor.Float32 || len(l.Weight.Value.Shape()) != 2 {
			return nil, fmt.Errorf("w8a8: %s is %v, want a float32 matrix (quantise a float model)", l.Weight.Name, l.Weight.Value.DType())
		}
		if o.Activations == Block32 && l.InFeatures()%32 != 0 {
			return nil, fmt.Errorf("w8a8: %s has %d inputs; block32 activations need a multiple of 32", l.Weight.Name, l.InFeatures())
		}
	}
	var act [][]float32
	if o.SmoothQuant {
		var err error
		if act, err = measure(ls); err != nil {
			return nil, err
		}
	}
	r := &Report{MaxSmooth: 1, MinSmooth: 1}
	for i, l := range ls {
		out, in := l.OutFeatures(), l.InFeatures()
		w := slices.Clone(l.Weight.Value.Contiguous().F32())
		var s []float32
		if o.SmoothQuant {
			var err error
			if s, err = Smoothing(act[i], ColumnMax(w, out, in), o.Alpha); err != nil {
				return nil, err
			}
			for j := range out {
				for p := range in {
					w[j*in+p] *= s[p]
				}
			}
			for _, v := range s {
				r.MaxSmooth, r.MinSmooth = math.Max(r.MaxSmooth, float64(v)), math.Min(r.MinSmooth, float64(v))
			}
		}
		inv := make([]float32, len(s))
		for p, v := range s {
			inv[p] = 1 / v
		}
		if o.noRound {
			l.Weight.Value = tensor.FromFloat32(w, out, in)
			if s != nil {
				l.RoundInputs(func(x []float32) { scaleRows(x, inv) })
			}
			l.Unpack()
			continue
		}
		q, err := QuantizeWeight(w, out, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", l.Weight.Name, err)
		}
		if o.Activations == Block32 {
			t, err := q.Q8_0()
			if err != nil {
				return nil, err
			}
			l.Weight.Value = t
			r.Int8Bytes += int64(out * in / 32 * 34)
			if s != nil {
				l.RoundInputs(func(x []float32) { scaleRows(x, inv) })
			} else {
				l.RoundInputs(nil)
			}
		} else {
			l.Weight.Value = tensor.FromFloat32(q.Dequant(), out, in)
			r.Int8Bytes += int64(out*in + 4*out)
			l.RoundInputs(func(x []float32) {
				if s != nil {
					scaleRows(x, inv)
				}
				RoundTokens(x, in)
			})
		}
		l.Unpack()
		r.Linears++
		r.Params += int64(out * in)
		r.Float32Byte += int64(4 * out * in)
	}
	return r, nil
}

// Linears returns the linear layers inside m's blocks (not the head), in
// order.
func Linears(m *decoder.Model) []*nn.Linear { return m.BlockLinears() }

// scaleRows multiplies each row of x (len(f) values each) by f element-wise.
func scaleRows(x, f []float32) {
	for i := range x {
		x[i] *= f[i%len(f)]
	}
}

// RoundTokens replaces each row of k values of x by its per-token int8
// values s·q (QuantizeTokens).
func RoundTokens(x []float32, k int) {
	m := len(x) / k
	q, s := QuantizeTokens(x[:m*k], m, k)
	for i := range m {
		for p := range k {
			x[i*k+p] = s[i] * float32(q[i*k+p])
		}
	}
}

// Calibrate returns, for each of the linear layers ls of m, the largest
// |x_p| of each input channel p over the batches (m run without
// gradients). It leaves the layers' input rounding unset.
func Calibrate(m *decoder.Model, ls []*nn.Linear, batches []data.Batch) ([][]float32, error) {
	return calibrate(ls, func() error {
		for _, b := range batches {
			if len(b.IDs) != b.B*b.T || b.B <= 0 || b.T <= 0 {
				return fmt.Errorf("w8a8: calibration batch of %d ids for B %d, T %d", len(b.IDs), b.B, b.T)
			}
			autograd.NoGrad(func() { m.Forward(nil, b.IDs, b.B, b.T) })
		}
		return nil
	})
}

// calibrate returns the largest |x_p| of each input channel p of each of
// the layers ls over the forward passes run makes.
func calibrate(ls []*nn.Linear, run func() error) ([][]float32, error) {
	act := make([][]float32, len(ls))
	for i, l := range ls {
		k := l.InFeatures()
		a := make([]float32, k)
		act[i] = a
		l.RoundInputs(func(x []float32) {
			for j, v := range x {
				a[j%k] = max(a[j%k], float32(math.Abs(float64(v))))
			}
		})
	}
	defer func() {
		for _, l := range ls {
			l.RoundInputs(nil)
		}
	}()
	if err := run(); err != nil {
		return nil, err
	}
	return act, nil
}
