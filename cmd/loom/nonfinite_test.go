package main

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/eval"
	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

const nfModel = "../../convert/testdata/hf/loom-trained"

// copyModel copies the tiny trained model directory to a new directory.
func copyModel(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "model")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(nfModel)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(nfModel, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// poke overwrites the bytes at off in the file at path with b.
func poke(t *testing.T, path string, off int64, b []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copy(data[off:], b)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// pokeF32 sets elements from..to-1 of the F32 tensor name in a safetensors
// file to v.
func pokeF32(t *testing.T, path, name string, from, to int, v float32) {
	t.Helper()
	f, err := safetensors.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	in, ok := f.Info(name)
	off := f.DataOffset() + in.Begin
	f.Close()
	if !ok || in.DType != safetensors.F32 {
		t.Fatalf("%s: no F32 tensor %s", path, name)
	}
	var b []byte
	for range to - from {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	poke(t, path, off+4*int64(from), b)
}

// ggufModel exports the tiny trained model as an f32 GGUF file.
func ggufModel(t *testing.T) string {
	t.Helper()
	m, err := convert.Load(nfModel)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.gguf")
	if err := convert.ExportGGUF(m, path, tokenizer.Byte{}, tensor.Float32, "tiny"); err != nil {
		t.Fatal(err)
	}
	return path
}

// ggufTensor returns where the named tensor's data starts in a GGUF file,
// and the offset and size of the whole tensor data section.
func ggufTensor(t *testing.T, path, name string) (off, dataOff, dataLen int64) {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, ok := f.Tensor(name)
	if !ok {
		t.Fatalf("%s: no tensor %s", path, name)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return f.DataOffset + int64(info.Offset), f.DataOffset, st.Size() - f.DataOffset
}

func runLoom(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

// TestNonFiniteWeights checks the CLI on models with NaN or infinite
// weights: generate and eval fail at load naming the file, the tensor and
// the element; inspect stays metadata-only and succeeds; inspect --check
// reads the data, lists the tensor and fails.
func TestNonFiniteWeights(t *testing.T) {
	text := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 8)), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		make   func(t *testing.T) string
		tensor string // as inspect lists it
		want   string // in the load error
		count  int    // non-finite values inspect --check counts in tensor (-1: don't check)
	}{
		{"safetensors NaN", func(t *testing.T) string {
			dir := copyModel(t)
			pokeF32(t, filepath.Join(dir, convert.WeightsFile), "model.layers.1.mlp.up_proj.weight", 1234, 1235, float32(math.NaN()))
			return dir
		}, "model.layers.1.mlp.up_proj.weight", "model.safetensors: tensor model.layers.1.mlp.up_proj.weight: element 1234 is NaN (the file is corrupt)", 1},
		{"gguf +Inf", func(t *testing.T) string {
			path := ggufModel(t)
			off, _, _ := ggufTensor(t, path, "blk.0.ffn_down.weight")
			poke(t, path, off+4*40, binary.LittleEndian.AppendUint32(nil, 0x7f800000))
			poke(t, path, off+4*41, binary.LittleEndian.AppendUint32(nil, 0xffc00000))
			return path
		}, "blk.0.ffn_down.weight", "model.gguf: tensor blk.0.ffn_down.weight (model.layers.0.mlp.down_proj.weight): element 40 is +Inf, one of 2 non-finite values (the file is corrupt)", 2},
		{"gguf random bytes", func(t *testing.T) string {
			// The file: valid headers, random tensor data.
			path := ggufModel(t)
			_, dataOff, n := ggufTensor(t, path, "token_embd.weight")
			r := rand.New(rand.NewPCG(19, 8))
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			poke(t, path, dataOff, b)
			return path
		}, "", "(the file is corrupt)", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			model := tc.make(t)
			for _, args := range [][]string{
				{"generate", "--model", model, "--prompt", "the", "--max-tokens", "4"},
				{"eval", "--model", model, "--data", text},
				{"eval", "--model", model, "--data", text, "--json"},
				{"eval", "--model", model, "--data", text, "--dtype", "q8_0"},
			} {
				code, out, errs := runLoom(args...)
				if code != 1 || out != "" || !strings.Contains(errs, tc.want) {
					t.Errorf("loom %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(args, " "), code, out, errs, tc.want)
				}
			}
			if code, _, errs := runLoom("inspect", model); code != 0 {
				t.Errorf("inspect (metadata only): exit %d, %s", code, errs)
			}
			code, out, errs := runLoom("inspect", model, "--check")
			if code != 1 || !strings.Contains(errs, "hold NaNs or infinities (the file is corrupt)") || !strings.Contains(errs, tc.tensor) {
				t.Errorf("inspect --check: exit %d, stderr %q; want exit 1 naming %s", code, errs, tc.tensor)
			}
			if tc.count > 0 && !strings.Contains(out, tc.tensor) {
				t.Errorf("inspect --check does not list %s:\n%s", tc.tensor, out)
			}
			code, out, _ = runLoom("inspect", model, "--check", "--json")
			var in struct {
				Tensors []struct {
					Name      string `json:"name"`
					NonFinite *int   `json:"non_finite"`
					First     string `json:"first_non_finite"`
				} `json:"tensors"`
				Check *checkSummary `json:"check"`
			}
			if err := json.Unmarshal([]byte(out), &in); err != nil || code != 1 || in.Check == nil || in.Check.NonFinite == 0 {
				t.Fatalf("inspect --check --json: exit %d, %v, %s", code, err, out)
			}
			for _, r := range in.Tensors {
				if r.NonFinite == nil {
					t.Errorf("inspect --check --json: %s has no non_finite count", r.Name)
				} else if r.Name == tc.tensor && tc.count >= 0 && *r.NonFinite != tc.count {
					t.Errorf("inspect --check --json: %s has %d non-finite values (%s), want %d", r.Name, *r.NonFinite, r.First, tc.count)
				}
			}
		})
	}
}

// TestInspectCheckFinite checks that inspect --check passes a sound model
// directory and GGUF file, and that plain inspect reports no check.
func TestInspectCheckFinite(t *testing.T) {
	for _, model := range []string{nfModel, ggufModel(t)} {
		code, out, errs := runLoom("inspect", model, "--check")
		if code != 0 || !strings.Contains(out, "tensors checked: all finite") {
			t.Errorf("inspect %s --check: exit %d, %s%s", model, code, out, errs)
		}
		code, out, _ = runLoom("inspect", model, "--json")
		if code != 0 || strings.Contains(out, "non_finite") || strings.Contains(out, `"check"`) {
			t.Errorf("inspect %s --json: exit %d, reports a check:\n%s", model, code, out)
		}
	}
}

// TestEvalNonFiniteLoss evaluates a model whose weights are finite but
// overflow in the forward pass (a final norm gain of 3e38): the loss is
// NaN. eval prints the report saying so, in text and in JSON (null and
// non_finite), then exits with status 1 naming the cause.
func TestEvalNonFiniteLoss(t *testing.T) {
	dir := copyModel(t)
	pokeF32(t, filepath.Join(dir, convert.WeightsFile), "model.norm.weight", 0, 32, 3e38)
	text := filepath.Join(t.TempDir(), "text.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("the quick brown fox jumps over the lazy dog. ", 4)), 0o644); err != nil {
		t.Fatal(err)
	}
	const cause = "text.txt: the loss is NaN over "
	code, out, errs := runLoom("eval", "--model", dir, "--data", text)
	if code != 1 || !strings.HasPrefix(out, "loss NaN (non-finite: the model produces NaN or infinite values on this data), perplexity NaN") ||
		!strings.Contains(errs, cause) || !strings.Contains(errs, "activations overflow") {
		t.Fatalf("eval: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, out, errs = runLoom("eval", "--model", dir, "--data", text, "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil || code != 1 || !strings.Contains(errs, cause) {
		t.Fatalf("eval --json: exit %d, %v, stdout %q, stderr %q", code, err, out, errs)
	}
	nf, _ := got["non_finite"].(map[string]any)
	if v, ok := got["loss"]; !ok || v != nil || nf["loss"] != "NaN" || nf["perplexity"] != "NaN" || got["tokens"].(float64) < 1 {
		t.Fatalf("eval --json: %s", out)
	}
}

// TestEvalReport checks the rendering of finite and non-finite results.
func TestEvalReport(t *testing.T) {
	for _, tc := range []struct {
		name     string
		res      eval.Result
		text     string
		json     string // a fragment of the JSON
		nonFinit map[string]string
		err      bool
	}{
		{"finite", eval.Result{Tokens: 10, Loss: 2, Perplexity: math.Exp(2), BitsPerByte: 1.5, SeqLen: 8, Stride: 4},
			"loss 2.0000 nats/token, perplexity 7.389, 1.5000 bits/byte over 10 tokens (window 8, stride 4)\n", `"loss": 2,`, nil, false},
		{"NaN", eval.Result{Tokens: 10, Loss: math.NaN(), Perplexity: math.NaN(), BitsPerByte: math.NaN(), SeqLen: 8, Stride: 4},
			"loss NaN (non-finite: the model produces NaN or infinite values on this data), perplexity NaN, NaN bits/byte over 10 tokens (window 8, stride 4)\n",
			`"loss": null,`, map[string]string{"loss": "NaN", "perplexity": "NaN", "bits_per_byte": "NaN"}, true},
		{"+Inf", eval.Result{Tokens: 10, Loss: math.Inf(1), Perplexity: math.Inf(1), BitsPerByte: math.Inf(1), SeqLen: 8, Stride: 4},
			"loss +Inf (non-finite: the model produces NaN or infinite values on this data), perplexity +Inf, +Inf bits/byte over 10 tokens (window 8, stride 4)\n",
			`"loss": null,`, map[string]string{"loss": "+Inf", "perplexity": "+Inf", "bits_per_byte": "+Inf"}, true},
		{"finite loss, perplexity beyond float64", eval.Result{Tokens: 10, Loss: 800, Perplexity: math.Inf(1), BitsPerByte: 900, SeqLen: 8, Stride: 4},
			"loss 800.0000 nats/token, perplexity +Inf, 900.0000 bits/byte over 10 tokens (window 8, stride 4)\n",
			`"perplexity": null,`, map[string]string{"perplexity": "+Inf"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var text, js bytes.Buffer
			if err := writeEvalReport(&text, tc.res, nil, false); err != nil || text.String() != tc.text {
				t.Errorf("text: %v, %q; want %q", err, text.String(), tc.text)
			}
			if err := writeEvalReport(&js, tc.res, []eval.TaskResult{{Task: "lastword", Items: 3}}, true); err != nil {
				t.Fatalf("json: %v", err)
			}
			var got struct {
				Tokens    int               `json:"tokens"`
				NonFinite map[string]string `json:"non_finite"`
				Tasks     []eval.TaskResult `json:"tasks"`
			}
			if err := json.Unmarshal(js.Bytes(), &got); err != nil || !strings.Contains(js.String(), tc.json) || got.Tokens != 10 || len(got.Tasks) != 1 {
				t.Fatalf("json: %v\n%s", err, js.String())
			}
			if len(got.NonFinite) != len(tc.nonFinit) {
				t.Fatalf("non_finite %v, want %v", got.NonFinite, tc.nonFinit)
			}
			for k, v := range tc.nonFinit {
				if got.NonFinite[k] != v {
					t.Fatalf("non_finite %v, want %v", got.NonFinite, tc.nonFinit)
				}
			}
			if err := evalLossErr("x", tc.res); (err != nil) != tc.err {
				t.Fatalf("evalLossErr: %v, want an error: %v", err, tc.err)
			}
		})
	}
}
