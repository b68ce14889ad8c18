// Package tgraph is link prediction on temporal graphs (event streams of
// data/events): Todyformer, its MPNN-only ablation, a TGN-style memory
// baseline and EdgeBank, trained through train.Loop and evaluated as
// DyGLib and TGB do, with AP and AUC under random, historical and
// inductive negatives.
//
//	s, _ := collegemsg.Open()
//	sp, _ := s.ChronoSplit(0.15, 0.15)                      // 70/15/15 by time
//	m, _ := tgraph.New(tgraph.Defaults(tgraph.ArchTodyformer))
//	smp, _ := tgraph.NewSampler(s, sp.Train, 200, seed)      // consecutive events + random negatives
//	loop := &train.Loop[*tgraph.Batch]{Model: tgraph.Trainer{M: m, H: tgraph.TrainHistory(s, sp)}, Data: smp, …}
//	res, _ := tgraph.Evaluate(m, s, sp, sp.Test, tgraph.EvalOptions{Seed: 2})
//	bank, _ := tgraph.Evaluate(tgraph.NewEdgeBank(), s, sp, sp.Test, tgraph.EvalOptions{Seed: 2})
//
// # The paper, and what could be read of it
//
// Todyformer is Biparva, Karimi, Faez and Zhang, "Todyformer: Towards
// Holistic Dynamic Graph Transformers with Structure-Aware Tokenization"
// (arXiv 2402.05944; NeurIPS 2023 Temporal Graph Learning workshop,
// openreview 13jswzpMI8). No code is published: the directory
// graph_atlas/TodyFormer of huawei-noah/noah-research holds only a README
// and the architecture figure. What this package follows, from the
// abstract, the figure and summaries of the method: the input dynamic
// graph (a window of events) is split by a patchifier into M
// non-overlapping patches of equal numbers of edges in time order; each
// patch is encoded by a message-passing network (the local encoder, a
// "structure-aware tokenizer" after DyG2Vec's encoder), giving a token per
// node and patch; the tokens of each node across patches are packed into a
// sequence and a Transformer with temporal positional encoding (the global
// encoder) runs over it; the tokens are unpacked back into the patches and
// the local and global encoders alternate for L blocks; a decoder scores
// links from node embeddings. The method section's equations and the
// hyper-parameter tables were not available, so every number below and
// several details are choices, marked as such with their sources.
//
// The local encoder follows DyG2Vec (Alomrani, Biparva, Zhang and Coates,
// "DyG2Vec: Efficient Representation Learning for Dynamic Graphs", TMLR
// 2023, arXiv 2210.16906; its window framework figure is in the same
// repository): the model sees a window of the last W events before the
// predicted ones, and each layer is a temporal attention over a node's
// edges with keys and values from [h_neighbour ‖ edge encoding], a skip
// connection and an activation.
//
// # What is implemented
//
// For a batch of consecutive events with first timestamp t (the cutoff):
//
//  1. Window (History.Window): the last W events of the history strictly
//     before t — no event of the batch or after it. The history is the
//     training events while training (TrainHistory) and the whole stream
//     in evaluation (FullHistory), as DyGLib's neighbour samplers.
//     There is no neighbour sampling: every event of the window is used,
//     the window taking the place of TGAT's or DyGLib's sampled
//     neighbours (DyG2Vec's design).
//  2. Patches (NewPatches): event j of n goes to patch ⌊j·M/n⌋, so the
//     patches hold W/M consecutive events each (256 by default). A node
//     instance is a node within one patch; each event u → v gives two
//     messages between the instances of u and v, one each way.
//  3. Initial state of instance i: h_i = W_in φ(age_i), age_i = t − the
//     time of the instance's last event in its patch. Choice: CollegeMsg
//     has no node features; with DyGLib's zero features the first layer's
//     query, key and skip maps would multiply zeros.
//  4. Local encoder (LocalLayer): z_e = [φ(t − t_e) ‖ one-hot direction ‖
//     edge features]; q_i = W_q h_i, k_e = W_kh h_from + W_kz z_e, v_e
//     likewise; per head α = softmax over i's messages of q·k/√d_h;
//     h′_i = ReLU(Σ α v + W_s h_i + b). The direction bit is a choice
//     (CollegeMsg is directed, messages run both ways).
//  5. Global encoder (GlobalLayer): each node's instances in patch order
//     form a sequence (right-padded, padding hidden from attention); the
//     tokens get the temporal positional encoding W_pe φ(age_i) (choice:
//     the token's age through the same time encoding, not a patch index);
//     pre-norm Transformer layers (multi-head attention, ReLU FFN);
//     unpacking puts each token back on its instance.
//  6. L blocks of (local layers, global layers).
//  7. A node's embedding is its token in the newest patch it occurs in
//     after the last block (choice); a node outside the window gets the
//     learnt vector Absent.
//  8. Decoder: MLP([h_u ‖ h_v]) = W₂ ReLU(W₁[h_u ‖ h_v] + b₁) + b₂,
//     DyGLib's MergeLayer; the loss is the binary cross-entropy of each
//     positive and one negative u → v′ with v′ drawn uniformly from the
//     training destinations (DyGLib's training).
//
// The time encoding φ(Δt) = cos(Δt·ω + b) is TGAT's (Xu et al., arXiv
// 2002.07962) with DyGLib's initialisation ω_i = 10^(−9i/(d−1)), b = 0,
// fixed as in GraphMixer (Cong et al., arXiv 2302.11636) unless
// Config.LearnTime.
//
// The MPNN-only ablation (ArchMPNN) is the same model without the global
// encoder: the local layers and the decoder. Choice: it reads the whole
// window as one patch (M = 1), since without the Transformer separate
// patches would never exchange information; it is then DyG2Vec's encoder.
//
// The TGN-style baseline (ArchTGN, memory.go; Rossi et al., arXiv
// 2006.10637) keeps a memory per node, updated by a GRU from TGN's
// identity messages with the "last" aggregator, MemoryBatch events at a
// time, the latest batch on the tape as in TGN's training. Its embedding
// is a linear map of [memory ‖ φ(time since the last update)], not TGN's
// graph attention over neighbours (choice, for time): it is a memory
// baseline, weaker than the published TGN. Build and Load make any of the
// three (LinkModel).
//
// Defaults (Defaults; all choices, sized for CollegeMsg on two CPU cores):
// width 64, 2 heads (DyGLib's attention models use 2), time encoding of 32
// frequencies, L = 2 blocks of one local and one global layer, FFN width
// 128, window W = 2,048 events in M = 8 patches of 256, dropout 0.1
// (DyGLib's). DyGLib trains with batches of 200 and Adam at 10⁻⁴; the
// Trainer leaves the optimiser to train.Loop.
//
// All predictions of a batch share its cutoff: an event does not see the
// earlier events of its own batch (as in TGN, whose memory is updated
// after each batch; DyGLib's per-event neighbour sampling would see them).
// TestNoLeakage checks that rewriting every event at or after the cutoff
// changes no embedding and no score.
//
// # Evaluation
//
// Evaluate follows DyGLib (yule-BUAA/DyGLib, evaluate_models_utils.py and
// NegativeEdgeSampler in utils/utils.py), which implements Poursafaei et
// al., "Towards Better Evaluation for Dynamic Link Prediction" (NeurIPS
// 2022, arXiv 2207.10128): batches of 200 consecutive evaluation events,
// one negative per positive, for the transductive setting (every event)
// and the inductive one (events with an endpoint unseen in training,
// Split.Inductive); negatives random (u, v′), historical (u′, v′) — edges
// seen up to the batch but not during it — or inductive (u′, v′) — such
// edges never seen up to the end of the previous period — padded with
// random edges when too few. The negatives come from seeded samplers
// independent of the model, so every model meets the same ones. AP and
// AUC are scikit-learn's average_precision_score and roc_auc_score
// (tested against sklearn 1.2.1), over the whole set and as DyGLib's mean
// over batches. EdgeBank (Poursafaei et al.) with unlimited memory scores
// 1 for a directed pair seen before the cutoff.
//
// # Speed
//
// TestSpeedCollegeMsg (TGRAPH_SPEED=1) measures training steps on
// CollegeMsg with batches of 200 events through train.Loop, from the
// middle of the training period: on the project's 2-core machine, shared
// with other jobs (load average 6 to 7 while measuring, so the numbers
// vary by two), 3.4 to 7 steps/s for Todyformer's defaults (some 1,200
// node instances of 430 nodes per window; 123k parameters), 10 to 25 for
// the MPNN ablation and about 100 for the TGN baseline. An epoch of
// CollegeMsg's 41,884 training events (210 steps) took 37 s for Todyformer
// and 10 s for the MPNN (2 epochs in 74 s and 21 s), 1.6 s for TGN.
package tgraph
