// Package generate samples text from a language model with a KV cache:
// greedy decoding, temperature, top-k, top-p (nucleus) and a repetition
// penalty, applied in Hugging Face's order, with stop strings and tokens
// streamed as they are produced.
package generate

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Model is what generation needs from a language model.
type Model interface {
	// Forward returns logits [B, T, V] for ids [B·T] starting at ctx.Pos,
	// appending to ctx.Cache.
	Forward(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var
	// NewCache returns an empty cache for batch rows of capacity positions.
	NewCache(batch, capacity int) nn.Cache
	// MaxPositions is the longest context the model supports.
	MaxPositions() int
	// VocabSize is the number of token ids.
	VocabSize() int
}

// Options control sampling. The zero value is greedy decoding of 256 tokens.
type Options struct {
	MaxNewTokens      int      // tokens to generate (default 256)
	Temperature       float64  // 0: greedy (argmax); otherwise logits / T
	TopK              int      // keep the k most likely tokens (0: all)
	TopP              float64  // keep the smallest set with probability ≥ p (0 or 1: all)
	RepetitionPenalty float64  // > 1 discourages tokens already in the context (1 or 0: off)
	Seed              uint64   // sampling seed
	Stop              []string // stop before any of these strings
	StopTokens        []int    // stop after emitting one of these ids (e.g. EOS), not included in the text
	// NoSlide stops generation when the sequence fills the model's context.
	// By default the context slides instead: the cache is rebuilt from the
	// most recent three quarters of the context and generation goes on.
	NoSlide bool
}

// Validate reports the first option out of its range, naming it and the
// range (zero values are valid: they select the defaults documented above).
func (o Options) Validate() error {
	switch {
	case o.MaxNewTokens < 0:
		return fmt.Errorf("generate: MaxNewTokens %d: want ≥ 1 (0: 256)", o.MaxNewTokens)
	case !(o.Temperature >= 0) || math.IsInf(o.Temperature, 1):
		return fmt.Errorf("generate: Temperature %v: want a finite value ≥ 0 (0: greedy)", o.Temperature)
	case o.TopK < 0:
		return fmt.Errorf("generate: TopK %d: want ≥ 0 (0: all tokens)", o.TopK)
	case !(o.TopP >= 0 && o.TopP <= 1):
		return fmt.Errorf("generate: TopP %v: want 0 < p ≤ 1 (0 or 1: all tokens)", o.TopP)
	case !(o.RepetitionPenalty >= 0) || math.IsInf(o.RepetitionPenalty, 1):
		return fmt.Errorf("generate: RepetitionPenalty %v: want a finite value > 0 (1 or 0: off)", o.RepetitionPenalty)
	}
	return nil
}

// Tokenizer turns text into ids and ids back into bytes.
type Tokenizer interface {
	Encode(text string) []int
	TokenBytes(id int) []byte
}

// Result is a finished generation.
type Result struct {
	Text      string // generated text (without the prompt and stop string)
	Tokens    []int  // generated ids
	StoppedBy string // "length", "stop", "stop_token" or "context"
}

// Generate continues prompt. onText, when not nil, receives the text as it
// becomes final: complete UTF-8, and never a piece that could still turn
// into a stop string.
func Generate(m Model, tok Tokenizer, prompt string, o Options, onText func(string)) (Result, error) {
	if o.MaxNewTokens == 0 {
		o.MaxNewTokens = 256
	}
	if err := o.Validate(); err != nil {
		return Result{}, err
	}
	ids := tok.Encode(prompt)
	if len(ids) == 0 {
		return Result{}, errors.New("generate: the prompt is empty; give at least one token of context")
	}
	capacity := m.MaxPositions()
	if o.NoSlide {
		capacity = min(capacity, len(ids)+o.MaxNewTokens)
	}
	if len(ids) >= m.MaxPositions() {
		return Result{}, fmt.Errorf("generate: the prompt has %d tokens, but the model's context is %d", len(ids), m.MaxPositions())
	}
	caches := m.NewCache(1, capacity)
	rng := tensor.NewRNG(o.Seed)
	seen := map[int]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	out := NewText(o.Stop, onText)
	res := Result{StoppedBy: "length"}
	var logits []float32
	autograd.NoGrad(func() {
		logits = lastRow(ForwardLast(m, &nn.Ctx{Cache: caches}, ids, 1, len(ids)))
	})
	pos := len(ids)
	for len(res.Tokens) < o.MaxNewTokens {
		next := pick(logits, seen, o, rng)
		if contains(o.StopTokens, next) {
			res.StoppedBy = "stop_token"
			break
		}
		res.Tokens = append(res.Tokens, next)
		seen[next] = true
		if out.Add(tok.TokenBytes(next)) {
			res.StoppedBy = "stop"
			break
		}
		pos++ // next now occupies position pos−1
		if len(res.Tokens) == o.MaxNewTokens {
			break
		}
		if pos >= m.MaxPositions() {
			if o.NoSlide {
				res.StoppedBy = "context"
				break
			}
			// Slide: re-encode the most recent tokens from position 0.
			all := append(append([]int(nil), ids...), res.Tokens...)
			keep := all[len(all)-max(1, 3*m.MaxPositions()/4):]
			caches = m.NewCache(1, capacity)
			autograd.NoGrad(func() {
				logits = lastRow(ForwardLast(m, &nn.Ctx{Cache: caches}, keep, 1, len(keep)))
			})
			pos = len(keep)
			continue
		}
		autograd.NoGrad(func() {
			logits = lastRow(m.Forward(&nn.Ctx{Cache: caches, Pos: pos - 1}, []int{next}, 1, 1))
		})
	}
	res.Text = out.Finish()
	return res, nil
}

// ForwardLast returns m's logits [B, 1, V] for the last of the T
// positions of each row: m's own ForwardLast when it has one (computing
// no others), else the last rows of Forward's.
func ForwardLast(m Model, ctx *nn.Ctx, ids []int, B, T int) *autograd.Var {
	if l, ok := m.(interface {
		ForwardLast(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var
	}); ok {
		return l.ForwardLast(ctx, ids, B, T)
	}
	l := m.Forward(ctx, ids, B, T)
	if T > 1 {
		l = autograd.Slice(l, 1, T-1, T)
	}
	return l
}

func lastRow(l *autograd.Var) []float32 {
	T, V := l.Dim(1), l.Dim(2)
	return l.Value.Contiguous().F32()[(T-1)*V : T*V]
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// pick applies the repetition penalty, temperature, top-k and top-p to
// logits (in that order, as transformers does) and returns the chosen id.
func pick(logits []float32, seen map[int]bool, o Options, rng *tensor.RNG) int {
	l := make([]float64, len(logits))
	for i, v := range logits {
		l[i] = float64(v)
	}
	if p := o.RepetitionPenalty; p > 0 && p != 1 {
		for id := range seen {
			if l[id] > 0 {
				l[id] /= p
			} else {
				l[id] *= p
			}
		}
	}
	if o.Temperature == 0 {
		return argmax(l)
	}
	for i := range l {
		l[i] /= o.Temperature
	}
	order := make([]int, len(l))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return l[order[a]] > l[order[b]] })
	keep := len(order)
	if o.TopK > 0 && o.TopK < keep {
		keep = o.TopK
	}
	// softmax over the kept candidates
	mx := l[order[0]]
	probs := make([]float64, keep)
	var sum float64
	for r := range keep {
		probs[r] = math.Exp(l[order[r]] - mx)
		sum += probs[r]
	}
	for r := range probs {
		probs[r] /= sum
	}
	if o.TopP > 0 && o.TopP < 1 {
		var c float64
		for r := range probs {
			c += probs[r]
			if c >= o.TopP {
				keep = r + 1
				break
			}
		}
		probs = probs[:keep]
		sum = 0
		for _, p := range probs {
			sum += p
		}
		for r := range probs {
			probs[r] /= sum
		}
	}
	u := rng.Float64()
	for r, p := range probs {
		u -= p
		if u < 0 {
			return order[r]
		}
	}
	return order[len(probs)-1]
}
