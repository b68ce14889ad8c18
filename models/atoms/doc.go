// Package atoms holds loom's models of molecular energies and forces from
// elements and Cartesian coordinates: the graph-free Transformer of
// Kreiman, Bai, Atieh, Weaver, Qu and Krishnapriyan, "Transformers Discover
// Molecular Structure Without Graph Priors" (arXiv 2510.02259, 2025), and
// a SchNet-style cutoff graph network (Schütt et al., arXiv 1706.08566) as
// the graph-prior baseline, both trained against energy and force labels
// through train.Loop.
//
//	tr, va, _, _ := molecules.MMFFSplit()
//	train, _ := atoms.FromFrames(tr)
//	val, _ := atoms.FromFrames(va)
//	m, metrics, err := atoms.Fit(atoms.DefaultRun(atoms.ArchTransformer), train, val, atoms.FitOptions{OutDir: "runs/atoms"})
//	r, _ := atoms.Evaluate(m, val, 64) // r.EnergyMAE kcal/mol, r.ForceMAE kcal/mol/Å
//
// # The paper's model
//
// What the paper does, from its abstract and project page
// (tkreiman.github.io/projects/graph-free-transformers) and its code,
// github.com/ASK-Berkeley/graph-free-transformer at 89dcd9e
// (mmlm/models/continuous_model.py, pos_readout_model.py,
// gradient_model.py, mmlm/configs/omol_ft/*.yaml,
// mmlm/datasets_v2/core/formatter.py, transforms.py and
// loaders/omol_loader.py); the paper's body itself was not available to
// us:
//
//   - An unmodified Transformer (Hugging Face's Llama or Qwen3 layers:
//     pre-norm RMSNorm, SwiGLU) over one token per atom, where every token
//     up to [POS_END], that is every atom, attends to every other
//     (prefix_causal_mask). The 306M and 1B fine-tuning configs turn
//     positional encodings off (no_pos_embed sets every position id to 0,
//     so the rotary embedding is the identity and the model is equivariant
//     to permuting atoms); the 5M, 28M and 90M ones leave Llama's rotary
//     positions over the atom order on. No graph, no distances, no cutoff.
//   - Coordinates enter through a linear map of the atom's 3-D Cartesian
//     position, nn.Linear(3, d, bias=False) (an MLP, mlp_embed, exists but
//     is off), positions centred on the molecule's mean; the token is the
//     sum (28M model) or the concatenation (1B, concat_embeddings) of that,
//     an atomic-number embedding and the embedding of a discrete token (in
//     pre-training the position binned into 10×10×10 quantile bins, in
//     fine-tuning a placeholder <NUM>). Pre-training predicts discretised
//     positions, forces and energies autoregressively; fine-tuning
//     regresses energies and forces.
//   - Readout: a final RMSNorm, an energy MLP on every atom's token summed
//     over the atoms, and forces from a second MLP head on every atom's
//     token: direct, non-conservative forces (PositionReadoutModel,
//     model_type llama_pos_readout in every fine-tuning config). The
//     repository's GradientModel, which would take −∂E/∂x by autograd,
//     raises NotImplementedError in get_e_f_pred: the published numbers
//     use the direct force head.
//   - Normalisation: OMol25's elemental reference energies subtracted,
//     energies and forces standardised by training-set statistics; L1 loss
//     on the standardised energy per atom plus the mean over atoms of the
//     norm of the force error (l2mae), weighted 1:1.
//   - Augmentation: a random rotation of every molecule (positions and
//     force labels) each time it is drawn; no permutation augmentation.
//   - On OMol25 a 1B-parameter model reaches 117.99 meV energy MAE and
//     18.35 meV/Å force MAE against eSEN-sm-d (6M parameters, equivariant
//     GNN) at 129.77 and 13.01 at about the same training FLOPs, and its
//     attention weights fall off roughly inversely with interatomic
//     distance.
//
// # The models here
//
// Transformer (transformer.go) follows that recipe at small scale, as
// issue 26 asks: element embedding plus an MLP embedding of the centred
// coordinates (CoordLinear gives the reference's linear map, CoordScale
// multiplies the coordinates first), no positional encoding, pre-norm
// blocks of models/encoder (LayerNorm, bidirectional attention with the
// padding masked, GELU FFN), a final LayerNorm and a per-atom energy head
// summed over atoms. Forces are −∂E/∂x through autograd by default, so the
// model is conservative and trained through the second-order tape; the
// paper's direct force head is the ablation (DirectForces), or a training
// aid whose forces are only an auxiliary loss (AuxForceWeight). There is
// no pre-training. SchNet (schnet.go) is schnetpack's layout: Gaussian
// expansion of distances, cosine cutoff, continuous-filter convolutions
// over each molecule's pairs within the cutoff, shifted softplus,
// residual interaction blocks, atom-wise energies summed.
//
// Both models learn energies standardised by a Reference (reference.go):
// per-element reference energies fitted by least squares on the training
// set and the root mean square of what they leave, so the networks see
// ε = (E − Σ ref)/scale and forces F/scale. The objective (Model.Loss) is
// EnergyWeight·MSE(ε) + ForceWeight·MSE(F/scale). Rotation augmentation
// (rotate.go: a uniform random rotation per molecule and step, force
// labels turned with it) is the Transformer's; SchNet is invariant.
//
// # Training at small scale
//
// Runs of the default sizes (Transformer 209,409 parameters with
// rotations, SchNet 57,537) on the MMFF94 set (data/molecules: 240
// training molecules of 10 geometries; batches of 16, AdamW at 1e-3, one
// seed, validation on the 30 validation molecules, a shared 2-core
// machine) showed the Transformer's difficulty without priors. Its
// attention starts uniform (mean attention relative to uniform ≈ 1 at
// every distance), and its forces sit at the null prediction (force MAE
// 55.9 kcal/mol/Å, that of predicting zero) until attention learns
// locality: with −∂E/∂x alone it had not left that plateau after 3,000
// steps; with the paper's direct force head it left it after about 1,250
// (4,000 steps: energy MAE 51.0 kcal/mol, force MAE 41.3 kcal/mol/Å, and
// attention 5–7 times uniform below 1 Å, about 3 times at 1–2 Å, under a
// quarter beyond 3 Å in every block); with −∂E/∂x plus an auxiliary direct
// head of weight 10 (AuxForceWeight, DefaultRun's choice) after about
// 1,500 (3,000 steps: 66.2 and 44.3, forces still −∂E/∂x). SchNet, whose
// filters see distances, reached 30.3 and 16.8 in 1,000 steps. CoordScale
// 1, 3 or 10 made no difference to the plateau; a learning rate of 3e-3
// kept the direct-force model on it for 2,000 steps.
//
// Attention (attention.go) reads each block's attention probabilities
// back, with the interatomic distances (AttentionPairs, BinAttention), for
// the claim that learned attention decays with distance. Evaluate returns
// energy and force MAEs in kcal/mol and kcal/mol/Å; Model.Cost the
// parameter count and a forward-FLOPs estimate per molecule.
package atoms
