// Package bank stores the memory bank of hierarchical memories (Pouransari
// et al., arXiv 2510.02375): many equally sized blocks of parameters, each
// with its AdamW moments and its own step count, in shard files on disk
// that are memory-mapped, so the bank may exceed RAM: only the blocks a
// training step or a question fetches are paged in, and only they are
// written back.
//
// A bank directory holds manifest.json and the shards it lists
// (shard-00000.bin, …). A shard is a run of fixed-size records, one per
// block, little-endian: the block's update count (uint64), its parameters,
// AdamW's first moments and second moments (float32 each). The manifest
// gives every shard's size and SHA-256; Open checks that each listed shard
// exists with its size, Verify checks the checksums, and Close rewrites the
// manifest (atomically) with the checksums of the shards as they are then.
//
// Update is AdamW restricted to one block (a "lazy" AdamW): a block's
// moments, its step count and its weight decay advance only when the block
// is updated, so a block no step fetched stays bit-identical, moments
// included.
package bank

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"unsafe"

	"github.com/loomml/loom/internal/fsutil"
)

// ManifestName is the manifest's file name in a bank directory.
const ManifestName = "manifest.json"

const headerBytes = 8 // a record's update count

// Manifest describes a bank.
type Manifest struct {
	Format         string  `json:"format"` // "loom-memory-bank/1"
	Blocks         int     `json:"blocks"`
	BlockFloats    int     `json:"block_floats"` // parameters per block
	BlocksPerShard int     `json:"blocks_per_shard"`
	Shards         []Shard `json:"shards"`
}

// Shard is one shard file of a bank.
type Shard struct {
	File   string `json:"file"`
	Blocks int    `json:"blocks"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

const format = "loom-memory-bank/1"

// RecordBytes is the size of one block's record.
func (m Manifest) RecordBytes() int64 { return headerBytes + 12*int64(m.BlockFloats) }

// Bytes is the size of the whole bank on disk, manifest aside.
func (m Manifest) Bytes() int64 { return int64(m.Blocks) * m.RecordBytes() }

// Bank is an open bank.
type Bank struct {
	dir    string
	man    Manifest
	shards []mapping
	// Fetches counts the blocks handed out by Params since Open, and
	// Updates the blocks updated: what a step touched.
	Fetches, Updates int
	dirty            bool
}

// MarkDirty records that the caller changed parameters through a Params
// view, so Close records new checksums (Update marks the bank itself).
func (b *Bank) MarkDirty() { b.dirty = true }

// Dir returns the bank's directory.
func (b *Bank) Dir() string { return b.dir }

// Manifest returns the bank's manifest (checksums as of Open or the last
// Close).
func (b *Bank) Manifest() Manifest { return b.man }

// Blocks returns the number of blocks.
func (b *Bank) Blocks() int { return b.man.Blocks }

// BlockFloats returns the parameters per block.
func (b *Bank) BlockFloats() int { return b.man.BlockFloats }

func littleEndian() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}

// Create writes a new bank of blocks blocks of blockFloats parameters into
// dir (created; it must not hold a manifest already), blocksPerShard blocks
// per shard, each block's parameters set by init (moments and counts
// zero), and opens it.
func Create(dir string, blocks, blockFloats, blocksPerShard int, init func(id int, params []float32)) (*Bank, error) {
	switch {
	case blocks < 1:
		return nil, fmt.Errorf("bank: blocks must be at least 1, have %d", blocks)
	case blockFloats < 1:
		return nil, fmt.Errorf("bank: block_floats must be at least 1, have %d", blockFloats)
	case blocksPerShard < 1:
		return nil, fmt.Errorf("bank: blocks_per_shard must be at least 1, have %d", blocksPerShard)
	}
	if !littleEndian() {
		return nil, errors.New("bank: memory-mapped banks need a little-endian machine")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); err == nil {
		return nil, fmt.Errorf("bank: %s already holds a bank (%s)", dir, ManifestName)
	}
	man := Manifest{Format: format, Blocks: blocks, BlockFloats: blockFloats, BlocksPerShard: blocksPerShard}
	rec := make([]byte, man.RecordBytes())
	params := make([]float32, blockFloats)
	for first := 0; first < blocks; first += blocksPerShard {
		n := min(blocksPerShard, blocks-first)
		sh := Shard{File: fmt.Sprintf("shard-%05d.bin", len(man.Shards)), Blocks: n, Bytes: int64(n) * man.RecordBytes()}
		h := sha256.New()
		err := fsutil.WriteAtomic(filepath.Join(dir, sh.File), func(w io.Writer) error {
			w = io.MultiWriter(w, h)
			for id := first; id < first+n; id++ {
				clear(params)
				if init != nil {
					init(id, params)
				}
				clear(rec)
				copy(unsafe.Slice((*float32)(unsafe.Pointer(&rec[headerBytes])), blockFloats), params)
				if _, err := w.Write(rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		sh.SHA256 = hex.EncodeToString(h.Sum(nil))
		man.Shards = append(man.Shards, sh)
	}
	if err := writeManifest(dir, man); err != nil {
		return nil, err
	}
	return Open(dir)
}

func writeManifest(dir string, man Manifest) error {
	js, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, ManifestName), append(js, '\n'))
}

// Open maps the bank in dir. A missing manifest or shard, or a shard of
// the wrong size, is an error naming the file.
func Open(dir string) (*Bank, error) {
	if !littleEndian() {
		return nil, errors.New("bank: memory-mapped banks need a little-endian machine")
	}
	mp := filepath.Join(dir, ManifestName)
	js, err := os.ReadFile(mp)
	if err != nil {
		return nil, fmt.Errorf("bank %s: reading %s: %w", dir, mp, err)
	}
	var man Manifest
	if err := json.Unmarshal(js, &man); err != nil {
		return nil, fmt.Errorf("bank %s: %s: %w", dir, mp, err)
	}
	if man.Format != format {
		return nil, fmt.Errorf("bank %s: %s has format %q, want %q", dir, mp, man.Format, format)
	}
	if man.Blocks < 1 || man.BlockFloats < 1 || man.BlocksPerShard < 1 {
		return nil, fmt.Errorf("bank %s: %s: blocks, block_floats and blocks_per_shard must be positive, have %d, %d, %d", dir, mp, man.Blocks, man.BlockFloats, man.BlocksPerShard)
	}
	if want := (man.Blocks + man.BlocksPerShard - 1) / man.BlocksPerShard; len(man.Shards) != want {
		return nil, fmt.Errorf("bank %s: %s lists %d shards; %d blocks of %d per shard need %d", dir, mp, len(man.Shards), man.Blocks, man.BlocksPerShard, want)
	}
	b := &Bank{dir: dir, man: man}
	for i, sh := range man.Shards {
		want := min(man.BlocksPerShard, man.Blocks-i*man.BlocksPerShard)
		if sh.Blocks != want || sh.Bytes != int64(want)*man.RecordBytes() {
			b.unmap()
			return nil, fmt.Errorf("bank %s: %s: shard %s lists %d blocks of %d bytes, want %d blocks (%d bytes)", dir, mp, sh.File, sh.Blocks, sh.Bytes, want, int64(want)*man.RecordBytes())
		}
		p := filepath.Join(dir, sh.File)
		if filepath.Base(sh.File) != sh.File {
			b.unmap()
			return nil, fmt.Errorf("bank %s: %s: shard file %q must be a plain file name", dir, mp, sh.File)
		}
		st, err := os.Stat(p)
		if err != nil {
			b.unmap()
			if errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("bank %s: shard file %s, listed in %s, is missing", dir, p, ManifestName)
			}
			return nil, fmt.Errorf("bank %s: shard file %s: %w", dir, p, err)
		}
		if st.Size() != sh.Bytes {
			b.unmap()
			return nil, fmt.Errorf("bank %s: shard file %s has %d bytes; %s says %d", dir, p, st.Size(), ManifestName, sh.Bytes)
		}
		m, err := mapFile(p, sh.Bytes)
		if err != nil {
			b.unmap()
			return nil, fmt.Errorf("bank %s: mapping shard file %s: %w", dir, p, err)
		}
		b.shards = append(b.shards, m)
	}
	return b, nil
}

func (b *Bank) unmap() error {
	var first error
	for _, m := range b.shards {
		if err := m.close(); err != nil && first == nil {
			first = err
		}
	}
	b.shards = nil
	return first
}

// record returns block id's record bytes (mapped).
func (b *Bank) record(id int) []byte {
	if id < 0 || id >= b.man.Blocks {
		panic(fmt.Sprintf("bank: block %d out of range [0, %d)", id, b.man.Blocks))
	}
	s := id / b.man.BlocksPerShard
	r := b.man.RecordBytes()
	off := int64(id%b.man.BlocksPerShard) * r
	return b.shards[s].data[off : off+r]
}

func floats(rec []byte, at, n int) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(&rec[headerBytes+4*at])), n)
}

// Params returns block id's parameters: a view of the mapped shard (the
// pages are read from disk when first touched). Writes through it change
// the bank.
func (b *Bank) Params(id int) []float32 {
	b.Fetches++
	return floats(b.record(id), 0, b.man.BlockFloats)
}

// Moments returns views of block id's AdamW first and second moments.
func (b *Bank) Moments(id int) (m, v []float32) {
	rec := b.record(id)
	n := b.man.BlockFloats
	return floats(rec, n, n), floats(rec, 2*n, n)
}

// Steps returns how many times block id has been updated.
func (b *Bank) Steps(id int) uint64 {
	return *(*uint64)(unsafe.Pointer(&b.record(id)[0]))
}

// AdamW are the optimizer settings Update applies (PyTorch's AdamW).
type AdamW struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
}

// Update applies one AdamW step to block id with gradient grad (its
// BlockFloats values), advancing the block's own step count: the bias
// corrections use how many times this block has been updated, and weight
// decay touches only this block.
func (b *Bank) Update(id int, grad []float32, o AdamW) error {
	if len(grad) != b.man.BlockFloats {
		return fmt.Errorf("bank: block %d: %d gradient values for %d parameters", id, len(grad), b.man.BlockFloats)
	}
	rec := b.record(id)
	stepp := (*uint64)(unsafe.Pointer(&rec[0]))
	*stepp++
	t := float64(*stepp)
	n := b.man.BlockFloats
	w, m, v := floats(rec, 0, n), floats(rec, n, n), floats(rec, 2*n, n)
	bc1 := 1 - math.Pow(o.Beta1, t)
	bc2 := math.Sqrt(1 - math.Pow(o.Beta2, t))
	decay := float32(1 - o.LR*o.WeightDecay)
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1, c2 := float32(1-o.Beta1), float32(1-o.Beta2)
	step := float32(o.LR / bc1)
	eps := float32(o.Eps)
	for i := range w {
		g := grad[i]
		w[i] *= decay
		m[i] = m[i]*b1 + g*c1
		v[i] = v[i]*b2 + g*g*c2
		w[i] -= step * m[i] / (float32(math.Sqrt(float64(v[i])))/float32(bc2) + eps)
	}
	b.Updates++
	b.dirty = true
	return nil
}

// Checksums returns each shard's SHA-256 as the shard is now.
func (b *Bank) Checksums() ([]string, error) {
	out := make([]string, len(b.shards))
	for i, m := range b.shards {
		if err := m.sync(); err != nil {
			return nil, fmt.Errorf("bank %s: syncing %s: %w", b.dir, b.man.Shards[i].File, err)
		}
		h := sha256.Sum256(m.data)
		out[i] = hex.EncodeToString(h[:])
	}
	return out, nil
}

// Verify checks every shard against the manifest's checksum (as of Open
// or the last Close); an error names the first shard that differs.
func (b *Bank) Verify() error {
	sums, err := b.Checksums()
	if err != nil {
		return err
	}
	for i, s := range sums {
		if s != b.man.Shards[i].SHA256 {
			return fmt.Errorf("bank %s: shard file %s does not match its checksum in %s", b.dir, filepath.Join(b.dir, b.man.Shards[i].File), ManifestName)
		}
	}
	return nil
}

// Close flushes the shards and unmaps them; when the bank changed (Update,
// MarkDirty) it first records the shards' new checksums in the manifest,
// written atomically. A bank only read keeps its manifest as it was.
func (b *Bank) Close() error {
	if b.shards == nil {
		return nil
	}
	if !b.dirty {
		return b.unmap()
	}
	sums, err := b.Checksums()
	if err != nil {
		b.unmap()
		return err
	}
	for i := range sums {
		b.man.Shards[i].SHA256 = sums[i]
	}
	if err := b.unmap(); err != nil {
		return err
	}
	return writeManifest(b.dir, b.man)
}
