// Package pointcloud is the 3-D side of Any2Point (Tang et al., "Any2Point:
// Empowering Any-modality Large Models for Efficient 3D Understanding",
// arXiv 2404.07989; official code github.com/Ivan-Tang-3D/Any2Point):
// point-cloud classification through a frozen transformer pre-trained on
// another modality — here a 1-D (language) model whose learned absolute
// position table [P, D] is the prior the 3-D tokens borrow.
//
// The pieces, one file each:
//
//   - shapes.go: procedurally generated, labelled-as-synthetic point clouds
//     (Generate, Classes) — surface samples of ≥ 10 primitive shapes at a
//     random pose, with anisotropic scale jitter, noise and occlusion;
//   - sample.go: farthest-point sampling (FPS) and k-nearest neighbours
//     (KNN) in plain Go;
//   - tokenizer.go: the point tokenizer — FPS centres, kNN groups and a
//     mini-PointNet (Point-BERT's Encoder) → tokens [B, G, D];
//   - projection.go: the 3D-to-any virtual projection for a 1-D model —
//     each centre is projected onto M = 6 lines and the frozen position
//     table is linearly interpolated there, averaged over the lines → [B,
//     G, D] (VirtualProjection); and the baseline LearnedPositions, the
//     trainable xyz → D MLP of Point-BERT;
//   - geometry.go: per-batch token neighbourhoods the adapters share (3-D
//     voxel groups, 1-D cells along each projected line, the attention
//     masks of the cells);
//   - adapter.go: the Any-to-3D guided adapter, an nn.FFN wrapper
//     (GuidedAdapter, ApplyGuidedAdapters) and the view attentions all
//     blocks share (ViewAttention).
//
// How the official code (its language branch, Any2Point_CLIP_Lang and
// Any2Point_clip_lang_modelnet) assembles them, and what loom changes, is
// said in each file. The model itself (the frozen encoder, CLS token and
// classification head) is the caller's: a typical forward is
//
//	tok := tokenizer.Forward(clouds)                 // tokens [B, G, D]
//	pos, lines := proj.Encode(tok.Centres)           // [B, G, D], [B, M, G]
//	geo.Set(tok.Centres, lines)                      // shared by all adapters
//	x := concat(cls, tokens) + concat(cls_pos, pos)  // [B, 1+G, D]
//	x = encoder blocks (frozen, FFNs wrapped by GuidedAdapter)
//	logits = head(concat(x[:,0], max_g x[:,1:]))
//
// The official classifier reads the CLS token concatenated with the max
// over point tokens; the Point-BERT-style baseline replaces pos by
// LearnedPositions, and the linear probe trains only the head.
package pointcloud
