package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// BatchedOptions configure a Batched engine; zero fields take the defaults.
type BatchedOptions struct {
	MaxBatch int   // most sequences running at once (default 16)
	MaxQueue int   // most requests waiting to start (default 64)
	KVBudget int64 // bytes of key/value memory for all running sequences (0: unbounded)
	Ctx      int   // context length in positions (0 or above the model's: the model's)
	// PrefillChunk is the most prompt tokens of one forward (default 32):
	// a prompt is prefilled in chunks that start at multiples of it, so
	// how its positions are computed does not depend on the load, and
	// prefix reuse is in whole chunks. (On the 25M model of `loom bench
	// decode`, a 1,000-token prompt prefills at about 1,500 tokens/s in
	// chunks of 32, 1,200 in chunks of 64 and 1,900 in chunks of 256.)
	PrefillChunk int
	// PrefillStep is the most prompt tokens prefilled between two decode
	// steps, in whole chunks (default 256, at least one chunk): it bounds
	// how long running streams wait while long prompts come in.
	PrefillStep int
	// PrefixCache is how many finished sequences keep their keys and
	// values for later prompts that start the same way (0: 4; −1: no
	// prefix reuse at all, from running sequences either).
	// They use memory the running sequences leave free within KVBudget
	// and are dropped, oldest first, when a request needs it.
	PrefixCache int
	// NoPack leaves the weights as they are. By default the engine packs
	// every float32 weight matrix once for the GEMM kernel
	// (decoder.Model.PackWeights: as much memory again as those weights),
	// which makes the few-row products of decode steps faster and every
	// product batch-invariant; the model is then for inference only.
	NoPack bool
	// NoWarmup skips the warm-up pass: by default the engine runs one
	// forward pass as large as its largest step (PrefillStep prompt tokens
	// and MaxBatch decode tokens) before it takes requests, as llama.cpp's
	// server does, so that the first burst of requests does not pay for the
	// process's memory growing (the first such step ran 4× slower).
	NoWarmup bool
}

// Batched is continuous batching over one model. One scheduler goroutine
// loops: it admits queued requests while there is a free slot and KV
// memory for them (in arrival order), then runs one forward pass over the
// pending token of every sequence past its prompt and the next prompt
// chunk (PrefillChunk tokens, ending at a multiple of it) of sequences
// still prefilling, oldest first, up to PrefillStep prompt tokens
// (nn.Ctx.Positions and Lengths with nn.SeqCaches: the projections, the
// feed-forward layers and the head are one matrix product over all those
// tokens; attention runs per sequence over its own keys), and samples the
// next token of each sequence whose prompt is in. Requests thus join and
// leave between steps, and a long prompt is prefilled a chunk at a time
// alongside the running streams, which keep getting tokens.
//
// Each sequence holds a key/value store of (prompt + MaxTokens) positions,
// capped at the context, allocated when it starts and freed when it ends;
// the sum is kept within KVBudget.
//
// Prefix reuse: a prompt that starts with the same whole chunks as
// another sequence's prompt (a running one, or one of the last
// PrefixCache finished ones) copies their keys and values instead of
// computing them; a prompt that shares more chunks with an earlier request
// still being prefilled waits for it (so a burst of requests with one
// system prompt computes it once). Reuse is in whole chunks of prompt
// positions, which the donor computed exactly as the new request would
// have, so it changes no bit of the result. PrefixReuse counts it.
//
// Determinism: a request's tokens depend only on its logits and its Seed
// (each request samples from its own random stream), so the same request
// and seed served alone give the same text. Under concurrent load the
// text is also the same when every product is batch-invariant, which it is
// with packed weights (the default: decoder.Model.PackWeights, with the
// AVX-512 or AVX2 kernels and float32 weights): each token's row of every
// product gets the same operations whatever else is in the step, and its
// attention is computed exactly as alone. Elsewhere (the pure-Go build,
// NoPack, low-precision weights) the products may add in another order
// for another number of rows, so logits can differ in the last bits and a
// sampled text can, rarely, diverge. TestBatchedSeed checks both.
type Batched struct {
	m        *decoder.Model
	tok      Tokenizer
	stopIDs  []int
	o        BatchedOptions
	kvPerPos int64 // bytes of one position's keys and values over all layers
	packed   int64 // bytes of packed weights (PackWeights)
	noReuse  bool  // PrefixCache −1
	full     []int // a MatFormer's full FFN widths (nil otherwise), what requests without FFNWidths get

	modelMu sync.Mutex // one forward at a time (Embed and the scheduler)

	mu      sync.Mutex // guards what follows
	queue   []*bseq
	running int      // sequences admitted and not yet finished
	kvUsed  int64    // bytes held by running sequences
	reused  [2]int64 // prefix reuse: requests, positions
	closed  bool     // Submit refuses
	abort   error    // set by Close when its ctx ends: cancel everything
	wake    chan struct{}
	done    chan struct{}
	// step, when set (by tests, before the first Submit), is called after
	// each scheduler step with the prompt tokens it prefilled and the
	// sequences it decoded.
	step func(prefilled, decoded int)

	donors      []*donor // finished sequences kept for prefix reuse, oldest first (scheduler's)
	donorsBytes int64
}

// donor is a finished sequence's cache kept for prefix reuse.
type donor struct {
	prompt []int // its prompt, whose positions its cache holds
	cache  nn.Cache
	bytes  int64
	widths string
}

// bseq is one request in a Batched engine.
type bseq struct {
	ctx     context.Context
	r       Request
	out     chan Event
	st      *stream
	cache   nn.Cache
	kvBytes int64
	kvLen   int // positions the cache holds
	fed     int // positions in the cache
	next    int // the token to feed next (after the prompt)
	widths  string
}

// NewBatched starts a continuous-batching engine over m; tok gives tokens'
// bytes and stopIDs are the model's end-of-sequence ids. Close releases it.
func NewBatched(m *decoder.Model, tok Tokenizer, stopIDs []int, o BatchedOptions) (*Batched, error) {
	switch {
	case m == nil || tok == nil:
		return nil, errors.New("engine: NewBatched needs a model and a tokenizer")
	case o.MaxBatch < 0:
		return nil, fmt.Errorf("engine: MaxBatch %d: want ≥ 1 (0: 16)", o.MaxBatch)
	case o.MaxQueue < 0:
		return nil, fmt.Errorf("engine: MaxQueue %d: want ≥ 1 (0: 64)", o.MaxQueue)
	case o.KVBudget < 0:
		return nil, fmt.Errorf("engine: KVBudget %d: want ≥ 0 bytes (0: unbounded)", o.KVBudget)
	case o.Ctx < 0:
		return nil, fmt.Errorf("engine: Ctx %d: want ≥ 2 positions (0: the model's)", o.Ctx)
	case o.PrefillChunk < 0:
		return nil, fmt.Errorf("engine: PrefillChunk %d: want ≥ 1 (0: 32)", o.PrefillChunk)
	case o.PrefillStep < 0:
		return nil, fmt.Errorf("engine: PrefillStep %d: want ≥ 1 (0: 256)", o.PrefillStep)
	case o.PrefixCache < -1:
		return nil, fmt.Errorf("engine: PrefixCache %d: want ≥ 0 sequences (0: 4; −1: none)", o.PrefixCache)
	}
	for i, id := range stopIDs {
		if id < 0 || id >= m.VocabSize() {
			return nil, fmt.Errorf("engine: stop id %d (index %d) is outside the vocabulary of %d", id, i, m.VocabSize())
		}
	}
	o.MaxBatch = cmpOr(o.MaxBatch, 16)
	o.MaxQueue = cmpOr(o.MaxQueue, 64)
	o.PrefillChunk = cmpOr(o.PrefillChunk, 32)
	o.PrefillStep = cmpOr(o.PrefillStep, 256)
	noReuse := o.PrefixCache == -1
	o.PrefixCache = max(0, cmpOr(o.PrefixCache, 4))
	if o.Ctx == 0 || o.Ctx > m.MaxPositions() {
		o.Ctx = m.MaxPositions()
	}
	if o.Ctx < 2 {
		return nil, fmt.Errorf("engine: a context of %d positions leaves no room to generate; want ≥ 2", o.Ctx)
	}
	b := &Batched{m: m, tok: tok, stopIDs: slices.Clone(stopIDs), o: o, kvPerPos: kvBytesPerPosition(m),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	if !o.NoPack {
		b.packed = m.PackWeights()
	}
	if !o.NoWarmup {
		b.warmup()
	}
	b.noReuse = noReuse
	if m.Config.Loom.MatFormer != nil {
		for i := range m.Layers {
			b.full = append(b.full, m.Config.IntermediateSizeAt(i))
		}
	}
	go b.loop()
	return b, nil
}

// warmup runs throwaway forward passes of PrefillStep + MaxBatch tokens,
// in prompt chunks of separate sequences as a busy step has them, until
// the garbage collector has run twice (at most 8 passes, and no more once
// a second has gone): the process then holds the memory a step's
// temporaries cycle through.
func (b *Batched) warmup() {
	n := min(b.o.PrefillChunk, b.o.Ctx-1)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	start := time.Now()
	for gc, i := ms.NumGC, 0; i < 8 && (i == 0 || time.Since(start) < time.Second); i++ {
		var ids, pos, lens []int
		var caches nn.SeqCaches
		for left := b.o.PrefillStep + b.o.MaxBatch; left > 0; left -= n {
			k := min(n, left)
			ids = append(ids, make([]int, k)...)
			pos, lens, caches = append(pos, 0), append(lens, k), append(caches, b.m.NewCache(1, k))
		}
		b.forward(&bseq{}, func() {
			b.m.Logits(b.m.Hidden(&nn.Ctx{Cache: caches, Positions: pos, Lengths: lens}, ids, 1, len(ids)))
		})
		if runtime.ReadMemStats(&ms); ms.NumGC >= gc+2 {
			break
		}
	}
}

func cmpOr(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// kvBytesPerPosition is what one position of one sequence's cache holds.
func kvBytesPerPosition(m *decoder.Model) int64 {
	if n := kvBytes(m.NewCache(1, 1)); n > 0 {
		return n
	}
	c := m.Config
	return int64(c.NumHiddenLayers) * 2 * int64(c.KVHeads()*c.HeadDimOrDefault()) * 4 // float32, the larger
}

// Submit queues r. It fails with ErrTooLong when the prompt leaves no room
// in the context or the request's KV memory exceeds the whole budget, with
// ErrQueueFull when MaxQueue requests are waiting, and with ErrClosed after
// Close.
func (b *Batched) Submit(ctx context.Context, r Request) (<-chan Event, error) {
	if err := r.Validate(b.m.VocabSize()); err != nil {
		return nil, err
	}
	if len(r.Prompt) >= b.o.Ctx {
		return nil, fmt.Errorf("%w: the prompt has %d tokens and the context %d positions, leaving none to generate", ErrTooLong, len(r.Prompt), b.o.Ctx)
	}
	widths := ""
	if r.FFNWidths != nil {
		if b.full == nil {
			return nil, errors.New("engine: FFNWidths is set but the model is not a MatFormer")
		}
		if len(r.FFNWidths) != len(b.full) {
			return nil, fmt.Errorf("engine: FFNWidths has %d widths, the model %d layers", len(r.FFNWidths), len(b.full))
		}
		for i, w := range r.FFNWidths {
			if w < 1 || w > b.full[i] {
				return nil, fmt.Errorf("engine: FFNWidths[%d] is %d; want 1 … %d", i, w, b.full[i])
			}
		}
		widths = fmt.Sprint(r.FFNWidths)
	}
	capacity := min(len(r.Prompt)+min(r.MaxTokens, b.o.Ctx), b.o.Ctx)
	need := int64(capacity) * b.kvPerPos
	if b.o.KVBudget > 0 && need > b.o.KVBudget {
		return nil, fmt.Errorf("%w: %d positions of keys and values take %d bytes, more than the budget of %d", ErrTooLong, capacity, need, b.o.KVBudget)
	}
	s := &bseq{ctx: ctx, r: r, kvBytes: need, kvLen: capacity, widths: widths}
	s.r.Prompt = slices.Clone(r.Prompt)
	s.st = newStream(&s.r, b.tok, b.stopIDs, b.o.Ctx)
	// Room for every event, so the scheduler never waits for a reader.
	s.out = make(chan Event, min(r.MaxTokens, b.o.Ctx)+2)
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return nil, ErrClosed
	case len(b.queue) >= b.o.MaxQueue:
		return nil, ErrQueueFull
	}
	b.queue = append(b.queue, s)
	b.signal()
	return s.out, nil
}

// signal wakes the scheduler (b.mu held or not).
func (b *Batched) signal() {
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

// PackedBytes is the memory the packed copies of the weights hold (0 with
// NoPack or where the kernels do not pack).
func (b *Batched) PackedBytes() int64 { return b.packed }

// Stats reports the load.
func (b *Batched) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Stats{Running: b.running, Queued: len(b.queue), KVBytes: b.kvUsed, KVBudget: b.o.KVBudget}
}

// Close stops accepting requests and waits for the queued and running ones
// to finish; when ctx ends first, it cancels them (their final event has
// Finish "error" and ErrClosed) and returns ctx's error.
func (b *Batched) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.signal()
	b.mu.Unlock()
	select {
	case <-b.done:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	b.abort = ErrClosed
	b.signal()
	b.mu.Unlock()
	<-b.done
	return ctx.Err()
}

// Embed returns the unit-length mean of each input's final hidden states.
func (b *Batched) Embed(ctx context.Context, inputs [][]int) ([][]float32, error) {
	for i, ids := range inputs {
		switch {
		case len(ids) == 0:
			return nil, fmt.Errorf("engine: input %d is empty; give at least one token", i)
		case len(ids) > b.o.Ctx:
			return nil, fmt.Errorf("%w: input %d has %d tokens and the context %d positions", ErrTooLong, i, len(ids), b.o.Ctx)
		}
		for j, id := range ids {
			if id < 0 || id >= b.m.VocabSize() {
				return nil, fmt.Errorf("engine: input %d token %d is %d, outside the vocabulary of %d", i, j, id, b.m.VocabSize())
			}
		}
	}
	out := make([][]float32, len(inputs))
	for i, ids := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b.modelMu.Lock()
		if b.full != nil {
			if err := b.m.SetFFNWidths(b.full); err != nil {
				b.modelMu.Unlock()
				return nil, err
			}
		}
		var h []float32
		autograd.NoGrad(func() { h = b.m.Hidden(nil, ids, 1, len(ids)).Value.Contiguous().F32() })
		b.modelMu.Unlock()
		out[i] = meanUnit(h, len(ids))
	}
	return out, nil
}

// meanUnit returns the mean of the T rows of h [T·D], scaled to unit
// length (float64 sums).
func meanUnit(h []float32, T int) []float32 {
	D := len(h) / T
	acc := make([]float64, D)
	for t := range T {
		for d, v := range h[t*D : (t+1)*D] {
			acc[d] += float64(v)
		}
	}
	var norm float64
	for d := range acc {
		acc[d] /= float64(T)
		norm += acc[d] * acc[d]
	}
	norm = math.Sqrt(norm)
	out := make([]float32, D)
	for d, v := range acc {
		if norm > 0 {
			v /= norm
		}
		out[d] = float32(v)
	}
	return out
}

// loop is the scheduler.
func (b *Batched) loop() {
	defer close(b.done)
	var running []*bseq // in admission order
	// finish ends s: its slot and memory are free (Stats says so) before
	// its last event reaches the caller.
	finish := func(s *bseq, ev Event) {
		if ev.Finish != "error" {
			b.keep(s)
		}
		s.cache = nil
		b.mu.Lock()
		b.running--
		b.kvUsed -= s.kvBytes
		b.mu.Unlock()
		s.out <- ev
		close(s.out)
	}
	for {
		// Cancellations: running sequences and waiting requests.
		b.mu.Lock()
		abort := b.abort
		var dropped []*bseq
		b.queue = slices.DeleteFunc(b.queue, func(s *bseq) bool {
			if abort != nil || s.ctx.Err() != nil {
				dropped = append(dropped, s)
				return true
			}
			return false
		})
		b.mu.Unlock()
		for _, s := range dropped {
			err := abort
			if err == nil {
				err = s.ctx.Err()
			}
			s.out <- s.st.fail(err)
			close(s.out)
		}
		running = slices.DeleteFunc(running, func(s *bseq) bool {
			err := abort
			if err == nil {
				err = s.ctx.Err()
			}
			if err != nil {
				finish(s, s.st.fail(err))
				return true
			}
			return false
		})
		// Admission: in arrival order, while a slot and the memory last.
		b.mu.Lock()
		for len(b.queue) > 0 && len(running) < b.o.MaxBatch {
			s := b.queue[0]
			for len(b.donors) > 0 && b.o.KVBudget > 0 && b.kvUsed+b.donorsBytes+s.kvBytes > b.o.KVBudget {
				b.drop(0) // make room: cached prefixes go first
			}
			if b.o.KVBudget > 0 && b.kvUsed+s.kvBytes > b.o.KVBudget {
				break
			}
			b.queue = b.queue[1:]
			b.running++
			b.kvUsed += s.kvBytes
			running = append(running, s)
		}
		idle := len(running) == 0
		closed := b.closed && len(b.queue) == 0
		b.mu.Unlock()
		if idle {
			if closed {
				return
			}
			<-b.wake
			continue
		}
		// Allocate the new sequences' stores (outside the lock).
		for _, s := range running {
			if s.cache == nil {
				s.cache = b.m.NewCache(1, s.kvLen)
			}
		}
		// One forward pass: every sequence past its prompt decodes a token,
		// and prompts are prefilled a chunk each (a chunk ends at a
		// multiple of PrefillChunk), oldest first, up to PrefillStep prompt
		// tokens (at least one chunk).
		var segs []segment
		for _, s := range running {
			if s.fed >= len(s.r.Prompt) { // its prompt is in, its last token pending
				segs = append(segs, segment{s: s, ids: []int{s.next}})
			}
		}
		decoded := len(segs)
		budget := b.o.PrefillStep
		for _, s := range running {
			if s.fed >= len(s.r.Prompt) || budget <= 0 {
				continue
			}
			if s.fed == 0 && !b.reuse(s, running) {
				continue // an earlier request is computing more of its prefix
			}
			n := min(b.o.PrefillChunk-s.fed%b.o.PrefillChunk, len(s.r.Prompt)-s.fed)
			if n > budget && budget < b.o.PrefillStep {
				break
			}
			budget -= n
			segs = append(segs, segment{s: s, ids: s.r.Prompt[s.fed : s.fed+n]})
		}
		prefilled := b.o.PrefillStep - budget
		if len(segs) > 0 {
			evs := b.forwardStep(segs)
			for i, sg := range segs {
				ev, s := evs[i], sg.s
				switch {
				case ev.Finish != "":
					finish(s, ev)
					running = slices.DeleteFunc(running, func(x *bseq) bool { return x == s })
				case ev.Token >= 0:
					s.out <- ev
				}
			}
		}
		if b.step != nil {
			b.step(prefilled, decoded)
		}
	}
}

// forward runs f, a forward pass for s's MatFormer widths, holding the
// model; a panic in it becomes an error.
func (b *Batched) forward(s *bseq, f func()) (err error) {
	b.modelMu.Lock()
	defer b.modelMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("engine: the forward pass failed: %v", r)
		}
	}()
	b.setWidths(s)
	autograd.NoGrad(f)
	return nil
}

// next samples s's next token from logits (a panic in sampling, say in a
// constraint, fails s alone).
func (b *Batched) next(s *bseq, logits []float32) (ev Event, done bool) {
	defer func() {
		if r := recover(); r != nil {
			ev, done = s.st.final(Event{Token: -1, Finish: "error", Err: fmt.Errorf("engine: sampling failed: %v", r)}), true
		}
	}()
	ev, done = s.st.next(logits)
	s.next = ev.Token
	return ev, done
}

// segment is one sequence's part of a forward pass: its pending token
// (decoding) or the next chunk of its prompt.
type segment struct {
	s   *bseq
	ids []int
}

// forwardStep runs the segments through the model, one forward pass per
// MatFormer width setting, and returns each one's event: the next token
// of a sequence that decoded or finished its prompt (Token −1, no Finish,
// for a prompt chunk that is not the last).
func (b *Batched) forwardStep(segs []segment) []Event {
	evs := make([]Event, len(segs))
	groups := map[string][]int{}
	var keys []string
	for i, sg := range segs {
		if _, ok := groups[sg.s.widths]; !ok {
			keys = append(keys, sg.s.widths)
		}
		groups[sg.s.widths] = append(groups[sg.s.widths], i)
	}
	for _, key := range keys {
		idx := groups[key]
		var ids, pos, lens, rows []int // rows: the token whose logits each sampling segment needs
		caches := make(nn.SeqCaches, len(idx))
		for j, i := range idx {
			sg := segs[i]
			s := sg.s
			ids = append(ids, sg.ids...)
			pos, lens, caches[j] = append(pos, s.fed), append(lens, len(sg.ids)), s.cache
			if s.fed+len(sg.ids) >= len(s.r.Prompt) {
				rows = append(rows, len(ids)-1)
			}
		}
		var logits []float32
		err := b.forward(segs[idx[0]].s, func() {
			h := b.m.Hidden(&nn.Ctx{Cache: caches, Positions: pos, Lengths: lens}, ids, 1, len(ids)).Value.Contiguous().F32()
			D := len(h) / len(ids)
			last := tensor.New(tensor.Float32, 1, len(rows), D)
			for r, row := range rows {
				copy(last.F32()[r*D:(r+1)*D], h[row*D:(row+1)*D])
			}
			logits = b.m.Logits(autograd.Const(last)).Value.Contiguous().F32()
		})
		V, r := b.m.VocabSize(), 0
		for _, i := range idx {
			sg := segs[i]
			s := sg.s
			if err != nil {
				evs[i] = s.st.final(Event{Token: -1, Finish: "error", Err: err})
				continue
			}
			s.fed += len(sg.ids)
			if s.fed < len(s.r.Prompt) {
				evs[i] = Event{Token: -1}
				continue
			}
			evs[i], _ = b.next(s, logits[r*V:(r+1)*V])
			r++
		}
	}
	return evs
}

// setWidths selects s's MatFormer widths (b.modelMu held).
func (b *Batched) setWidths(s *bseq) {
	if b.full == nil {
		return
	}
	w := b.full
	if s.r.FFNWidths != nil {
		w = s.r.FFNWidths
	}
	if err := b.m.SetFFNWidths(w); err != nil {
		panic(err) // checked at Submit
	}
}

// PrefixReuse reports how many requests reused another sequence's keys and
// values for the start of their prompt, and how many positions in all.
func (b *Batched) PrefixReuse() (requests, positions int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.reused[0], b.reused[1]
}

// reuse gives s, before its prefill starts, the most whole chunks at the
// start of its prompt (short of its last token) that a running sequence
// or a kept one has in its prompt and holds, copying those keys and
// values. It returns false, copying nothing, when a request ahead of s in
// running (still prefilling) will hold more: s should wait for it.
func (b *Batched) reuse(s *bseq, running []*bseq) bool {
	if b.noReuse {
		return true
	}
	C := b.o.PrefillChunk
	want := s.r.Prompt[:len(s.r.Prompt)-1]
	chunks := func(p []int) int { return commonPrefix(p, want) / C * C }
	var src nn.Cache
	have, ahead := 0, 0
	for _, x := range running {
		if x == s {
			break
		}
		if x.widths != s.widths {
			continue
		}
		if n := chunks(x.r.Prompt[:min(x.fed, len(x.r.Prompt))]); n > have {
			src, have = x.cache, n
		}
		if x.fed < len(x.r.Prompt) {
			ahead = max(ahead, chunks(x.r.Prompt))
		}
	}
	di := -1
	for i, d := range b.donors {
		if d.widths != s.widths {
			continue
		}
		if n := chunks(d.prompt); n > have {
			src, have, di = d.cache, n, i
		}
	}
	if ahead > have {
		return false
	}
	if have == 0 || !nn.CopyPrefix(s.cache, src, have) {
		return true
	}
	if di >= 0 { // most recently used last
		d := b.donors[di]
		b.donors = append(slices.Delete(b.donors, di, di+1), d)
	}
	s.fed = have
	b.mu.Lock()
	b.reused[0]++
	b.reused[1] += int64(have)
	b.mu.Unlock()
	return true
}

func commonPrefix(a, b []int) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// keep makes finished s a donor for prefix reuse, dropping the oldest
// donors beyond PrefixCache.
func (b *Batched) keep(s *bseq) {
	if b.o.PrefixCache == 0 || s.cache == nil || len(s.r.Prompt) < b.o.PrefillChunk {
		return
	}
	b.donors = append(b.donors, &donor{prompt: s.r.Prompt, cache: s.cache, bytes: s.kvBytes, widths: s.widths})
	b.donorsBytes += s.kvBytes
	for len(b.donors) > b.o.PrefixCache {
		b.drop(0)
	}
}

// drop forgets donor i.
func (b *Batched) drop(i int) {
	b.donorsBytes -= b.donors[i].bytes
	b.donors = slices.Delete(b.donors, i, i+1)
}
