package repro

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// A byte-level BERT pre-trained with masked-language modelling on the
// embedded tinyshakespeare: the frozen model the text and point-cloud
// transfer reproductions (petl-spam, any2point) adapt. Tokens are the 256
// bytes and four specials.
const (
	bytePad, byteCLS, byteSEP, byteMask = 256, 257, 258, 259
	byteVocab                           = 260
	mlmSeqLen                           = 128
)

// byteRow encodes text as [CLS] bytes [SEP], at most T tokens.
func byteRow(text string, T int) []int {
	n := min(len(text), T-2)
	row := make([]int, 0, n+2)
	row = append(row, byteCLS)
	for i := range n {
		row = append(row, int(text[i]))
	}
	return append(row, byteSEP)
}

// mlmResult is the pre-trained model and what its training measured.
type mlmResult struct {
	Dir   string
	Steps int
	Loss  float64 // masked-token loss on the held-out 10 %, nats
}

// pretrainMLM pre-trains the byte-level BERT, or finds it beside the
// entry's work directory (../mlm-tinyshakespeare, shared by the entries
// that adapt it; "-quick" for quick runs).
func pretrainMLM(c *Context) (*mlmResult, error) {
	steps := 1500
	dir := filepath.Join(filepath.Dir(c.WorkDir), "mlm-tinyshakespeare")
	if c.Quick {
		steps, dir = 120, dir+"-quick"
	}
	text := data.TinyShakespeare()
	cut := len(text) * 9 / 10
	rows := func(b []byte) [][]int {
		var out [][]int
		for i := 0; i+mlmSeqLen-2 <= len(b); i += mlmSeqLen - 2 {
			out = append(out, byteRow(string(b[i:i+mlmSeqLen-2]), mlmSeqLen))
		}
		return out
	}
	special := func(id int) bool { return id >= bytePad }
	tr := &encoder.MLMExamples{Rows: rows(text[:cut]), Pad: bytePad, Mask: byteMask, Special: special, Vocab: byteVocab, Seed: 1}
	va := &encoder.MLMExamples{Rows: rows(text[cut:]), Pad: bytePad, Mask: byteMask, Special: special, Vocab: byteVocab, Seed: 2}
	m, err := encoder.Load(dir)
	res := &mlmResult{Dir: dir, Steps: steps}
	if err == nil && m.Config.Architecture() == encoder.BertForMaskedLM {
		fmt.Fprintf(c.Progress, "%s: using the MLM-pretrained BERT in %s\n", c.WorkDir, dir)
	} else {
		pad := bytePad
		cfg := &encoder.Config{Architectures: []string{encoder.BertForMaskedLM}, ModelType: encoder.TypeBERT, HiddenSize: 128,
			NumHiddenLayers: 4, NumAttentionHeads: 4, IntermediateSize: 512, HiddenAct: "gelu", HiddenDropoutProb: 0.1,
			AttentionProbsDropoutProb: 0.1, InitializerRange: 0.02, LayerNormEps: 1e-12, VocabSize: byteVocab,
			MaxPositionEmbeddings: mlmSeqLen, TypeVocabSize: 2, PositionEmbeddingType: "absolute", PadTokenID: &pad}
		if m, err = encoder.New(cfg, 1); err != nil {
			return nil, err
		}
		fmt.Fprintf(c.Progress, "pre-training %s with masked-language modelling on tinyshakespeare (%d windows of %d bytes)\n", m, len(tr.Rows), mlmSeqLen)
		h := train.Hyper{Steps: steps, BatchSize: 32, LR: 1e-3, Warmup: steps / 10, MinLRFactor: 0.1, WeightDecay: 0.01,
			Beta1: 0.9, Beta2: 0.98, Eps: 1e-6, Clip: 1}
		loop := &train.Loop[encoder.Batch]{Model: m, Data: train.NewEpochSampler[encoder.Batch](tr, 32, 1), Hyper: h,
			Progress: c.Progress, RNG: tensor.NewRNG(3)}
		if err := loop.Train(); err != nil {
			return nil, err
		}
		os.RemoveAll(dir)
		if err := encoder.Save(m, dir); err != nil {
			return nil, err
		}
	}
	// Held-out masked-token loss, in evaluation mode, over whole batches.
	var sum float64
	n := 0
	for lo := 0; lo+32 <= va.Len(); lo += 32 {
		idx := make([]int, 32)
		for i := range idx {
			idx[i] = lo + i
		}
		sum += lossNoGrad(m, va.Batch(idx))
		n++
	}
	res.Loss = sum / float64(max(1, n))
	return res, nil
}

// lossNoGrad is m's loss on b without a tape.
func lossNoGrad(m *encoder.Model, b encoder.Batch) float64 {
	var v float64
	autograd.NoGrad(func() { v = m.Loss(nil, b).Value.Item() })
	return v
}
