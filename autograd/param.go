package autograd

import "github.com/loomml/loom/tensor"

// Role says what a parameter is for. The builder of a parameter sets it
// (package nn's layers do), and everything that treats parameters
// differently reads it: weight decay and optimizer groups, low-precision
// storage, exporters, parametrisations such as μP. Nothing infers a role
// from a tensor's rank or name.
type Role string

// The roles loom's layers use. A new kind of parameter gets a new role
// here, with its answers in Decays and Packable.
const (
	// RoleOther is a parameter whose builder did not say (Param's
	// default): it decays when it is at least 2-D, as before roles.
	RoleOther Role = ""
	// RoleMatrix is a hidden weight matrix applied by a matrix product
	// (projections, convolution kernels as matrices).
	RoleMatrix Role = "matrix"
	// RoleEmbedding is an input embedding table (tokens, positions).
	RoleEmbedding Role = "embedding"
	// RoleHead is an output (readout) matrix, such as lm_head.
	RoleHead Role = "head"
	// RoleExpert is a weight matrix of one expert of a mixture.
	RoleExpert Role = "expert"
	// RoleRouter is a mixture's router (gate) matrix: it decays, but stays
	// float32 in storage and products (routing decisions are sensitive to
	// rounding).
	RoleRouter Role = "router"
	// RoleFactor is a factor a weight is assembled from (PHM's rule and
	// components, low-rank adapters' matrices): it decays but is not itself
	// a matrix that products read.
	RoleFactor Role = "factor"
	// RoleNorm is a norm's gain.
	RoleNorm Role = "norm"
	// RoleBias is an additive bias.
	RoleBias Role = "bias"
	// RoleScalar is one of a few scalar coefficients (of an activation, a
	// gate, a temperature).
	RoleScalar Role = "scalar"
)

// Decays reports whether weight decay applies to parameters of role r
// (matrices, embeddings, heads, experts and factors; not gains, biases or
// scalars), as nanoGPT and transformers' trainers decide it.
func (r Role) Decays() bool {
	switch r {
	case RoleMatrix, RoleEmbedding, RoleHead, RoleExpert, RoleFactor, RoleRouter:
		return true
	}
	return false
}

// Packable reports whether parameters of role r are matrices that products
// read directly, and so may be held in a low-precision storage dtype
// (bf16, f16, q8_0) for inference and written in one by exporters; the
// others (gains, biases, scalars, factors) stay float32.
func (r Role) Packable() bool {
	switch r {
	case RoleMatrix, RoleEmbedding, RoleHead, RoleExpert:
		return true
	}
	return false
}

// NewParam is Param with a role.
func NewParam(name string, role Role, t *tensor.Tensor) *Var {
	v := Param(name, t)
	v.Role = role
	return v
}

// Decays reports whether weight decay applies to v: by its role, and for
// RoleOther by its rank (at least 2-D).
func (v *Var) Decays() bool {
	if v.Role == RoleOther {
		return v.NDim() >= 2
	}
	return v.Role.Decays()
}

// LRMult returns the learning-rate multiplier (LRScale, 1 when unset).
func (v *Var) LRMult() float64 {
	if v.LRScale == 0 {
		return 1
	}
	return v.LRScale
}

// InitMult returns the initialisation multiplier (InitScale, 1 when unset).
func (v *Var) InitMult() float64 {
	if v.InitScale == 0 {
		return 1
	}
	return v.InitScale
}

// Freeze stops gradients from reaching v (a leaf): Backward leaves its Grad
// nil, so optimizers neither update it nor keep state for it.
func (v *Var) Freeze() { v.SetRequiresGrad(false) }

// Frozen reports whether v is a leaf that takes no gradient.
func (v *Var) Frozen() bool { return v.node == nil && !v.requiresGrad }
