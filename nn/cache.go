package nn

import (
	"fmt"

	"github.com/loomml/loom/tensor"
)

// Cache is a model's incremental-decoding state, reached through Ctx.Cache.
// Attention layers ask it for their key/value store by layer index; a
// family with other kinds of state (a recurrent state, a paged store)
// extends it with its own method and type-asserts. KVCaches is the plain
// one-store-per-layer cache.
type Cache interface {
	// KV returns attention layer i's key/value store (nil: layer i keeps
	// none, and attends only to its inputs).
	KV(i int) KVCache
}

// KVCache keeps one attention layer's keys and values across calls.
type KVCache interface {
	// Append stores the keys and values of the new positions, k and v
	// [B, KVHeads, T, HeadDim], and returns the keys and values the new
	// queries attend over, [B, KVHeads, S, HeadDim]: a contiguous run of
	// positions ending with the new ones (views; valid until the next
	// Append).
	Append(k, v *tensor.Tensor) (keys, values *tensor.Tensor)
	// Len returns the number of positions appended so far.
	Len() int
}

// KVCaches is a Cache with one store per layer (nil entries for layers
// without attention).
type KVCaches []KVCache

// KV returns store i.
func (c KVCaches) KV(i int) KVCache {
	if i < 0 || i >= len(c) {
		return nil
	}
	return c[i]
}

// SeqCaches is the Cache of a batch whose rows are separate sequences
// (Ctx.Positions set): row b appends to and attends over SeqCaches[b]
// only, a batch-1 cache of its own (a model's NewCache(1, capacity)), so
// sequences of different lengths decode in one forward.
type SeqCaches []Cache

// KV returns layer i's stores as a RowKV (nil when row 0 keeps none for
// layer i, as then no row does).
func (c SeqCaches) KV(i int) KVCache {
	if len(c) == 0 || c[0].KV(i) == nil {
		return nil
	}
	return RowKV{Caches: c, Layer: i}
}

// RowKV is what SeqCaches gives attention layer Layer: one store per batch
// row. It is not itself a store: an attention layer that attends row by
// row (Attention) asks it for each row's store with Row; any other layer
// calling Append fails loudly rather than mixing the sequences.
type RowKV struct {
	Caches SeqCaches
	Layer  int
}

// Row returns batch row b's store.
func (r RowKV) Row(b int) KVCache { return r.Caches[b].KV(r.Layer) }

// Append panics: a batch of separate sequences is attended row by row.
func (r RowKV) Append(k, v *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	panic(fmt.Sprintf("nn: attention layer %d cannot attend a batch of separate sequences (SeqCaches with Ctx.Positions); only nn.Attention can", r.Layer))
}

// Len panics, as Append does: each row has its own length.
func (r RowKV) Len() int {
	panic(fmt.Sprintf("nn: attention layer %d: a batch of separate sequences has one length per row", r.Layer))
}

// FullKV keeps every position up to a fixed capacity, preallocated.
type FullKV struct {
	K, V *tensor.Tensor // [B, KVHeads, capacity, HeadDim]
	n    int
}

// NewFullKV returns an empty store for batch rows of kvHeads×headDim keys
// and values, up to capacity positions.
func NewFullKV(batch, kvHeads, capacity, headDim int) *FullKV {
	return &FullKV{K: tensor.Zeros(batch, kvHeads, capacity, headDim), V: tensor.Zeros(batch, kvHeads, capacity, headDim)}
}

// Append copies k and v in and returns every position stored.
func (c *FullKV) Append(k, v *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	T := k.Dim(2)
	if c.n+T > c.K.Dim(2) {
		panic(fmt.Sprintf("nn: KV cache of %d positions is full (%d + %d)", c.K.Dim(2), c.n, T))
	}
	c.K.Slice(2, c.n, c.n+T).CopyFrom(k)
	c.V.Slice(2, c.n, c.n+T).CopyFrom(v)
	c.n += T
	return c.K.Slice(2, 0, c.n), c.V.Slice(2, 0, c.n)
}

// Len returns the positions stored.
func (c *FullKV) Len() int { return c.n }

// Capacity returns the most positions the store holds.
func (c *FullKV) Capacity() int { return c.K.Dim(2) }

// Bytes returns the memory the store holds.
func (c *FullKV) Bytes() int64 { return int64(c.K.Numel()+c.V.Numel()) * int64(c.K.DType().Size()) }

// SlidingKV keeps only what a sliding-window attention layer can still
// see: the last Window−1 positions before the new ones (and the new ones),
// so memory does not grow with the sequence. Older positions are dropped by
// moving the kept ones to the front when the buffer fills.
type SlidingKV struct {
	Window int
	k, v   *tensor.Tensor // [B, KVHeads, room, HeadDim]
	start  int            // buffer row 0 holds position start
	n      int            // positions appended
}

// NewSlidingKV returns an empty store for a layer with the given window,
// sized for chunks of up to chunk new positions per call (larger chunks
// grow it).
func NewSlidingKV(batch, kvHeads, window, chunk, headDim int) *SlidingKV {
	room := 2*window + chunk
	return &SlidingKV{Window: window, k: tensor.Zeros(batch, kvHeads, room, headDim), v: tensor.Zeros(batch, kvHeads, room, headDim)}
}

// Append stores k and v and returns the positions the new queries can
// see: from Window−1 before the first new one to the last.
func (c *SlidingKV) Append(k, v *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	T := k.Dim(2)
	keep := min(c.Window-1, c.n) // positions before the new ones still visible
	used := c.n - c.start        // rows in use
	room := c.k.Dim(2)
	if used+T > room {
		// Move the last keep rows to the front (growing for a large chunk).
		if keep+T > room {
			room = 2*(keep+T) + c.Window
		}
		nk, nv := tensor.Zeros(c.k.Dim(0), c.k.Dim(1), room, c.k.Dim(3)), tensor.Zeros(c.v.Dim(0), c.v.Dim(1), room, c.v.Dim(3))
		nk.Slice(2, 0, keep).CopyFrom(c.k.Slice(2, used-keep, used))
		nv.Slice(2, 0, keep).CopyFrom(c.v.Slice(2, used-keep, used))
		c.k, c.v = nk, nv
		c.start = c.n - keep
		used = keep
	}
	c.k.Slice(2, used, used+T).CopyFrom(k)
	c.v.Slice(2, used, used+T).CopyFrom(v)
	c.n += T
	lo := used - keep
	return c.k.Slice(2, lo, used+T), c.v.Slice(2, lo, used+T)
}

// Len returns the positions appended so far (not only those kept).
func (c *SlidingKV) Len() int { return c.n }

// HalfKVCache is a store that keeps keys and values as float16 and hands
// them to attention without widening them (HalfKV); attention type-asserts
// it, and uses Append otherwise.
type HalfKVCache interface {
	KVCache
	// AppendHalf stores k and v [B, KVHeads, T, HeadDim] and returns the
	// positions the new queries attend over, as float16 views.
	AppendHalf(k, v *tensor.Tensor) (keys, values *tensor.HalfRows)
}

// HalfKV is FullKV with float16 keys and values, as llama.cpp keeps its
// cache by default: half the memory, and half the bytes each decoding step
// reads. Keys and values are rounded to f16 (to nearest, ties to even)
// when stored; attention widens them back exactly.
type HalfKV struct {
	k, v         []byte // [B, KVHeads, capacity, HeadDim] halves
	b, h, cap, d int
	n            int
}

// NewHalfKV returns an empty store, as NewFullKV.
func NewHalfKV(batch, kvHeads, capacity, headDim int) *HalfKV {
	n := 2 * batch * kvHeads * capacity * headDim
	return &HalfKV{k: make([]byte, n), v: make([]byte, n), b: batch, h: kvHeads, cap: capacity, d: headDim}
}

// AppendHalf stores k and v [B, KVHeads, T, HeadDim] (rounded to f16) and
// returns every position stored, as float16 views.
func (c *HalfKV) AppendHalf(k, v *tensor.Tensor) (keys, values *tensor.HalfRows) {
	T := k.Dim(2)
	if c.n+T > c.cap {
		panic(fmt.Sprintf("nn: KV cache of %d positions is full (%d + %d)", c.cap, c.n, T))
	}
	if sh := k.Shape(); sh[0] != c.b || sh[1] != c.h || sh[3] != c.d || !tensor.EqualShape(v.Shape(), sh) {
		panic(fmt.Sprintf("nn: keys %v and values %v for a half KV cache of [%d, %d, ·, %d]", k.Shape(), v.Shape(), c.b, c.h, c.d))
	}
	tensor.StoreHalf(c.k, c.cap, c.n, k)
	tensor.StoreHalf(c.v, c.cap, c.n, v)
	c.n += T
	return c.view(c.k), c.view(c.v)
}

func (c *HalfKV) view(raw []byte) *tensor.HalfRows {
	r, err := tensor.NewHalfRows(raw, 0, [4]int{c.b, c.h, c.n, c.d}, [3]int{c.h * c.cap * c.d, c.cap * c.d, c.d})
	if err != nil {
		panic(err.Error())
	}
	return r
}

// Append is AppendHalf returning the stored positions widened to float32
// (for attention that holds its scores: masks, soft-capping).
func (c *HalfKV) Append(k, v *tensor.Tensor) (*tensor.Tensor, *tensor.Tensor) {
	ks, vs := c.AppendHalf(k, v)
	return ks.Float32(), vs.Float32()
}

// Len returns the positions stored.
func (c *HalfKV) Len() int { return c.n }

// Capacity returns the most positions the store holds.
func (c *HalfKV) Capacity() int { return c.cap }

// Bytes returns the memory the store holds.
func (c *HalfKV) Bytes() int64 { return int64(len(c.k) + len(c.v)) }

// CopyPrefix copies the first n positions of src's stores into dst's
// empty ones, layer by layer (both KVCaches whose layers hold stores of the
// same kind, FullKV or HalfKV, of the same geometry, dst's with room for
// n): a cached prompt prefix reused by a new sequence. It reports false,
// leaving dst untouched, when they are not such caches.
func CopyPrefix(dst, src Cache, n int) bool {
	d, ok1 := dst.(KVCaches)
	s, ok2 := src.(KVCaches)
	if !ok1 || !ok2 || len(d) != len(s) {
		return false
	}
	for i := range d {
		switch dk := d[i].(type) {
		case nil:
			if s[i] != nil {
				return false
			}
		case *FullKV:
			sk, ok := s[i].(*FullKV)
			if !ok || dk.Len() != 0 || sk.Len() < n || dk.Capacity() < n || !tensor.EqualShape(dk.K.Shape()[:2], sk.K.Shape()[:2]) || dk.K.Dim(3) != sk.K.Dim(3) {
				return false
			}
		case *HalfKV:
			sk, ok := s[i].(*HalfKV)
			if !ok || dk.n != 0 || sk.n < n || dk.cap < n || dk.b != sk.b || dk.h != sk.h || dk.d != sk.d {
				return false
			}
		default:
			return false
		}
	}
	for i := range d {
		switch dk := d[i].(type) {
		case *FullKV:
			sk := s[i].(*FullKV)
			dk.Append(sk.K.Slice(2, 0, n), sk.V.Slice(2, 0, n))
		case *HalfKV:
			sk := s[i].(*HalfKV)
			row := 2 * dk.d // bytes per position
			for bh := range dk.b * dk.h {
				copy(dk.k[bh*dk.cap*row:][:n*row], sk.k[bh*sk.cap*row:][:n*row])
				copy(dk.v[bh*dk.cap*row:][:n*row], sk.v[bh*sk.cap*row:][:n*row])
			}
			dk.n = n
		}
	}
	return true
}
