// Package encoder is loom's bidirectional Transformer encoder family, with
// Hugging Face's names and config.json:
//
//   - BERT (transformers' modeling_bert.py): BertModel,
//     BertForSequenceClassification (classification or regression on the
//     pooled first token) and BertForMaskedLM (masked-language-model
//     pre-training, the decoder tied to the word embeddings);
//   - the Audio Spectrogram Transformer (Gong et al., arXiv 2104.01778;
//     modeling_audio_spectrogram_transformer.py): a ViT-style pre-norm
//     encoder over overlapping 16×16 patches of a filterbank, with CLS and
//     distillation tokens and learned positions (ASTModel,
//     ASTForAudioClassification).
//
// Layers hold their attention and feed-forward sublayers in interface
// fields, so parameter-efficient methods (package petl) are injected into a
// loaded model with nn.ReplaceAll; Embeds in a Batch feed tokens made by
// another front end (a point-cloud tokenizer) straight into the layers.
// Checkpoints load strictly (every name and shape checked); LoadWith builds
// a task model on another checkpoint's base model, as from_pretrained does.
//
//	m, _, err := encoder.LoadWith("runs/mlm/model", encoder.LoadOptions{
//		Architecture: encoder.BertForSequenceClassification, Labels: []string{"ham", "spam"}})
//	logits := m.Logits(nil, &encoder.Batch{B: 1, T: 5, IDs: ids}) // [1, 2]
//
// testdata/gen_encoder.py writes the PyTorch reference fixtures the parity
// tests compare with.
package encoder
