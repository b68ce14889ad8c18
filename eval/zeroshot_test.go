package eval

import (
	"bytes"
	"math"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
)

var (
	heldOnce sync.Once
	heldText []byte
	heldBPE  tokenizer.Tokenizer
)

// heldOut returns the held-out tenth of the embedded corpus (byte level)
// and a small BPE learnt from the start of the corpus.
func heldOut(t *testing.T) ([]byte, tokenizer.Tokenizer) {
	t.Helper()
	heldOnce.Do(func() {
		corpus := data.TinyShakespeare()
		heldText = HeldOutText(corpus, tokenizer.Byte{}, 0.1)
		b, err := tokenizer.TrainBPE(corpus[:100_000], tokenizer.TrainOptions{VocabSize: 400})
		if err != nil {
			panic(err)
		}
		heldBPE = b
	})
	return heldText, heldBPE
}

func TestHeldOutTextIsPreparesValidationSplit(t *testing.T) {
	text, _ := heldOut(t)
	_, val, err := data.Prepare(data.TinyShakespeare(), tokenizer.Byte{}, 0.1, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s, err := data.OpenShard(val)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := (tokenizer.Byte{}).Decode(s.Slice(0, s.Len())); got != string(text) {
		t.Fatalf("held-out text (%d bytes) differs from val.bin (%d tokens)", len(text), s.Len())
	}
}

func TestBuildTaskItemsWellFormed(t *testing.T) {
	text, bpe := heldOut(t)
	for _, tok := range []tokenizer.Tokenizer{tokenizer.Byte{}, bpe} {
		for _, name := range TaskNames() {
			t.Run(name+"/"+tok.Name(), func(t *testing.T) {
				task, err := BuildTask(name, text, tok, 200, 7)
				if err != nil {
					t.Fatal(err)
				}
				if task.Name != name || len(task.Items) != 200 || task.Chance != 0.25 {
					t.Fatalf("task %s: %d items, chance %v", task.Name, len(task.Items), task.Chance)
				}
				answers := make([]int, taskChoices)
				for i, it := range task.Items {
					if len(it.Choices) != taskChoices || it.Answer < 0 || it.Answer >= taskChoices || len(it.ChoiceBytes) != taskChoices {
						t.Fatalf("item %d: %d choices, answer %d, %d lengths", i, len(it.Choices), it.Answer, len(it.ChoiceBytes))
					}
					answers[it.Answer]++
					if len(it.Context) < minTaskContext || len(it.Context) > taskContext {
						t.Fatalf("item %d: context of %d tokens", i, len(it.Context))
					}
					n := len(it.Choices[0])
					for c, ch := range it.Choices {
						if len(ch) != n {
							t.Fatalf("item %d: choice lengths differ: %d and %d", i, n, len(ch))
						}
						if got := len(tok.Decode(ch)); got != it.ChoiceBytes[c] {
							t.Fatalf("item %d choice %d: %d bytes recorded, %d decoded", i, c, it.ChoiceBytes[c], got)
						}
						if !strings.HasPrefix(tok.Decode(ch), " ") && name == TaskLastWord {
							t.Fatalf("item %d: choice %q lacks the leading space", i, tok.Decode(ch))
						}
						for d := range c {
							if slices.Equal(ch, it.Choices[d]) {
								t.Fatalf("item %d: choices %d and %d are equal", i, d, c)
							}
						}
					}
					if name == TaskContinuation && (n < contMinLen || n > contMaxLen) {
						t.Fatalf("item %d: continuation of %d tokens", i, n)
					}
					// The answer is the real text after the context.
					real := tok.Decode(it.Context) + tok.Decode(it.Choices[it.Answer])
					if !bytes.Contains(text, []byte(real)) {
						t.Fatalf("item %d: context + answer %q is not in the text", i, real)
					}
					if name == TaskLastWord { // the choices share the line's ending
						ans := tok.Decode(it.Choices[it.Answer])
						tail := ans[1+len(strings.TrimRightFunc(ans[1:], func(r rune) bool { return !isLetterRune(r) })):]
						for _, ch := range it.Choices {
							if !strings.HasSuffix(tok.Decode(ch), tail) {
								t.Fatalf("item %d: %q does not end like %q", i, tok.Decode(ch), ans)
							}
						}
					}
				}
				for a, k := range answers {
					if k < 25 {
						t.Fatalf("answer position %d used %d times of 200", a, k)
					}
				}
			})
		}
	}
}

func isLetterRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '\'' || r == '-'
}

func TestBuildTaskDeterministic(t *testing.T) {
	text, _ := heldOut(t)
	for _, name := range TaskNames() {
		a, errA := BuildTask(name, text, tokenizer.Byte{}, 50, 3)
		b, errB := BuildTask(name, text, tokenizer.Byte{}, 50, 3)
		c, errC := BuildTask(name, text, tokenizer.Byte{}, 50, 4)
		short, errS := BuildTask(name, text, tokenizer.Byte{}, 10, 3)
		if errA != nil || errB != nil || errC != nil || errS != nil {
			t.Fatal(errA, errB, errC, errS)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two builds with seed 3 differ", name)
		}
		if reflect.DeepEqual(a.Items, c.Items) {
			t.Errorf("%s: seeds 3 and 4 give the same items", name)
		}
		if !reflect.DeepEqual(short.Items, a.Items[:10]) {
			t.Errorf("%s: 10 items are not the first 10 of 50", name)
		}
	}
}

func TestBuildTaskErrors(t *testing.T) {
	text, _ := heldOut(t)
	cases := []struct {
		name string
		text []byte
		n    int
		want []string
	}{
		{TaskContinuation, []byte("To be, or not to be, that is the question.\n"), 5, []string{"task continuation", "yields only 0 items", "5 requested"}},
		{TaskLastWord, []byte("To be, or not to be, that is the question.\n"), 5, []string{"task lastword", "yields only 0 items", "5 requested"}},
		{TaskContinuation, text[:4000], 200, []string{"task continuation", "200 requested"}},
		{TaskLastWord, text[:4000], 200, []string{"task lastword", "200 requested"}},
		{TaskLastWord, nil, 1, []string{"task lastword", "(0 bytes)"}},
		{TaskContinuation, text, 0, []string{"task continuation", "0 items requested"}},
		{"hellaswag", text, 10, []string{`unknown task "hellaswag"`, "continuation, lastword"}},
	}
	for _, c := range cases {
		_, err := BuildTask(c.name, c.text, tokenizer.Byte{}, c.n, 1)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("BuildTask(%s, %d bytes, %d): error %v, want one mentioning %q", c.name, len(c.text), c.n, err, w)
			}
		}
	}
}

func TestParseTasks(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  string
	}{
		{"", nil, ""},
		{"continuation,lastword", []string{"continuation", "lastword"}, ""},
		{" lastword , continuation", []string{"lastword", "continuation"}, ""},
		{"lastword,nope", nil, `unknown task "nope"`},
		{"lastword,lastword", nil, "twice"},
	}
	for _, c := range cases {
		got, err := ParseTasks(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseTasks(%q): %v, want error %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseTasks(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// fakeLM is a byte-level LM whose logits at each position come from
// logits(sequence so far).
type fakeLM struct {
	maxPos int
	logits func(prefix []int, out []float32)
}

func (f *fakeLM) MaxPositions() int { return f.maxPos }

func (f *fakeLM) VocabSize() int { return 256 }

func (f *fakeLM) Forward(ctx *nn.Ctx, ids []int, B, T int) *autograd.Var {
	if len(ids) != B*T || ctx.Position() != 0 || T > f.maxPos {
		panic("fakeLM: bad call")
	}
	out := make([]float32, B*T*256)
	for b := range B {
		for t := range T {
			f.logits(ids[b*T:b*T+t+1], out[(b*T+t)*256:(b*T+t+1)*256])
		}
	}
	return autograd.Const(tensor.FromFloat32(out, B, T, 256))
}

// oracle returns an LM that knows text: after a sequence whose last k bytes
// occur in text, the bytes that follow them there get logit 30.
func oracle(text []byte, k, maxPos int) *fakeLM {
	next := map[string][]byte{}
	for i := k; i < len(text); i++ {
		key := string(text[i-k : i])
		if !bytes.Contains(next[key], text[i:i+1]) {
			next[key] = append(next[key], text[i])
		}
	}
	return &fakeLM{maxPos: maxPos, logits: func(prefix []int, out []float32) {
		if len(prefix) < k {
			return
		}
		key := make([]byte, k)
		for j, id := range prefix[len(prefix)-k:] {
			key[j] = byte(id)
		}
		for _, b := range next[string(key)] {
			out[b] = 30
		}
	}}
}

func TestEvaluateOracleAndUninformedModels(t *testing.T) {
	text, _ := heldOut(t)
	noise := &fakeLM{maxPos: 512, logits: func(prefix []int, out []float32) {
		r := tensor.NewRNG(uint64(len(prefix))*1e6 + uint64(prefix[len(prefix)-1]))
		for i := range out {
			out[i] = float32(3 * r.Normal())
		}
	}}
	models := []struct {
		name     string
		lm       LM
		acc      float64 // want exactly, or within tol
		tol      float64
		exactAll bool // AccuracyNorm too
	}{
		{"oracle", oracle(text, 32, 512), 1, 0, true},
		{"oracle with 40 positions", oracle(text, 16, 40), 1, 0, true},
		{"uniform", &fakeLM{maxPos: 512, logits: func([]int, []float32) {}}, 0.25, 0, true},
		{"noise", noise, 0.25, 0.1, false},
	}
	for _, name := range TaskNames() {
		task, err := BuildTask(name, text, tokenizer.Byte{}, 200, 11)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range models {
			r, err := task.Evaluate(m.lm, TaskOptions{Batch: 7})
			if err != nil {
				t.Fatal(err)
			}
			if r.Task != name || r.Items != 200 || r.Chance != 0.25 || math.Abs(r.StdErr-math.Sqrt(r.Accuracy*(1-r.Accuracy)/200)) > 1e-12 {
				t.Errorf("%s/%s: %+v", name, m.name, r)
			}
			if math.Abs(r.Accuracy-m.acc) > m.tol || (m.exactAll && math.Abs(r.AccuracyNorm-m.acc) > m.tol) {
				t.Errorf("%s/%s: accuracy %v (normalised %v), want %v ± %v", name, m.name, r.Accuracy, r.AccuracyNorm, m.acc, m.tol)
			}
		}
	}
}

// TestScoreChoicesMatchesDirectScoring checks batched, padded and
// truncated scoring against a forward pass per sequence on a real decoder.
func TestScoreChoicesMatchesDirectScoring(t *testing.T) {
	text, _ := heldOut(t)
	m, err := decoder.New(&decoder.Config{HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2, NumAttentionHeads: 4,
		HiddenAct: "silu", RMSNormEps: 1e-6, RopeTheta: 10000, VocabSize: 256, MaxPositionEmbeddings: 48, InitializerRange: 0.3}, 1)
	if err != nil {
		t.Fatal(err)
	}
	var items []Item
	for _, name := range TaskNames() {
		task, err := BuildTask(name, text, tokenizer.Byte{}, 3, 5)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, task.Items...)
	}
	ref, err := scoreChoices(m, items, TaskOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	batched, err := scoreChoices(m, items, TaskOptions{Batch: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range items {
		longest := 0
		for _, ch := range it.Choices {
			longest = max(longest, len(ch))
		}
		ctx := it.Context[len(it.Context)-min(len(it.Context), 48-longest+1):]
		for c, ch := range it.Choices {
			seq := append(slices.Clone(ctx), ch...)
			var lp []float32
			autograd.NoGrad(func() {
				logits := m.Forward(nil, seq[:len(seq)-1], 1, len(seq)-1)
				lp = tensor.LogSoftmax(logits.Value, -1).Contiguous().F32()
			})
			var want float64
			for j, y := range ch {
				want += float64(lp[(len(ctx)-1+j)*256+y])
			}
			if math.Abs(ref[i][c]-want) > 1e-3 || math.Abs(batched[i][c]-want) > 1e-3 {
				t.Fatalf("item %d choice %d: scored %v (batch 1), %v (batch 5), direct %v", i, c, ref[i][c], batched[i][c], want)
			}
		}
	}
}

func TestEvaluateRejectsBadItems(t *testing.T) {
	lm := &fakeLM{maxPos: 8, logits: func([]int, []float32) {}}
	cases := []struct {
		item Item
		want string
	}{
		{Item{Context: []int{1}, Choices: [][]int{{1}, {2}}, Answer: 2}, "answer 2"},
		{Item{Context: []int{1}, Choices: [][]int{{1}}, Answer: 0}, "1 choices"},
		{Item{Context: nil, Choices: [][]int{{1}, {2}}, Answer: 0}, "no context"},
		{Item{Context: []int{1}, Choices: [][]int{{1}, {}}, Answer: 0}, "choice 1 is empty"},
		{Item{Context: []int{1}, Choices: [][]int{{1}, make([]int, 9)}, Answer: 0}, "9 tokens does not fit the model's context of 8"},
		{Item{Context: []int{1}, Choices: [][]int{{1}, {300}}, Answer: 0}, "token id 300"},
	}
	for _, c := range cases {
		_, err := Task{Name: "t", Items: []Item{c.item}, Chance: 0.5}.Evaluate(lm, TaskOptions{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "task t: item 0") {
			t.Errorf("%+v: error %v, want one mentioning %q", c.item, err, c.want)
		}
	}
	// a context longer than the model's is cut from the left
	r, err := Task{Name: "t", Items: []Item{{Context: make([]int, 100), Choices: [][]int{{1, 2}, {3}}, Answer: 1}}, Chance: 0.5}.Evaluate(lm, TaskOptions{})
	if err != nil || r.Accuracy != 1 || r.AccuracyNorm != 0.5 {
		t.Fatalf("%+v, %v", r, err)
	}
}
