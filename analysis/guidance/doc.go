// Package guidance is "Training the Untrainable: Introducing Inductive Bias
// via Representational Alignment" (Subramaniam, Mayo, Conwell, Poggio,
// Katz, Cheung and Barbu, arXiv 2410.20035; code
// vsubramaniam851/untrainable-networks, rep_sim/): a target network that
// trains badly on its own is trained on its task loss plus a layer-by-layer
// representational distance to a frozen guide network, trained or not:
//
//	L = CE + α Σ_l (1 − CKA(target_{m(l)}, guide_l)),   α = 1,
//	m(l) = round(l·(n_t − 1)/(n_g − 1)),
//
// where l runs over the guide's n_g layers and m maps each to one of the
// target's n_t layers (rep_sim/layer_sim.py, layer_supervision; Python's
// round, halves to even). CKA is linear centred kernel alignment
// (Kornblith et al. 2019) computed on each minibatch with each example's
// activations flattened, as rep_sim's CKA.linear_CKA does (the plain,
// biased HSIC). The package also has the unbiased HSIC estimator (Song et
// al. 2012) and the minibatch CKA built on it (Nguyen, Raghu and Kornblith,
// arXiv 2010.15327), for measurement and as an alternative loss
// (EstimatorUnbiased).
//
// What is here: the CKA estimators on float64 matrices and as autograd
// expressions (cka.go), the layer map and the loss (loss.go), the models
// of the paper's two families at small scale — a deep plain ReLU MLP, a
// residual MLP, a vanilla tanh RNN and a small Transformer (models.go) —,
// the copy-paste task of the sequence experiments (copy.go) and a training
// loop that records per-epoch losses and accuracy with the guide frozen
// (train.go). `loom repro guidance` runs the experiments.
package guidance
