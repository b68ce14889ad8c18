package quant

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/loomml/loom/dtype"
)

// fixtures is testdata/fixtures.json.gz, written by testdata/gen_fixtures.py
// from llama.cpp's own library (layout documented there).
type fixtures struct {
	LlamaCpp   string `json:"llama_cpp"`
	N          int    `json:"n"`
	Activation struct {
		X    string `json:"x"`
		Q8_0 string `json:"q8_0"`
		Q8_1 string `json:"q8_1"`
		Q8_K string `json:"q8_k"`
		// ggml's dequantisation of the Q8_0 and Q8_K blocks
		DeqQ8_0 string `json:"deq_q8_0"`
		DeqQ8_K string `json:"deq_q8_k"`
	} `json:"activation"`
	Cases []struct {
		Type   string   `json:"type"`
		GGML   int      `json:"ggml"`
		Source string   `json:"source"`
		Rows   int      `json:"rows"`
		X      string   `json:"x"`
		Input  string   `json:"input"`
		Blocks string   `json:"blocks"`
		Deq    string   `json:"deq"`
		Dots   []uint32 `json:"dots"`
	} `json:"cases"`
	Inputs map[string]string `json:"inputs"`
}

// caseX returns case i's input values: its own "x" or a shared input.
func caseX(t *testing.T, f *fixtures, i int) []float32 {
	t.Helper()
	c := f.Cases[i]
	if c.Input == "" {
		return f32s(t, c.X)
	}
	s, ok := f.Inputs[c.Input]
	if !ok {
		t.Fatalf("case %d: no input %q", i, c.Input)
	}
	return f32s(t, s)
}

var (
	fxOnce sync.Once
	fx     fixtures
	fxErr  error
)

func loadFixtures(t *testing.T) *fixtures {
	t.Helper()
	fxOnce.Do(func() {
		f, err := os.Open("testdata/fixtures.json.gz")
		if err != nil {
			fxErr = err
			return
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			fxErr = err
			return
		}
		data, err := io.ReadAll(z)
		if err != nil {
			fxErr = err
			return
		}
		fxErr = json.Unmarshal(data, &fx)
	})
	if fxErr != nil {
		t.Fatalf("fixtures: %v", fxErr)
	}
	return &fx
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func f32s(t *testing.T, s string) []float32 {
	b := b64(t, s)
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func parseType(t *testing.T, name string) dtype.DType {
	t.Helper()
	d, err := dtype.Parse(name)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// activation returns the fixture's activation blocks in format at.
func activation(t *testing.T, f *fixtures, at dtype.DType) []byte {
	switch at {
	case dtype.Q8_0:
		return b64(t, f.Activation.Q8_0)
	case dtype.Q8_1:
		return b64(t, f.Activation.Q8_1)
	case dtype.Q8_K:
		return b64(t, f.Activation.Q8_K)
	}
	t.Fatalf("no activation for %v", at)
	return nil
}

// TestFixturesCoverEveryType: every weight type has a case cut from a file
// llama_model_quantize wrote, and the GGML numbers agree with dtype's table.
func TestFixturesCoverEveryType(t *testing.T) {
	f := loadFixtures(t)
	fromFile := map[dtype.DType]bool{}
	for _, c := range f.Cases {
		d := parseType(t, c.Type)
		if d.Info().GGML != c.GGML {
			t.Errorf("%s: fixture ggml type %d, dtype table %d", c.Type, c.GGML, d.Info().GGML)
		}
		var ftype int
		if _, err := fmt.Sscanf(c.Source, "llama_model_quantize ftype %d,", &ftype); err == nil {
			fromFile[d] = true
			// every type's case comes from the file of its own ftype (the _M
			// mix for k-quants), dtype's FileType column
			if ftype != d.Info().FileType {
				t.Errorf("%s: cut from a file of ftype %d, dtype's FileType is %d", c.Type, ftype, d.Info().FileType)
			}
		}
	}
	for _, d := range []dtype.DType{dtype.Q4_0, dtype.Q4_1, dtype.Q5_0, dtype.Q5_1, dtype.Q8_0,
		dtype.Q2_K, dtype.Q3_K, dtype.Q4_K, dtype.Q5_K, dtype.Q6_K} {
		if !fromFile[d] {
			t.Errorf("no fixture from a llama.cpp-quantised file for %v", d)
		}
	}
}

// TestQuantizeMatchesLlamaCpp: Quantize gives llama.cpp's bytes exactly, for
// rows cut from llama_model_quantize's files and for the synthetic rows.
func TestQuantizeMatchesLlamaCpp(t *testing.T) {
	f := loadFixtures(t)
	for i, c := range f.Cases {
		d := parseType(t, c.Type)
		got, err := Quantize(d, caseX(t, f, i))
		if err != nil {
			t.Fatalf("%s %s: %v", c.Type, c.Source, err)
		}
		want := b64(t, c.Blocks)
		if !bytes.Equal(got, want) {
			bs := d.Info().BlockBytes
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("%s (%s): byte %d (block %d, offset %d) = %#02x, llama.cpp %#02x", c.Type, c.Source, i, i/bs, i%bs, got[i], want[i])
					break
				}
			}
		}
	}
}

// TestDequantizeMatchesLlamaCpp: Dequantize of llama.cpp's blocks equals
// ggml's dequantize_row_* bit for bit.
func TestDequantizeMatchesLlamaCpp(t *testing.T) {
	f := loadFixtures(t)
	checked := 0
	for _, c := range f.Cases {
		if c.Deq == "" {
			continue
		}
		checked++
		d := parseType(t, c.Type)
		want := f32s(t, c.Deq)
		got := make([]float32, len(want))
		if err := Dequantize(d, b64(t, c.Blocks), got); err != nil {
			t.Fatalf("%s: %v", c.Type, err)
		}
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("%s (%s): value %d = %g, ggml %g", c.Type, c.Source, i, got[i], want[i])
				break
			}
		}
	}
	if checked < 80 {
		t.Errorf("only %d cases with dequantised values", checked)
	}
}

// TestActivationQuantizers: quantize_row_q8_0/q8_1/q8_K_ref bytes.
func TestActivationQuantizers(t *testing.T) {
	f := loadFixtures(t)
	x := f32s(t, f.Activation.X)
	for _, at := range []dtype.DType{dtype.Q8_0, dtype.Q8_1, dtype.Q8_K} {
		got, err := Quantize(at, x)
		if err != nil {
			t.Fatal(err)
		}
		if want := activation(t, f, at); !bytes.Equal(got, want) {
			t.Errorf("%v: activation blocks differ from llama.cpp's", at)
		}
		// and they widen back to within half a step of x, bit for bit as
		// ggml's dequantize_row_q8_0/_q8_K (ggml has none for Q8_1)
		y := make([]float32, len(x))
		if err := Dequantize(at, got, y); err != nil {
			t.Fatal(err)
		}
		want := map[dtype.DType]string{dtype.Q8_0: f.Activation.DeqQ8_0, dtype.Q8_K: f.Activation.DeqQ8_K}[at]
		if want != "" {
			for i, w := range f32s(t, want) {
				if math.Float32bits(w) != math.Float32bits(y[i]) {
					t.Errorf("%v: value %d = %g, ggml %g", at, i, y[i], w)
					break
				}
			}
		} else if at != dtype.Q8_1 {
			t.Errorf("%v: no dequantised activation in the fixtures", at)
		}
		for i := range x {
			if math.Abs(float64(y[i]-x[i])) > 0.6*3.0/127 {
				t.Errorf("%v: value %d widens to %g, was %g", at, i, y[i], x[i])
				break
			}
		}
	}
}

// TestDotMatchesLlamaCpp: Dot equals ggml_vec_dot_*_generic bit for bit and
// lies within 2e-6·Σ|w·a| of a float64 sum over the dequantised values.
func TestDotMatchesLlamaCpp(t *testing.T) {
	f := loadFixtures(t)
	n := f.N
	for _, c := range f.Cases {
		d := parseType(t, c.Type)
		at, ok := Activation(d)
		if !ok {
			t.Fatalf("%v has no activation type", d)
		}
		act := activation(t, f, at)
		aval := make([]float32, n)
		if err := Dequantize(at, act, aval); err != nil {
			t.Fatal(err)
		}
		blocks := b64(t, c.Blocks)
		rb, _ := RowBytes(d, n)
		for r := 0; r < c.Rows; r++ {
			row := blocks[r*rb : (r+1)*rb]
			got, err := Dot(d, row, act, n)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float32bits(got) != c.Dots[r] {
				t.Errorf("%s (%s) row %d: Dot %g, ggml %g", c.Type, c.Source, r, got, math.Float32frombits(c.Dots[r]))
			}
			w := make([]float32, n)
			if err := Dequantize(d, row, w); err != nil {
				t.Fatal(err)
			}
			var ref, mag float64
			for i := range w {
				ref += float64(w[i]) * float64(aval[i])
				mag += math.Abs(float64(w[i]) * float64(aval[i]))
			}
			if at == dtype.Q8_1 {
				// ggml uses the block's f16 s = d·Σq for the min term.
				bs := d.Info().BlockBytes
				for b := 0; b < n/32; b++ {
					y := act[b*36 : (b+1)*36]
					sum := 0
					for j := 0; j < 32; j++ {
						sum += int(int8(y[4+j]))
					}
					m := float64(f16(row[b*bs+2:]))
					ref += m * (float64(f16(y[2:])) - float64(f16(y))*float64(sum))
					mag += math.Abs(m * float64(f16(y[2:])))
				}
			}
			if diff := math.Abs(float64(got) - ref); diff > 2e-6*mag+1e-30 {
				t.Errorf("%s (%s) row %d: Dot %g, float64 %g (|diff| %g > %g)", c.Type, c.Source, r, got, ref, diff, 2e-6*mag)
			}
		}
	}
}

// TestBadInput: wrong sizes and types are errors naming the type and sizes.
func TestBadInput(t *testing.T) {
	q4k := make([]byte, 144)
	act := make([]byte, 292)
	cases := []struct {
		name string
		run  func() error
		want []string
	}{
		{"truncated block", func() error { return Dequantize(dtype.Q4_K, q4k[:143], make([]float32, 256)) }, []string{"q4_k", "256 values", "144 bytes", "have 143"}},
		{"extra bytes", func() error { return Dequantize(dtype.Q6_K, make([]byte, 211), make([]float32, 256)) }, []string{"q6_k", "210 bytes", "have 211"}},
		{"partial block of values", func() error { return Dequantize(dtype.Q4_0, make([]byte, 18), make([]float32, 31)) }, []string{"q4_0", "31 values", "32-value blocks"}},
		{"row not a multiple of 256", func() error { _, err := Quantize(dtype.Q5_K, make([]float32, 192)); return err }, []string{"q5_k", "192 values", "256-value blocks"}},
		{"quantize into short buffer", func() error { return QuantizeInto(dtype.Q8_0, make([]byte, 33), make([]float32, 32)) }, []string{"q8_0", "34 bytes", "have 33"}},
		{"unimplemented type", func() error { return Dequantize(dtype.IQ2_XXS, make([]byte, 66), make([]float32, 256)) }, []string{"iq2_xxs", "not a block format"}},
		{"plain type", func() error { _, err := Quantize(dtype.Float16, make([]float32, 4)); return err }, []string{"float16", "not a block format"}},
		{"unknown type id", func() error { return Dequantize(dtype.DType(200), nil, nil) }, []string{"DType(200)", "not a block format"}},
		{"dot: short activations", func() error { _, err := Dot(dtype.Q4_K, q4k, act[:291], 256); return err }, []string{"q8_k", "292 bytes", "have 291", "activations for q4_k"}},
		{"dot: short weights", func() error { _, err := Dot(dtype.Q2_K, make([]byte, 83), act, 256); return err }, []string{"q2_k", "84 bytes", "have 83"}},
		{"dot: activation type has no dot", func() error { _, err := Dot(dtype.Q8_K, act, act, 256); return err }, []string{"q8_k", "no block dot product"}},
		{"dot: bad length", func() error { _, err := Dot(dtype.Q8_0, make([]byte, 34), make([]byte, 34), 33); return err }, []string{"q8_0", "33 values"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
