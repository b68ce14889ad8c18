// Package enumgeom is the enumerative geometry of "Can Transformers Do
// Enumerative Geometry?" (Hashemi, Corominas and Giacchetto, ICLR 2025,
// arXiv 2408.14915; official code Baran-phys/DynamicFormer): ψ-class
// intersection numbers on the moduli space of stable curves M̄_{g,n},
//
//	⟨τ_{d1}…τ_{dn}⟩_g = ∫_{M̄_{g,n}} ψ_1^{d1}…ψ_n^{dn},
//
// non-zero only when Σ d_i = 3g − 3 + n (the dimension of M̄_{g,n}) and
// 2g − 2 + n > 0, and a small Transformer that learns log⟨…⟩ from the d_i
// (a set of tokens) together with g and n.
//
// The numbers are computed exactly (math/big rationals) by the
// Dijkgraaf–Verlinde–Verlinde recursion, the Virasoro constraints of
// Witten's conjecture (Kontsevich's theorem), from ⟨τ₀³⟩₀ = 1 and
// ⟨τ₁⟩₁ = 1/24 (intersection.go). The model (model.go) is the paper's
// DynamicFormer cut to a CPU budget: a Transformer encoder without
// positional encoding over the d_i, (g, n) mixed into every token, the
// activation of every non-linear slot selectable (DRA, ReLU, GELU, Snake),
// mean pooling and a regression head, trained on low genus and tested on
// higher genus (extrapolation), as the paper trains on g ≤ 13 and tests on
// g ≥ 14.
package enumgeom
