package data

import (
	"encoding/binary"
	"fmt"

	"github.com/loomml/loom/tensor"
)

// Sampler draws training batches of random windows from a shard, as
// nanoGPT's get_batch does: each of the batch rows is the seqLen tokens
// starting at an offset drawn uniformly from [0, Len()−seqLen), and its
// targets are the seqLen tokens one further on. Offsets come from the
// sampler's own tensor.RNG, so a seed fixes the whole sequence of batches,
// and State/SetState save and restore the position in it. A Sampler is not
// safe for concurrent use.
type Sampler struct {
	s       source
	batch   int
	seqLen  int
	rng     *tensor.RNG
	batches uint64 // batches drawn so far
}

// source is what a Sampler draws from: a shard, or ids in memory.
type source interface {
	Len() int
	Read(dst []int, start int)
	At(i int) int
	Path() string
}

// memTokens are token ids in memory as a source.
type memTokens struct{ IDs }

func (m memTokens) At(i int) int { return m.IDs[i] }
func (m memTokens) Path() string { return "(tokens in memory)" }

// NewMemSampler is NewSampler over ids in memory (at least seqLen+1 of
// them; it panics otherwise).
func NewMemSampler(ids []int, batch, seqLen int, seed uint64) *Sampler {
	if batch < 1 || seqLen < 1 || len(ids) < seqLen+1 {
		panic(fmt.Sprintf("data: NewMemSampler: %d ids for batches of %d × %d", len(ids), batch, seqLen))
	}
	return &Sampler{s: memTokens{IDs(ids)}, batch: batch, seqLen: seqLen, rng: tensor.NewRNG(seed)}
}

// NewSampler returns a sampler of batch windows of seqLen tokens from s,
// seeded with seed. The shard needs at least seqLen+1 tokens.
func NewSampler(s *Shard, batch, seqLen int, seed uint64) (*Sampler, error) {
	if batch < 1 || seqLen < 1 {
		return nil, fmt.Errorf("data: NewSampler: batch size %d and sequence length %d must both be at least 1", batch, seqLen)
	}
	if s.Len() < seqLen+1 {
		return nil, fmt.Errorf("data: NewSampler: shard %s has %d tokens, fewer than the %d (sequence length %d + 1 target) a window needs",
			s.Path(), s.Len(), seqLen+1, seqLen)
	}
	return &Sampler{s: s, batch: batch, seqLen: seqLen, rng: tensor.NewRNG(seed)}, nil
}

// Batch is B rows of T token ids (row after row) and their next-token
// targets: Targets[i] is the token that follows IDs[i].
type Batch struct {
	IDs, Targets []int
	B, T         int
}

// Tokens returns the number of input tokens, B·T.
func (b Batch) Tokens() int { return b.B * b.T }

// Next returns the next batch of windows.
func (sm *Sampler) Next() Batch {
	n := sm.batch * sm.seqLen
	b := Batch{IDs: make([]int, n), Targets: make([]int, n), B: sm.batch, T: sm.seqLen}
	sm.NextInto(b.IDs, b.Targets)
	return b
}

// NextInto is Next writing into x and y, which must both have length
// batch·seqLen. It draws exactly what Next would.
func (sm *Sampler) NextInto(x, y []int) {
	T := sm.seqLen
	if len(x) != sm.batch*T || len(y) != sm.batch*T {
		panic(fmt.Sprintf("data: Sampler.NextInto: x and y have lengths %d and %d, want batch·seqLen = %d·%d = %d", len(x), len(y), sm.batch, T, sm.batch*T))
	}
	for b := range sm.batch {
		off := sm.rng.Intn(sm.s.Len() - T)
		xr, yr := x[b*T:(b+1)*T], y[b*T:(b+1)*T]
		sm.s.Read(xr, off)
		copy(yr, xr[1:])
		yr[T-1] = sm.s.At(off + T)
	}
	sm.batches++
}

// Batches returns the number of batches drawn so far (restored by
// SetState).
func (sm *Sampler) Batches() uint64 { return sm.batches }

// sampler state: magic, batch, seqLen, shard length, batches drawn (uint64
// little-endian each), then the RNG state.
const samplerMagic = "LOOMSMP1"

// State returns the sampler's position, for SetState.
func (sm *Sampler) State() ([]byte, error) {
	r, err := sm.rng.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(samplerMagic)+32+len(r))
	b = append(b, samplerMagic...)
	for _, v := range []uint64{uint64(sm.batch), uint64(sm.seqLen), uint64(sm.s.Len()), sm.batches} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	return append(b, r...), nil
}

// SetState restores a position saved by State: the sampler then yields the
// batches that the saved one would have yielded next. The state must come
// from a sampler with the same batch size and sequence length over a shard
// of the same length.
func (sm *Sampler) SetState(b []byte) error {
	const hdr = len(samplerMagic) + 32
	if len(b) < hdr || string(b[:len(samplerMagic)]) != samplerMagic {
		return fmt.Errorf("data: Sampler.SetState: not a sampler state (want at least %d bytes starting with %q, from Sampler.State)", hdr, samplerMagic)
	}
	le := binary.LittleEndian
	batch, seqLen, n := le.Uint64(b[8:]), le.Uint64(b[16:]), le.Uint64(b[24:])
	if batch != uint64(sm.batch) || seqLen != uint64(sm.seqLen) || n != uint64(sm.s.Len()) {
		return fmt.Errorf("data: Sampler.SetState: the state is for batch size %d, sequence length %d and a shard of %d tokens; this sampler has %d, %d and %d (%s)",
			batch, seqLen, n, sm.batch, sm.seqLen, sm.s.Len(), sm.s.Path())
	}
	rng := tensor.NewRNG(0)
	if err := rng.UnmarshalBinary(b[hdr:]); err != nil {
		return fmt.Errorf("data: Sampler.SetState: %w", err)
	}
	sm.rng, sm.batches = rng, le.Uint64(b[32:])
	return nil
}
