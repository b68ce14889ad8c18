package encoder

import (
	"math"

	"github.com/loomml/loom/audio"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/tensor"
)

// TextExamples are tokenised texts with labels, batched for a BERT
// (train.Examples): each batch pads its rows on the right to its longest,
// with Lengths for the attention mask.
type TextExamples struct {
	IDs    [][]int // one row per example, at most max_position_embeddings
	Labels []int
	Pad    int // the padding token
}

// Len is the number of examples.
func (e *TextExamples) Len() int { return len(e.IDs) }

// Label is example i's class.
func (e *TextExamples) Label(i int) int { return e.Labels[i] }

// Batch returns the examples idx as one batch.
func (e *TextExamples) Batch(idx []int) Batch {
	b := padded(e.IDs, idx, e.Pad)
	b.Labels = make([]int, len(idx))
	for r, i := range idx {
		b.Labels[r] = e.Labels[i]
	}
	return b
}

// padded batches rows idx, right-padded with pad to the longest, with
// their lengths (at least 1, so an empty row still attends to a key).
func padded(rows [][]int, idx []int, pad int) Batch {
	T := 1
	for _, i := range idx {
		T = max(T, len(rows[i]))
	}
	b := Batch{B: len(idx), T: T, IDs: make([]int, len(idx)*T), Lengths: make([]int, len(idx))}
	for r, i := range idx {
		row := b.IDs[r*T : (r+1)*T]
		for j := range row {
			row[j] = pad
		}
		copy(row, rows[i])
		b.Lengths[r] = max(1, len(rows[i]))
	}
	return b
}

// AudioExamples are normalised filterbank features with labels, batched
// for an AST.
type AudioExamples struct {
	X            []float32 // N × Frames × Bins
	Labels       []int
	Frames, Bins int
}

// Len is the number of examples.
func (e *AudioExamples) Len() int { return len(e.Labels) }

// Label is example i's class.
func (e *AudioExamples) Label(i int) int { return e.Labels[i] }

// Batch returns the examples idx as one batch.
func (e *AudioExamples) Batch(idx []int) Batch {
	n := e.Frames * e.Bins
	f := tensor.New(tensor.Float32, len(idx), e.Frames, e.Bins)
	dst := f.F32()
	labels := make([]int, len(idx))
	for r, i := range idx {
		copy(dst[r*n:(r+1)*n], e.X[i*n:(i+1)*n])
		labels[r] = e.Labels[i]
	}
	return Batch{B: len(idx), T: e.Frames, Features: f, Labels: labels}
}

// Normalise applies ASTFeatureExtractor's (x − mean) / (2·std) in place.
func (e *AudioExamples) Normalise(mean, std float64) {
	for i, v := range e.X {
		e.X[i] = float32((float64(v) - mean) / (2 * std))
	}
}

// Stats returns the mean and standard deviation of every feature value.
func (e *AudioExamples) Stats() (mean, std float64) {
	var sum, sq float64
	for _, v := range e.X {
		sum += float64(v)
		sq += float64(v) * float64(v)
	}
	n := float64(len(e.X))
	mean = sum / n
	return mean, math.Sqrt(max(0, sq/n-mean*mean))
}

// ReadAudioExamples reads WAV files as AST inputs (audio.ASTFeatures,
// frames rows of 128 bins each, unnormalised), on every thread, labelled
// labels. The first file that cannot be read is the error.
func ReadAudioExamples(paths []string, labels []int, frames int) (*AudioExamples, error) {
	bins := audio.ASTFbank.Bins
	out := &AudioExamples{X: make([]float32, len(paths)*frames*bins), Labels: labels, Frames: frames, Bins: bins}
	errs := make([]error, len(paths))
	kernels.Parallel(len(paths), func(i int) {
		f, err := audio.ASTFeatures(paths[i], frames)
		if err != nil {
			errs[i] = err
			return
		}
		copy(out.X[i*frames*bins:], f)
	})
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
