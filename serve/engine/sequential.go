package engine

// Sequential: one request at a time through the model with its own KV
// cache, the per-request runtime that continuous batching is measured
// against, and the engine the HTTP layer's tests run on.
// It samples and assembles text with the stream the batched engine uses
// (stream.go, sample.go): the same sampling, penalties, log-probabilities,
// stop handling and events.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
)

// SequentialOptions configure a Sequential engine.
type SequentialOptions struct {
	// MaxQueue is the most requests waiting behind the running one
	// (default 64); Submit returns ErrQueueFull beyond it.
	MaxQueue int
	// ContextLen caps the positions a request may use (prompt and
	// output); 0 or more than the model's max_position_embeddings: the
	// model's.
	ContextLen int
}

// Sequential runs one request at a time, so a seeded request gives the
// same text whatever else the server is doing.
type Sequential struct {
	m       *decoder.Model
	tok     interface{ TokenBytes(int) []byte }
	stop    []int
	ctxLen  int
	full    []int // the model's FFN widths at load (restored after a MatFormer request)
	queue   chan *seqJob
	mu      sync.Mutex // guards closed and sends on queue
	closed  bool
	model   sync.Mutex // one forward at a time (requests and Embed)
	running atomic.Int64
	queued  atomic.Int64
	kv      atomic.Int64
	base    context.Context // canceled by Close when its deadline passes
	cancel  context.CancelFunc
	done    chan struct{}
}

type seqJob struct {
	ctx context.Context
	r   Request
	out chan Event
}

// NewSequential returns an engine over m. tok gives each token's bytes;
// stopIDs are the model's end-of-sequence ids (every request stops at
// them).
func NewSequential(m *decoder.Model, tok interface{ TokenBytes(int) []byte }, stopIDs []int, o SequentialOptions) *Sequential {
	if o.MaxQueue <= 0 {
		o.MaxQueue = 64
	}
	ctxLen := m.MaxPositions()
	if o.ContextLen > 0 && o.ContextLen < ctxLen {
		ctxLen = o.ContextLen
	}
	base, cancel := context.WithCancel(context.Background())
	s := &Sequential{m: m, tok: tok, stop: slices.Clone(stopIDs), ctxLen: ctxLen, full: m.FFNWidths(),
		queue: make(chan *seqJob, o.MaxQueue), base: base, cancel: cancel, done: make(chan struct{})}
	go s.loop()
	return s
}

// ContextLen is the positions a request may use.
func (s *Sequential) ContextLen() int { return s.ctxLen }

// Submit queues r.
func (s *Sequential) Submit(ctx context.Context, r Request) (<-chan Event, error) {
	if err := s.check(r); err != nil {
		return nil, err
	}
	j := &seqJob{ctx: ctx, r: r, out: make(chan Event, 16)}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	select {
	case s.queue <- j:
		s.queued.Add(1)
		return j.out, nil
	default:
		return nil, ErrQueueFull
	}
}

// check validates a request before it is queued.
func (s *Sequential) check(r Request) error {
	switch {
	case len(r.Prompt) == 0:
		return errors.New("engine: the prompt is empty")
	case len(r.Prompt) >= s.ctxLen:
		return fmt.Errorf("%w: the prompt has %d tokens and the context is %d (at least one must be left to generate)", ErrTooLong, len(r.Prompt), s.ctxLen)
	case r.MaxTokens < 1:
		return fmt.Errorf("engine: MaxTokens %d: want ≥ 1", r.MaxTokens)
	case !(r.Temperature >= 0) || math.IsInf(r.Temperature, 1):
		return fmt.Errorf("engine: Temperature %v: want a finite value ≥ 0", r.Temperature)
	case !(r.TopP >= 0 && r.TopP <= 1):
		return fmt.Errorf("engine: TopP %v: want 0 to 1", r.TopP)
	case r.TopK < 0:
		return fmt.Errorf("engine: TopK %d: want ≥ 0", r.TopK)
	case !(r.PresencePenalty >= -2 && r.PresencePenalty <= 2):
		return fmt.Errorf("engine: PresencePenalty %v: want −2 to 2", r.PresencePenalty)
	case !(r.FrequencyPenalty >= -2 && r.FrequencyPenalty <= 2):
		return fmt.Errorf("engine: FrequencyPenalty %v: want −2 to 2", r.FrequencyPenalty)
	case !(r.RepetitionPenalty >= 0) || math.IsInf(r.RepetitionPenalty, 1):
		return fmt.Errorf("engine: RepetitionPenalty %v: want a finite value ≥ 0", r.RepetitionPenalty)
	case r.TopLogprobs < 0 || r.TopLogprobs > 20:
		return fmt.Errorf("engine: TopLogprobs %d: want 0 to 20", r.TopLogprobs)
	case r.FFNWidths != nil && len(r.FFNWidths) != len(s.full):
		return fmt.Errorf("engine: %d FFN widths for %d layers", len(r.FFNWidths), len(s.full))
	}
	for _, id := range r.Prompt {
		if id < 0 || id >= s.m.VocabSize() {
			return fmt.Errorf("engine: prompt token %d: want 0 to %d", id, s.m.VocabSize()-1)
		}
	}
	return nil
}

// Stats reports the load. KVBytes is the running request's cache.
func (s *Sequential) Stats() Stats {
	return Stats{Running: int(s.running.Load()), Queued: int(s.queued.Load()), KVBytes: s.kv.Load()}
}

// Close stops accepting requests and waits for the queued and running ones
// to finish; when ctx is done first, it cancels them.
func (s *Sequential) Close(ctx context.Context) error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		close(s.queue)
	}
	s.mu.Unlock()
	select {
	case <-s.done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.cancel()
		<-s.done
		return ctx.Err()
	}
}

func (s *Sequential) loop() {
	defer close(s.done)
	for j := range s.queue {
		s.queued.Add(-1)
		s.running.Add(1)
		s.run(j)
		s.running.Add(-1)
		s.kv.Store(0)
	}
}

// run serves one job; a panic in the model fails that job only.
func (s *Sequential) run(j *seqJob) {
	defer close(j.out)
	ctx, cancel := context.WithCancel(j.ctx)
	defer cancel()
	stop := context.AfterFunc(s.base, cancel)
	defer stop()
	var prompt, completion int
	send := func(ev Event) bool {
		select {
		case j.out <- ev:
			return true
		case <-ctx.Done():
			return false
		}
	}
	fail := func(err error) {
		select { // best effort: the consumer may be gone
		case j.out <- Event{Token: -1, Finish: "error", Err: err, PromptTokens: prompt, CompletionTokens: completion}:
		default:
		}
	}
	defer func() {
		if p := recover(); p != nil {
			fail(fmt.Errorf("engine: internal error: %v", p))
		}
	}()
	if err := ctx.Err(); err != nil {
		fail(err)
		return
	}
	s.model.Lock()
	defer s.model.Unlock()
	r := j.r
	if r.FFNWidths != nil {
		if err := s.m.SetFFNWidths(r.FFNWidths); err != nil {
			fail(fmt.Errorf("engine: FFN widths %v: %w", r.FFNWidths, err))
			return
		}
		defer s.m.SetFFNWidths(s.full) //nolint:errcheck // the widths the model was loaded with
	}
	prompt = len(r.Prompt)
	capacity := min(s.ctxLen, len(r.Prompt)+r.MaxTokens)
	cache := s.m.NewCache(1, capacity)
	s.kv.Store(kvBytes(cache))
	st := newStream(&r, s.tok, s.stop, s.ctxLen)
	var logits []float32
	forward := func(ids []int, pos int) {
		autograd.NoGrad(func() {
			l := s.m.ForwardLast(&nn.Ctx{Cache: cache, Pos: pos}, ids, 1, len(ids))
			T, V := l.Dim(1), l.Dim(2)
			logits = l.Value.Contiguous().F32()[(T-1)*V : T*V]
		})
	}
	forward(r.Prompt, 0)
	for pos := len(r.Prompt); ; pos++ {
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		ev, done := st.next(logits)
		completion = st.generated
		if !send(ev) {
			fail(ctx.Err())
			return
		}
		if done {
			return
		}
		forward([]int{ev.Token}, pos)
	}
}

// kvBytes is the memory of a cache's preallocated keys and values.
func kvBytes(c nn.Cache) int64 {
	var n int64
	if kc, ok := c.(nn.KVCaches); ok {
		for _, k := range kc {
			if f, ok := k.(interface{ Bytes() int64 }); ok {
				n += f.Bytes()
			}
		}
	}
	return n
}

// Embed returns the unit-length mean of each input's final hidden states.
func (s *Sequential) Embed(ctx context.Context, inputs [][]int) ([][]float32, error) {
	for i, in := range inputs {
		if len(in) == 0 {
			return nil, fmt.Errorf("engine: input %d is empty", i)
		}
		if len(in) > s.ctxLen {
			return nil, fmt.Errorf("%w: input %d has %d tokens and the context is %d", ErrTooLong, i, len(in), s.ctxLen)
		}
		for _, id := range in {
			if id < 0 || id >= s.m.VocabSize() {
				return nil, fmt.Errorf("engine: input %d: token %d: want 0 to %d", i, id, s.m.VocabSize()-1)
			}
		}
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	s.model.Lock()
	defer s.model.Unlock()
	out := make([][]float32, len(inputs))
	for i, in := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		var h []float32
		var D int
		autograd.NoGrad(func() {
			v := s.m.Hidden(&nn.Ctx{}, in, 1, len(in))
			D = v.Dim(2)
			h = v.Value.Contiguous().F32()
		})
		e := make([]float64, D)
		for t := range len(in) {
			for d := range D {
				e[d] += float64(h[t*D+d])
			}
		}
		var norm float64
		for d := range e {
			e[d] /= float64(len(in))
			norm += e[d] * e[d]
		}
		norm = math.Sqrt(norm)
		if norm == 0 {
			norm = 1
		}
		v := make([]float32, D)
		for d := range e {
			v[d] = float32(e[d] / norm)
		}
		out[i] = v
	}
	return out, nil
}
