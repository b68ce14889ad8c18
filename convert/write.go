package convert

import (
	"context"
	"fmt"
	"io"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// WriteOptions say how ExportHFWith, ExportGGUFWith and WriteRandomWith
// treat their destination: fsutil's one rule for every written model
// (Force replaces an existing destination as a whole; a canceled Context
// stops the write, removes the partial output and leaves the destination as
// it was, the error wrapping context.Canceled).
type WriteOptions = fsutil.Options

// saveTensors writes tensors as the safetensors file path, atomically,
// stopping when ctx is canceled.
func saveTensors(ctx context.Context, path string, ts []safetensors.Tensor, metadata map[string]string) error {
	return fsutil.WriteAtomic(path, func(w io.Writer) error {
		if err := safetensors.Encode(fsutil.ContextWriter(ctx, w), ts, metadata); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
}

// saveParams is nn.SaveParams stopping when ctx is canceled: between
// parameters as they are converted, and within the write.
func saveParams(ctx context.Context, path string, params []*autograd.Var, dt safetensors.DType, metadata map[string]string) error {
	if _, err := nn.ParamMap(params); err != nil {
		return err
	}
	ts := make([]safetensors.Tensor, 0, len(params))
	for _, p := range params {
		if err := ctx.Err(); err != nil {
			return err
		}
		t, err := safetensors.FromTensor(p.Name, p.Value, dt)
		if err != nil {
			return err
		}
		ts = append(ts, t)
	}
	return saveTensors(ctx, path, ts, metadata)
}
