package tensor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// RNG is loom's seeded random number generator: xoshiro256** seeded through
// splitmix64, with Box–Muller normals. Its output for a seed is fixed by this
// file (not by the Go release), and its whole state can be saved and restored,
// so training runs resume exactly. An RNG is not safe for concurrent use.
type RNG struct {
	s        [4]uint64
	spare    float64 // second Box–Muller normal, valid when hasSpare
	hasSpare bool
}

// NewRNG returns a generator seeded with seed.
func NewRNG(seed uint64) *RNG {
	r := &RNG{}
	r.Seed(seed)
	return r
}

// Seed resets the generator to the state for seed.
func (r *RNG) Seed(seed uint64) {
	x := seed
	for i := range r.s {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		r.s[i] = z ^ z>>31
	}
	r.hasSpare = false
	r.spare = 0
}

// Uint64 returns 64 uniformly random bits.
func (r *RNG) Uint64() uint64 {
	s := &r.s
	out := bits.RotateLeft64(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = bits.RotateLeft64(s[3], 45)
	return out
}

// Float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *RNG) Float64() float64 { return float64(r.Uint64()>>11) * (1.0 / (1 << 53)) }

// Float32 returns a uniform value in [0, 1) with 24 random bits.
func (r *RNG) Float32() float32 { return float32(r.Uint64()>>40) * (1.0 / (1 << 24)) }

// Intn returns a uniform integer in [0, n) without modulo bias; n must be > 0.
func (r *RNG) Intn(n int) int {
	if n <= 0 {
		panic("tensor: RNG.Intn with n <= 0")
	}
	bound := uint64(n)
	hi, lo := bits.Mul64(r.Uint64(), bound)
	if lo < bound {
		thresh := -bound % bound
		for lo < thresh {
			hi, lo = bits.Mul64(r.Uint64(), bound)
		}
	}
	return int(hi)
}

// Normal returns a standard normal value (Box–Muller; the second value of
// each pair is kept for the next call).
func (r *RNG) Normal() float64 {
	if r.hasSpare {
		r.hasSpare = false
		return r.spare
	}
	u1 := r.Float64()
	for u1 == 0 {
		u1 = r.Float64()
	}
	u2 := r.Float64()
	rad := math.Sqrt(-2 * math.Log(u1))
	s, c := math.Sincos(2 * math.Pi * u2)
	r.spare = rad * s
	r.hasSpare = true
	return rad * c
}

// Perm returns a random permutation of [0, n).
func (r *RNG) Perm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	r.Shuffle(n, func(i, j int) { p[i], p[j] = p[j], p[i] })
	return p
}

// Shuffle performs a Fisher–Yates shuffle of n elements through swap.
func (r *RNG) Shuffle(n int, swap func(i, j int)) {
	for i := n - 1; i > 0; i-- {
		swap(i, r.Intn(i+1))
	}
}

// MarshalBinary saves the complete generator state.
func (r *RNG) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 42)
	b = append(b, 'x', '1')
	for _, v := range r.s {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(r.spare))
	if r.hasSpare {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return b, nil
}

// UnmarshalBinary restores a state saved by MarshalBinary.
func (r *RNG) UnmarshalBinary(b []byte) error {
	if len(b) != 43 || b[0] != 'x' || b[1] != '1' {
		return errors.New("tensor: RNG state: want 43 bytes starting with \"x1\" (from RNG.MarshalBinary), got " + fmt.Sprint(len(b)))
	}
	for i := range r.s {
		r.s[i] = binary.LittleEndian.Uint64(b[2+8*i:])
	}
	r.spare = math.Float64frombits(binary.LittleEndian.Uint64(b[34:]))
	r.hasSpare = b[42] == 1
	return nil
}

// Initialisers. All return float32 tensors; the parameter shapes follow
// PyTorch ([out, in, kernel...] for weights).

// RandN returns a tensor of standard normal values.
func RandN(r *RNG, shape ...int) *Tensor { return Normal(r, 0, 1, shape...) }

// Normal returns a tensor of normal values with the given mean and std.
func Normal(r *RNG, mean, std float64, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.f32 {
		t.f32[i] = float32(mean + std*r.Normal())
	}
	return t
}

// Uniform returns a tensor of values uniform in [lo, hi).
func Uniform(r *RNG, lo, hi float64, shape ...int) *Tensor {
	t := Zeros(shape...)
	for i := range t.f32 {
		t.f32[i] = float32(lo + (hi-lo)*r.Float64())
	}
	return t
}

// FanMode selects which fan Kaiming initialisation preserves.
type FanMode int

const (
	// FanIn preserves the variance of activations in the forward pass.
	FanIn FanMode = iota
	// FanOut preserves the variance of gradients in the backward pass.
	FanOut
)

// Fans returns PyTorch's fan_in and fan_out for a weight of the given shape:
// [out, in, receptive...] gives fan_in = in·∏receptive and fan_out =
// out·∏receptive. It panics for fewer than two dimensions, as PyTorch does.
func Fans(shape []int) (fanIn, fanOut int) {
	if len(shape) < 2 {
		panic(fmt.Sprintf("tensor: fan in and fan out need at least 2 dimensions, have shape %v", shape))
	}
	rf := 1
	for _, d := range shape[2:] {
		rf *= d
	}
	return shape[1] * rf, shape[0] * rf
}

// Gain returns PyTorch's recommended gain (torch.nn.init.calculate_gain) for a
// nonlinearity: "linear", "sigmoid", "conv*" give 1, "tanh" 5/3, "relu" √2,
// "leaky_relu" √(2/(1+param²)), "selu" 3/4.
func Gain(nonlinearity string, param float64) float64 {
	switch nonlinearity {
	case "linear", "sigmoid", "identity", "conv1d", "conv2d", "conv3d":
		return 1
	case "tanh":
		return 5.0 / 3
	case "relu":
		return math.Sqrt2
	case "leaky_relu":
		return math.Sqrt(2 / (1 + param*param))
	case "selu":
		return 0.75
	}
	panic("tensor: unknown nonlinearity " + nonlinearity)
}

func fan(shape []int, mode FanMode) int {
	fi, fo := Fans(shape)
	if mode == FanOut {
		return fo
	}
	return fi
}

// KaimingUniform is He initialisation: uniform in ±gain·√(3/fan).
// torch.nn.Linear's default weight init is KaimingUniform with
// Gain("leaky_relu", √5), i.e. bound 1/√fan_in.
func KaimingUniform(r *RNG, gain float64, mode FanMode, shape ...int) *Tensor {
	b := gain * math.Sqrt(3/float64(fan(shape, mode)))
	return Uniform(r, -b, b, shape...)
}

// KaimingNormal is He initialisation: normal with std gain/√fan.
func KaimingNormal(r *RNG, gain float64, mode FanMode, shape ...int) *Tensor {
	return Normal(r, 0, gain/math.Sqrt(float64(fan(shape, mode))), shape...)
}

// XavierUniform is Glorot initialisation: uniform in ±gain·√(6/(fan_in+fan_out)).
func XavierUniform(r *RNG, gain float64, shape ...int) *Tensor {
	fi, fo := Fans(shape)
	b := gain * math.Sqrt(6/float64(fi+fo))
	return Uniform(r, -b, b, shape...)
}

// XavierNormal is Glorot initialisation: normal with std gain·√(2/(fan_in+fan_out)).
func XavierNormal(r *RNG, gain float64, shape ...int) *Tensor {
	fi, fo := Fans(shape)
	return Normal(r, 0, gain*math.Sqrt(2/float64(fi+fo)), shape...)
}
