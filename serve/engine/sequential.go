package engine

// Sequential: one request at a time through the model with its own KV
// cache, the per-request runtime that continuous batching is measured
// against, and the engine the HTTP layer's tests run on.
//
// The sampling and text-assembly helpers below (seqSampler, seqText) are a
// private copy of generate/generate.go's pick and textOut, extended with
// OpenAI's presence and frequency penalties, a constraint mask and
// log-probabilities. They are prefixed "seq" so that the shared helpers the
// batched engine brings (sample.go, text.go) can replace them in one merge.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
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
	smp := newSeqSampler(s.m.VocabSize(), r)
	for _, id := range r.Prompt {
		smp.prompt(id)
	}
	txt := &seqText{stop: r.Stop}
	var logits []float32
	forward := func(ids []int, pos int) {
		autograd.NoGrad(func() {
			l := s.m.Forward(&nn.Ctx{Cache: cache, Pos: pos}, ids, 1, len(ids))
			T, V := l.Dim(1), l.Dim(2)
			logits = l.Value.Contiguous().F32()[(T-1)*V : T*V]
		})
	}
	forward(r.Prompt, 0)
	pos := len(r.Prompt)
	finish := "length"
	for completion < r.MaxTokens {
		if err := ctx.Err(); err != nil {
			fail(err)
			return
		}
		next, ev, err := smp.next(logits)
		if err != nil {
			fail(err)
			return
		}
		if slices.Contains(s.stop, next) || slices.Contains(r.StopTokens, next) {
			finish = "stop"
			break
		}
		completion++
		if r.Constraint != nil {
			if err := r.Constraint.Accept(next); err != nil {
				fail(fmt.Errorf("engine: constraint: %w", err))
				return
			}
		}
		hit := txt.add(s.tok.TokenBytes(next))
		ev.Text = txt.take()
		if !send(ev) {
			fail(ctx.Err())
			return
		}
		if hit || (r.Constraint != nil && r.Constraint.Complete()) {
			finish = "stop"
			break
		}
		pos++
		if completion == r.MaxTokens || pos >= s.ctxLen {
			break
		}
		forward([]int{next}, pos-1)
	}
	txt.release(true)
	send(Event{Text: txt.take(), Token: -1, Finish: finish, PromptTokens: prompt, CompletionTokens: completion})
}

// kvBytes is the memory of a cache's preallocated keys and values.
func kvBytes(c nn.Cache) int64 {
	var n int64
	if kc, ok := c.(nn.KVCaches); ok {
		for _, k := range kc {
			if f, ok := k.(*nn.FullKV); ok {
				n += int64(f.K.Numel()+f.V.Numel()) * 4
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

// seqSampler picks tokens for one request.
type seqSampler struct {
	r       Request
	rng     *tensor.RNG
	inCtx   []bool // in the prompt or output (repetition penalty)
	counts  []int  // times generated (presence, frequency)
	allowed []bool
	l       []float64
}

func newSeqSampler(vocab int, r Request) *seqSampler {
	return &seqSampler{r: r, rng: tensor.NewRNG(r.Seed), inCtx: make([]bool, vocab), counts: make([]int, vocab),
		allowed: make([]bool, vocab), l: make([]float64, vocab)}
}

func (p *seqSampler) prompt(id int) { p.inCtx[id] = true }

// next applies the penalties, the constraint, temperature, top-k and top-p
// and returns the chosen id and its event (log-probabilities filled in
// when asked).
func (p *seqSampler) next(logits []float32) (int, Event, error) {
	r := p.r
	l := p.l
	for i, v := range logits[:len(l)] {
		l[i] = float64(v)
	}
	var ev Event
	if r.Logprobs {
		ev.Top = seqTop(l, r.TopLogprobs)
	}
	lse := seqLogSumExp(l)
	if rp := r.RepetitionPenalty; rp > 0 && rp != 1 {
		for id, seen := range p.inCtx {
			if !seen {
				continue
			}
			if l[id] > 0 {
				l[id] /= rp
			} else {
				l[id] *= rp
			}
		}
	}
	if r.PresencePenalty != 0 || r.FrequencyPenalty != 0 {
		for id, c := range p.counts {
			if c > 0 {
				l[id] -= r.PresencePenalty + float64(c)*r.FrequencyPenalty
			}
		}
	}
	if r.Constraint != nil {
		for i := range p.allowed {
			p.allowed[i] = true
		}
		r.Constraint.Mask(p.allowed)
		some := false
		for i, ok := range p.allowed {
			if !ok {
				l[i] = math.Inf(-1)
			} else {
				some = true
			}
		}
		if !some {
			return 0, ev, errors.New("engine: the constraint allows no token")
		}
	}
	id := seqPick(l, r, p.rng)
	ev.Token = id
	if r.Logprobs {
		ev.Logprob = float64(logits[id]) - lse
	}
	p.counts[id]++
	p.inCtx[id] = true
	return id, ev, nil
}

func seqLogSumExp(l []float64) float64 {
	mx := math.Inf(-1)
	for _, v := range l {
		mx = max(mx, v)
	}
	var s float64
	for _, v := range l {
		s += math.Exp(v - mx)
	}
	return mx + math.Log(s)
}

// seqTop returns the k most likely tokens of raw logits l with their
// log-probabilities, most likely first (ties: the lower id), in one pass.
func seqTop(l []float64, k int) []Alt {
	if k <= 0 {
		return []Alt{}
	}
	lse := seqLogSumExp(l)
	top := make([]int, 0, k+1)
	for id, v := range l {
		if len(top) == k && v <= l[top[k-1]] {
			continue
		}
		i := len(top)
		for i > 0 && v > l[top[i-1]] {
			i--
		}
		top = slices.Insert(top, i, id)
		if len(top) > k {
			top = top[:k]
		}
	}
	out := make([]Alt, len(top))
	for i, id := range top {
		out[i] = Alt{Token: id, Logprob: l[id] - lse}
	}
	return out
}

// seqPick is generate's pick after the penalties: greedy at temperature 0,
// else temperature, top-k, top-p and a draw. Entries at −Inf are never
// chosen. Without top-k and top-p it draws from the whole distribution
// without sorting it.
func seqPick(l []float64, r Request, rng *tensor.RNG) int {
	if r.Temperature == 0 {
		best := 0
		for i, v := range l {
			if v > l[best] {
				best = i
			}
		}
		return best
	}
	order := make([]int, 0, len(l))
	mx := math.Inf(-1)
	for i, v := range l {
		if !math.IsInf(v, -1) {
			order = append(order, i)
			mx = max(mx, v)
		}
	}
	filter := (r.TopK > 0 && r.TopK < len(order)) || (r.TopP > 0 && r.TopP < 1)
	if filter {
		sort.SliceStable(order, func(a, b int) bool { return l[order[a]] > l[order[b]] })
	}
	keep := len(order)
	if r.TopK > 0 && r.TopK < keep {
		keep = r.TopK
	}
	probs := make([]float64, keep)
	var sum float64
	for i := range keep {
		probs[i] = math.Exp((l[order[i]] - mx) / r.Temperature)
		sum += probs[i]
	}
	if r.TopP > 0 && r.TopP < 1 {
		var c float64
		for i := range probs {
			c += probs[i] / sum
			if c >= r.TopP {
				probs = probs[:i+1]
				break
			}
		}
		sum = 0
		for _, q := range probs {
			sum += q
		}
	}
	u := rng.Float64() * sum
	for i, q := range probs {
		u -= q
		if u < 0 {
			return order[i]
		}
	}
	return order[len(probs)-1]
}

// seqText accumulates generated bytes and releases text that is final:
// complete UTF-8 that cannot be the start of a stop string.
type seqText struct {
	stop    []string
	buf     []byte
	emitted int
	pending strings.Builder
}

// add appends b and reports whether a stop string has appeared (the text
// is then cut before it and released).
func (t *seqText) add(b []byte) bool {
	t.buf = append(t.buf, b...)
	for _, st := range t.stop {
		if st == "" {
			continue
		}
		from := max(0, t.emitted-len(st))
		if i := strings.Index(string(t.buf[from:]), st); i >= 0 {
			t.buf = t.buf[:from+i]
			t.release(true)
			return true
		}
	}
	t.release(false)
	return false
}

func (t *seqText) release(final bool) {
	end := len(t.buf)
	if !final {
		for _, st := range t.stop {
			for k := min(len(st)-1, end-t.emitted); k > 0; k-- {
				if strings.HasSuffix(string(t.buf), st[:k]) {
					end = min(end, len(t.buf)-k)
					break
				}
			}
		}
		end = t.emitted + seqCompleteUTF8(t.buf[t.emitted:end])
	}
	if end > t.emitted {
		t.pending.Write(t.buf[t.emitted:end])
		t.emitted = end
	}
}

// take returns the text released since the last call.
func (t *seqText) take() string {
	s := t.pending.String()
	t.pending.Reset()
	return s
}

// seqCompleteUTF8 returns the length of the longest prefix of b that does
// not end inside a multi-byte UTF-8 sequence.
func seqCompleteUTF8(b []byte) int {
	n := len(b)
	for i := 1; i <= 3 && i <= n; i++ {
		c := b[n-i]
		if c&0xC0 != 0x80 {
			need := 1
			switch {
			case c >= 0xF0:
				need = 4
			case c >= 0xE0:
				need = 3
			case c >= 0xC0:
				need = 2
			}
			if need > i {
				return n - i
			}
			return n
		}
	}
	return n
}
