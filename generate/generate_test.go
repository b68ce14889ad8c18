package generate

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// bytesTok is the byte-level tokenizer (ids are bytes).
type bytesTok struct{}

func (bytesTok) Encode(s string) []int {
	out := make([]int, len(s))
	for i := range s {
		out[i] = int(s[i])
	}
	return out
}
func (bytesTok) TokenBytes(id int) []byte { return []byte{byte(id)} }

func tinyModel(t *testing.T) *decoder.Model {
	t.Helper()
	m, err := decoder.New(&decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 40, InitializerRange: 0.5}, 7)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGreedyMatchesFullRecompute: greedy decoding with the KV cache picks,
// at every step, the argmax of a full forward pass over the whole context.
func TestGreedyMatchesFullRecompute(t *testing.T) {
	m := tinyModel(t)
	res, err := Generate(m, bytesTok{}, "abc", Options{MaxNewTokens: 20}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := bytesTok{}.Encode("abc")
	for i, got := range res.Tokens {
		var l *autograd.Var
		autograd.NoGrad(func() { l = m.Forward(nil, ctx, 1, len(ctx)) })
		row := lastRow(l)
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if got != best {
			t.Fatalf("token %d: cached greedy chose %d, full recompute %d", i, got, best)
		}
		ctx = append(ctx, got)
	}
}

func TestContextLimit(t *testing.T) {
	m := tinyModel(t)
	res, err := Generate(m, bytesTok{}, strings.Repeat("x", 30), Options{MaxNewTokens: 100, Temperature: 1, Seed: 1, NoSlide: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.StoppedBy != "context" || len(res.Tokens) != 10 {
		t.Fatalf("stopped by %s after %d tokens, want context after 10", res.StoppedBy, len(res.Tokens))
	}
	// By default the context slides and generation goes on.
	res, err = Generate(m, bytesTok{}, strings.Repeat("x", 30), Options{MaxNewTokens: 100, Temperature: 1, Seed: 1}, nil)
	if err != nil || res.StoppedBy != "length" || len(res.Tokens) != 100 {
		t.Fatalf("sliding: %v, stopped by %s after %d tokens", err, res.StoppedBy, len(res.Tokens))
	}
	if _, err := Generate(m, bytesTok{}, strings.Repeat("x", 40), Options{}, nil); err == nil {
		t.Fatal("a prompt filling the context was accepted")
	}
}

func TestSamplingIsSeeded(t *testing.T) {
	m := tinyModel(t)
	o := Options{MaxNewTokens: 15, Temperature: 0.9, TopK: 20, TopP: 0.9, Seed: 42}
	a, _ := Generate(m, bytesTok{}, "hi", o, nil)
	b, _ := Generate(m, bytesTok{}, "hi", o, nil)
	if a.Text != b.Text {
		t.Fatalf("same seed, different text: %q vs %q", a.Text, b.Text)
	}
}

func TestPick(t *testing.T) {
	logits := []float32{1, 3, 2, 0.5, -1}
	rng := tensor.NewRNG(1)
	if got := pick(logits, nil, Options{}, rng); got != 1 {
		t.Fatalf("greedy picked %d", got)
	}
	// top-k 1 is greedy whatever the temperature
	for range 20 {
		if got := pick(logits, nil, Options{Temperature: 5, TopK: 1}, rng); got != 1 {
			t.Fatalf("top-k 1 picked %d", got)
		}
	}
	// top-p keeps the smallest head with mass ≥ p: here {1, 2}
	counts := map[int]int{}
	for range 2000 {
		counts[pick(logits, nil, Options{Temperature: 1, TopP: 0.8}, rng)]++
	}
	if counts[0]+counts[3]+counts[4] != 0 || counts[1] == 0 || counts[2] == 0 {
		t.Fatalf("top-p 0.8 sampled %v", counts)
	}
	// sampling frequencies follow softmax(l/T)
	counts = map[int]int{}
	const n = 20000
	for range n {
		counts[pick(logits, nil, Options{Temperature: 2}, rng)]++
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v) / 2)
	}
	for i, v := range logits {
		p := math.Exp(float64(v)/2) / z
		if math.Abs(float64(counts[i])/n-p) > 4*math.Sqrt(p*(1-p)/n)+1e-3 {
			t.Fatalf("token %d sampled %d/%d times, want p=%.3f", i, counts[i], n, p)
		}
	}
	// the repetition penalty divides positive logits and multiplies negative ones
	if got := pick([]float32{2.9, 3, -1}, map[int]bool{1: true}, Options{RepetitionPenalty: 1.2}, rng); got != 0 {
		t.Fatalf("repetition penalty: picked %d", got)
	}
}

func TestStreamingStopsAndHoldsBack(t *testing.T) {
	var got []string
	out := NewText([]string{"END"}, func(s string) { got = append(got, s) })
	for _, piece := range []string{"he", "llo E", "N", "D more"} {
		if out.Add([]byte(piece)) {
			break
		}
	}
	text := out.Finish()
	if text != "hello " || strings.Join(got, "") != "hello " {
		t.Fatalf("text %q, streamed %q", text, got)
	}
	// "EN" was held back while it could still become "END"
	for _, g := range got {
		if strings.Contains(g, "E") {
			t.Fatalf("streamed a stop-string prefix: %q", got)
		}
	}
	// a multi-byte character split across tokens is emitted whole
	got = nil
	out = NewText(nil, func(s string) { got = append(got, s) })
	for _, b := range []byte("é!") {
		out.Add([]byte{b})
	}
	out.Finish()
	if got[0] != "é" {
		t.Fatalf("streamed %q", got)
	}
}

func TestOptionsValidate(t *testing.T) {
	for _, c := range []struct {
		o    Options
		want string // "" = valid
	}{
		{Options{}, ""},
		{Options{MaxNewTokens: 5, Temperature: 0.7, TopK: 40, TopP: 0.9, RepetitionPenalty: 1.1}, ""},
		{Options{MaxNewTokens: -1}, "MaxNewTokens -1"},
		{Options{Temperature: -1}, "Temperature -1"},
		{Options{Temperature: math.NaN()}, "Temperature NaN"},
		{Options{TopK: -2}, "TopK -2"},
		{Options{TopP: 1.5}, "TopP 1.5"},
		{Options{RepetitionPenalty: -1}, "RepetitionPenalty -1"},
	} {
		err := c.o.Validate()
		if (c.want == "") != (err == nil) || (err != nil && (!strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "{"))) {
			t.Errorf("%+v: %v, want %q", c.o, err, c.want)
		}
	}
}
