// Package data holds loom's training data: the embedded default corpus,
// token shards on disk, and the samplers that turn shards into batches.
//
// # Corpus
//
// [TinyShakespeare] returns the embedded default corpus, 1.1 MB of
// Shakespeare (see corpus/README.md for its origin and licence).
//
// # Token shards
//
// A token shard is a file holding one stream of token ids: a small header
// followed by the ids, 1, 2 or 4 bytes each depending on the vocabulary
// size ([WidthFor]). The header records the format version, the
// id width, the number of ids, the vocabulary size and the name of the
// tokenizer that made them (for tokenizer.New). All integers are
// little-endian:
//
//	offset  size  field
//	0       8     magic "LOOMTOK1"
//	8       4     version, uint32 = 1
//	12      4     width W: bytes per id, uint32 = WidthFor(vocab): 1, 2 or 4
//	16      8     count N: number of ids, uint64
//	24      8     vocab: vocabulary size, uint64 ≥ 1; every id is < vocab
//	32      4     name length L, uint32 ≤ MaxTokenizerName
//	36      L     tokenizer name, UTF-8
//	36+L    pad   zero bytes up to H, the next multiple of 8
//	H       W·N   the ids, unsigned
//
// and the file ends right after the last id. [WriteShard] writes one
// atomically; [OpenShard] memory-maps one read-only (on Unix; elsewhere it
// reads the file) and validates it completely, so a truncated or foreign
// file is an error that names the file, not garbage tokens.
//
// [Prepare] tokenizes a text into a training and a validation shard (a
// contiguous split: validation is the end of the stream, as in nanoGPT) and
// records what it did in a meta.json sidecar, so that running it again on
// the same text and tokenizer reuses the shards.
//
// # Batches
//
// A [Sampler] draws training batches of windows at random offsets, from its
// own seeded tensor.RNG, and saves and restores its position
// ([Sampler.State], [Sampler.SetState]) so that a resumed run sees exactly
// the batches an uninterrupted one would. [Windows] walks a shard in
// strided sliding windows for evaluation, scoring every token once.
//
// # Example
//
//	tok := tokenizer.Byte{}
//	trainPath, valPath, err := data.Prepare(data.TinyShakespeare(), tok, 0.1, "runs/shakespeare/data")
//	if err != nil {
//		return err
//	}
//	train, err := data.OpenShard(trainPath)
//	if err != nil {
//		return err
//	}
//	defer train.Close()
//	sampler, err := data.NewSampler(train, 64, 256, 1337)
//	if err != nil {
//		return err
//	}
//	x, y := sampler.Next() // 64·256 inputs and their next-token targets
//
//	val, err := data.OpenShard(valPath)
//	if err != nil {
//		return err
//	}
//	defer val.Close()
//	windows, err := data.Windows(val, 256, 128)
//	if err != nil {
//		return err
//	}
//	for w := range windows {
//		// score the targets w.Y[w.ScoreFrom:] given the inputs w.X
//	}
package data
