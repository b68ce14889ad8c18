package convert

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/dtype"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// WriteRandom writes a Hugging Face model directory for c with seeded
// random weights (matrices from N(0, initializer_range²), norm gains 1,
// biases 0) stored as dt, in shards of at most shardBytes (0: a single
// model.safetensors), holding no more than one shard in memory — so models
// far larger than memory (a Llama-3-8B shape, for benchmarks and for
// testing the loaders) can be made without weights to download. progress,
// if not nil, is called with bytes written and the total: with 0 before
// the first shard, then after each. The directory appears complete or not
// at all; it must be absent or empty.
func WriteRandom(c *decoder.Config, dir string, typ tensor.DType, seed uint64, shardBytes int64, progress func(done, total int64)) error {
	return WriteRandomWith(c, dir, typ, seed, shardBytes, progress, WriteOptions{})
}

// WriteRandomWith is WriteRandom with o: o.Force replaces an existing dir
// as a whole, o.Context stops the writing between tensors (and within
// long writes).
func WriteRandomWith(c *decoder.Config, dir string, typ tensor.DType, seed uint64, shardBytes int64, progress func(done, total int64), o WriteOptions) error {
	dt, err := safetensorsType(typ)
	if err != nil {
		return err
	}
	m, err := decoder.Build(c, nn.Init{Empty: true})
	if err != nil {
		return err
	}
	params := m.Params()
	total := int64(0)
	for _, p := range params {
		total += int64(p.Value.Numel() * dt.Size())
	}
	// Group parameters into shards in checkpoint order.
	var shards [][]int
	size := int64(0)
	for i, p := range params {
		b := int64(p.Value.Numel() * dt.Size())
		if len(shards) == 0 || (shardBytes > 0 && size+b > shardBytes && size > 0) {
			shards = append(shards, nil)
			size = 0
		}
		shards[len(shards)-1] = append(shards[len(shards)-1], i)
		size += b
	}
	return fsutil.ReplaceDir(dir, o, func(tmp string) error {
		return writeRandom(o.Ctx(), c, tmp, params, shards, total, dt, seed, progress)
	})
}

// writeRandom writes the shards, config.json and index into tmp.
func writeRandom(ctx context.Context, c *decoder.Config, tmp string, params []*autograd.Var, shards [][]int, total int64, dt safetensors.DType, seed uint64, progress func(done, total int64)) error {
	rng := tensor.NewRNG(seed)
	weightMap := map[string]string{}
	done := int64(0)
	if progress != nil {
		progress(0, total) // before any work, so that a bar's clock starts now
	}
	for si, idx := range shards {
		name := WeightsFile
		if len(shards) > 1 {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", si+1, len(shards))
		}
		var ts []safetensors.Tensor
		for _, i := range idx {
			if err := ctx.Err(); err != nil {
				return err
			}
			p := params[i]
			v := p.Value
			if v.IsEmpty() {
				var err error
				if v, err = normal(ctx, rng, c.InitializerRange, p.Shape()); err != nil {
					return err
				}
			}
			t, err := safetensors.FromTensor(p.Name, v, dt)
			if err != nil {
				return err
			}
			ts = append(ts, t)
			weightMap[p.Name] = name
		}
		if err := saveTensors(ctx, filepath.Join(tmp, name), ts, map[string]string{"format": "pt"}); err != nil {
			return err
		}
		for _, t := range ts {
			done += int64(len(t.Data))
		}
		if progress != nil {
			progress(done, total)
		}
	}
	cfg := *c
	if d, ok := dtype.FromSafetensors(string(dt)); ok {
		cfg.TorchDtype = d.Info().Torch
	}
	if err := fsutil.WriteFile(filepath.Join(tmp, ConfigFile), cfg.JSON()); err != nil {
		return err
	}
	if len(shards) > 1 {
		b, _ := json.MarshalIndent(map[string]any{"metadata": map[string]any{"total_size": total}, "weight_map": weightMap}, "", "  ")
		if err := fsutil.WriteFile(filepath.Join(tmp, IndexFile), append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

// normal is tensor.Normal(rng, 0, std, shape...) — the same values — made
// in pieces with ctx checked between them, so that even the embedding of a
// large vocabulary stops promptly.
func normal(ctx context.Context, rng *tensor.RNG, std float64, shape []int) (*tensor.Tensor, error) {
	t := tensor.Zeros(shape...)
	f := t.F32()
	for len(f) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		k := min(len(f), 1<<22)
		for i := range f[:k] {
			f[i] = float32(std * rng.Normal())
		}
		f = f[k:]
	}
	return t, nil
}
