// Package eval measures language models on held-out text: mean next-token
// loss, perplexity and bits per byte, with strided sliding windows so that
// texts longer than the context are scored token by token with as much
// left context as the window allows (Hugging Face's "perplexity of
// fixed-length models" scheme). Later issues extend it with zero-shot tasks.
package eval

import (
	"fmt"
	"math"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/internal/progress"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

// Result is an evaluation of a model on a token stream.
type Result struct {
	Tokens      int     `json:"tokens"`        // tokens scored
	Bytes       int     `json:"bytes"`         // bytes those tokens decode to
	Loss        float64 `json:"loss"`          // mean nats per token
	Perplexity  float64 `json:"perplexity"`    // exp(loss)
	BitsPerByte float64 `json:"bits_per_byte"` // total nats / ln 2 / bytes
	SeqLen      int     `json:"seq_len"`
	Stride      int     `json:"stride"`
}

// Options control an evaluation.
type Options struct {
	SeqLen int // window length (default: the model's context)
	Stride int // distance between window starts (default: SeqLen/2)
	Batch  int // windows per forward pass (default 8)
	// MaxTokens, when positive, scores only the first windows up to about
	// this many tokens (a quick estimate).
	MaxTokens int
	Progress  *progress.Bar
}

// Shard evaluates m on every token of s (after the first).
func Shard(m LM, s *data.Shard, tok tokenizer.Tokenizer, o Options) (Result, error) {
	if s.Vocab() > m.VocabSize() {
		return Result{}, fmt.Errorf("%s: token ids up to %d, but the model's vocabulary has %d", s.Path(), s.Vocab()-1, m.VocabSize())
	}
	r, err := score(m, s, tok, o)
	if err != nil {
		return r, fmt.Errorf("%s: %w", s.Path(), err)
	}
	return r, nil
}

// Tokens evaluates m on every token of ids (after the first): a text
// scored without a shard file.
func Tokens(m LM, ids []int, tok tokenizer.Tokenizer, o Options) (Result, error) {
	for i, id := range ids {
		if id < 0 || id >= m.VocabSize() {
			return Result{}, fmt.Errorf("token %d is id %d, outside the model's vocabulary of %d", i, id, m.VocabSize())
		}
	}
	return score(m, data.IDs(ids), tok, o)
}

// Text evaluates m on text, tokenized by tok.
func Text(m LM, text []byte, tok tokenizer.Tokenizer, o Options) (Result, error) {
	return Tokens(m, tok.Encode(string(text)), tok, o)
}

func score(m LM, s data.Tokens, tok tokenizer.Tokenizer, o Options) (Result, error) {
	if o.SeqLen <= 0 || o.SeqLen > m.MaxPositions() {
		o.SeqLen = m.MaxPositions()
	}
	if o.Stride <= 0 {
		o.Stride = max(1, o.SeqLen/2)
	}
	if o.Batch <= 0 {
		o.Batch = 8
	}
	wins, err := data.Windows(s, o.SeqLen, o.Stride)
	if err != nil {
		return Result{}, err
	}
	res := Result{SeqLen: o.SeqLen, Stride: o.Stride}
	var nats float64
	var batch []data.Window
	flush := func() {
		if len(batch) == 0 {
			return
		}
		nats += scoreBatch(m, batch, tok, &res)
		batch = batch[:0]
		if o.Progress != nil {
			o.Progress.Update(res.Tokens)
		}
	}
	for w := range wins {
		// windows of one length go through the model together
		if len(batch) > 0 && (len(w.X) != len(batch[0].X) || len(batch) == o.Batch) {
			flush()
		}
		if o.MaxTokens > 0 && res.Tokens >= o.MaxTokens {
			break
		}
		batch = append(batch, copyWindow(w))
	}
	flush()
	if res.Tokens == 0 {
		return res, fmt.Errorf("nothing to score")
	}
	res.Loss = nats / float64(res.Tokens)
	res.Perplexity = math.Exp(res.Loss)
	res.BitsPerByte = nats / math.Ln2 / float64(max(1, res.Bytes))
	return res, nil
}

func copyWindow(w data.Window) data.Window {
	w.X = append([]int(nil), w.X...)
	w.Y = append([]int(nil), w.Y...)
	return w
}

// scoreBatch runs windows of equal length and returns the summed negative
// log-likelihood of their scored targets.
func scoreBatch(m LM, ws []data.Window, tok tokenizer.Tokenizer, res *Result) float64 {
	B, T := len(ws), len(ws[0].X)
	ids := make([]int, 0, B*T)
	for _, w := range ws {
		ids = append(ids, w.X...)
	}
	var logp *tensor.Tensor
	autograd.NoGrad(func() {
		logits := m.Forward(nil, ids, B, T)
		logp = tensor.LogSoftmax(logits.Value, -1)
	})
	V := logp.Dim(-1)
	lp := logp.Contiguous().F32()
	var nats float64
	for b, w := range ws {
		for t := w.ScoreFrom; t < T; t++ {
			y := w.Y[t]
			nats -= float64(lp[(b*T+t)*V+y])
			res.Tokens++
			res.Bytes += len(tok.TokenBytes(y))
		}
	}
	return nats
}
