// Package universality reproduces "The Universality Lens: Why Even Highly
// Over-Parametrized Models Learn Well" (Feder, Urbanke and Fogel, arXiv
// 2506.07661) on hypothesis classes small enough to enumerate exactly.
//
// The learner is the Bayesian mixture with log-loss over a class Θ with
// prior w (here uniform over Θ): on a sequence (x_t, y_t) it predicts
//
//	q(y | x, past) = Σ_θ π(θ | past) p_θ(y | x),   π(θ | past) ∝ w(θ) Π_s p_θ(y_s | x_s),
//
// and its regret against a hypothesis θ* is R_n = Σ_t ln p_θ*(y_t|x_t) −
// ln q(y_t|x_t). The paper's point is that R_n is governed not by |Θ| but
// by the weight of θ*, the prior mass of the hypotheses close to it in
// KL:
//
//	W_ε(θ*) = w({θ : D(θ* ‖ θ) ≤ ε}),   D(θ* ‖ θ) = E_x KL(p_θ*(·|x) ‖ p_θ(·|x)).
//
// The statements implemented and tested:
//
//   - Pointwise (every sequence, ε = 0): since Π_t q = Σ_θ w(θ) Π_t p_θ ≥
//     W_0(θ*) Π_t p_θ*, R_n ≤ −ln W_0(θ*), where W_0 is the mass of every θ
//     computing the same predictor as θ*; exactly, R_n = −ln W_0(θ*) +
//     ln π_n(f*) with π_n(f*) the posterior of θ*'s function.
//   - In expectation over sequences from θ* (Jensen on the ε-ball):
//     E R_n ≤ −ln W_ε(θ*) + nε for every ε ≥ 0, so also its minimum over ε,
//     which Ball.Bound computes exactly.
//   - With a uniform prior the class-size bound is ln |Θ|; the weight bound
//     does not grow with |Θ| for a target of fixed weight, and "simple"
//     targets (large weight, many θ computing the same or a KL-close
//     function) are learnt from fewer samples than "complex" ones.
//   - Langevin dynamics θ ← θ + (η/2)∇ ln π(θ | data) + N(0, ηI) samples
//     the posterior (Welling and Teh 2011), so an ensemble of chains
//     approximates the mixture's predictive.
//
// The class: networks f_θ(x) = Σ_j v_j relu(W_j·x) on x ∈ {−1, +1}^k with
// ternary weights θ ∈ {−1, 0, 1}^(h(k+1)) and Bernoulli output p_θ(y = 1 |
// x) = σ(β f_θ(x)). Enumerate deduplicates the 3^(h(k+1)) hypotheses into
// the distinct input-output tables with their exact multiplicities (the
// Hidden-fold convolution of one unit's tables; checked against brute
// force), so the mixture runs over functions, W_ε is exact and weights are
// counts over 3^|θ|. Langevin runs the same architecture with continuous
// weights and a Gaussian prior of the ternary prior's variance (2/3);
// Sampled is the Bayes mixture of that continuous class by importance
// sampling from its prior, the law the chains target.
package universality
