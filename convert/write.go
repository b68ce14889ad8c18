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
// treat their destination.
type WriteOptions struct {
	// Force replaces an existing destination as a whole: none of its old
	// files survive. Without it the destination must be absent, or an
	// empty directory; anything else is refused with an error naming what
	// it holds.
	Force bool
	// Context, when canceled, stops the write between tensors (and within
	// long ones); the partial output is removed, the destination is left
	// as it was and the error wraps context.Canceled. nil: never canceled.
	Context context.Context
}

func (o WriteOptions) ctx() context.Context {
	if o.Context == nil {
		return context.Background()
	}
	return o.Context
}

func (o WriteOptions) fs() fsutil.Options {
	return fsutil.Options{Force: o.Force, Context: o.Context}
}

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
