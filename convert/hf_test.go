package convert

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/tensor"
)

// Fixtures under testdata/hf are tiny random Hugging Face checkpoints
// (Llama, Mistral, Qwen2) with logits from hf_reference.py, a plain-PyTorch
// forward pass written to transformers' semantics. See testdata/hf/README.md
// for how they are made and what each one exercises.

// hfTightTol bounds |loom − reference| for the float32 and weights modes
// (the reference computes in float32 from the same weights, as loom does);
// logits are of magnitude ~1–9 and the differences seen are ~1e-6.
const hfTightTol = 2e-5

// hfBF16Tol bounds |loom − reference| for the bfloat16 mode: transformers
// running the checkpoint in bfloat16 (bf16 weights and activations), against
// which loom's float32 compute differs by bf16 rounding, ~0.07 at most seen.
const hfBF16Tol = 0.15

// hfExpected is a fixture's expected.json.
type hfExpected struct {
	IDs    []int                  `json:"ids"`
	Modes  []string               `json:"modes"`
	Logits map[string][][]float32 `json:"logits"`
}

// TestHFReference loads every fixture with Load and compares loom's logits
// with the reference's, per mode.
func TestHFReference(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "hf", "*", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no fixtures under testdata/hf; run gen_hf.py there")
	}
	for _, path := range paths {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var exp hfExpected
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &exp); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if len(exp.Modes) == 0 || len(exp.Modes) != len(exp.Logits) {
				t.Fatalf("%s: modes %v but logits for %d modes", path, exp.Modes, len(exp.Logits))
			}
			m, err := Load(dir)
			if err != nil {
				t.Fatalf("Load(%s): %v", dir, err)
			}
			T, V := len(exp.IDs), m.Config.VocabSize
			var out *autograd.Var
			autograd.NoGrad(func() { out = m.Forward(nil, exp.IDs, 1, T) })
			if s := out.Value.Shape(); len(s) != 3 || s[0] != 1 || s[1] != T || s[2] != V {
				t.Fatalf("logits shape %v, want [1 %d %d]", s, T, V)
			}
			got := tensor.Data[float32](out.Value.Contiguous())
			for _, mode := range exp.Modes {
				want, ok := exp.Logits[mode]
				if !ok {
					t.Fatalf("%s: no logits for mode %q", path, mode)
				}
				if len(want) != T {
					t.Fatalf("%s: mode %s has %d positions for %d ids", path, mode, len(want), T)
				}
				st := compareLogits(got, want, V)
				t.Logf("%-8s max |Δ| %.3g at position %d token %d (loom %.6g, reference %.6g); mean |Δ| %.3g; argmax agrees at %d/%d positions",
					mode, st.maxAbs, st.pos, st.tok, st.got, st.want, st.meanAbs, st.argmaxAgree, T)
				switch mode {
				case "float32", "weights":
					if st.maxAbs > hfTightTol {
						t.Errorf("%s mode: max |Δlogit| %.3g > %g, first from position %d on: %s",
							mode, st.maxAbs, hfTightTol, st.firstBad(hfTightTol), st.perPosition())
					}
				case "bfloat16":
					if st.maxAbs > hfBF16Tol {
						t.Errorf("bfloat16 mode: max |Δlogit| %.3g > %g: %s", st.maxAbs, hfBF16Tol, st.perPosition())
					}
					// Where the reference's best logit leads the runner-up by more
					// than twice the tolerance, the argmax cannot legitimately flip.
					if len(st.clearMiss) > 0 {
						t.Errorf("bfloat16 mode: argmax differs at positions %v, whose top-2 margin exceeds %g", st.clearMiss, 2*hfBF16Tol)
					}
					if st.argmaxAgree*4 < T*3 {
						t.Errorf("bfloat16 mode: argmax agrees at only %d of %d positions", st.argmaxAgree, T)
					}
				default:
					t.Errorf("%s: unknown mode %q", path, mode)
				}
			}
		})
	}
}

type logitStats struct {
	maxAbs, meanAbs float64
	pos, tok        int
	got, want       float32
	posMax          []float64 // max |Δ| per position
	argmaxAgree     int
	clearMiss       []int // positions where argmax differs despite a wide margin
}

func compareLogits(got []float32, want [][]float32, V int) logitStats {
	st := logitStats{posMax: make([]float64, len(want))}
	var sum float64
	for p, row := range want {
		if len(row) != V {
			panic(fmt.Sprintf("position %d has %d logits, vocabulary is %d", p, len(row), V))
		}
		g := got[p*V : (p+1)*V]
		for v := range V {
			d := math.Abs(float64(g[v]) - float64(row[v]))
			sum += d
			st.posMax[p] = max(st.posMax[p], d)
			if d > st.maxAbs || math.IsNaN(d) {
				st.maxAbs, st.pos, st.tok, st.got, st.want = d, p, v, g[v], row[v]
			}
		}
		ga, wa := argmax(g), argmax(row)
		if ga == wa {
			st.argmaxAgree++
		} else if margin(row) > 2*hfBF16Tol {
			st.clearMiss = append(st.clearMiss, p)
		}
	}
	st.meanAbs = sum / float64(len(want)*V)
	return st
}

// firstBad returns the first position whose max |Δ| exceeds tol (errors at
// position 0 only point at per-token parts; errors only after some position
// point at attention: a window, positions, the mask).
func (st logitStats) firstBad(tol float64) int {
	for p, d := range st.posMax {
		if d > tol {
			return p
		}
	}
	return -1
}

func (st logitStats) perPosition() string {
	s := "max |Δ| per position ["
	for p, d := range st.posMax {
		if p > 0 {
			s += " "
		}
		s += fmt.Sprintf("%.2g", d)
	}
	return s + "]"
}

func argmax(xs []float32) int {
	best := 0
	for i, x := range xs {
		if x > xs[best] {
			best = i
		}
	}
	return best
}

// margin returns the gap between the largest and second-largest values.
func margin(xs []float32) float64 {
	a, b := math.Inf(-1), math.Inf(-1)
	for _, x := range xs {
		switch v := float64(x); {
		case v > a:
			a, b = v, a
		case v > b:
			b = v
		}
	}
	return a - b
}
