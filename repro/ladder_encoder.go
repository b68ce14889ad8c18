package repro

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/compress/sparse"
	"github.com/loomml/loom/distill"
	"github.com/loomml/loom/internal/kernels"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/quant/kquant"
	"github.com/loomml/loom/quant/w8a8"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/train"
)

// encoderForms are the classifier's forms, fixed before the first full
// run: the decoder's, with llama.cpp's q4_K_M mix applied in memory
// (quant/kquant) where the decoder writes a GGUF file.
var encoderForms = ladderForms

// encoderSettings are the encoder part's budgets.
type encoderSettings struct {
	Examples, Repeats int // timed test examples, repeats
	Threads           []int
}

func ladderEncoderSettings(quick bool) encoderSettings {
	if quick {
		return encoderSettings{Examples: 16, Repeats: 5, Threads: []int{1, 2}}
	}
	return encoderSettings{Examples: 24, Repeats: 5, Threads: []int{1, 2}}
}

// encResult is one encoder form's measurements on one seed.
type encResult struct {
	Acc    float64 // test accuracy
	Disk   int64   // model.safetensors bytes; -1: no on-disk format
	Mem    int64
	Params int
	Ms     []float64 // forward ms per example at batch 1, per thread count
	Types  string    // the k-quant types chosen (q4_K_M forms)
}

// ladderEncoder runs the encoder part over the seeds.
func ladderEncoder(c *Context, seeds []uint64) (*ladderPart, error) {
	s := ladderEncoderSettings(c.Quick)
	task, err := newSpamTask(c)
	if err != nil {
		return nil, err
	}
	if c.Quick {
		task.epochs = 3 // one epoch on the quick split leaves a majority classifier
	}
	const lr = 5e-4 // petl-spam's full fine-tuning
	res := make([][]encResult, len(encoderForms))
	for _, seed := range seeds {
		dir := filepath.Join(c.WorkDir, fmt.Sprintf("spam-%d-%d", seed, task.epochs))
		if _, err := os.Stat(filepath.Join(dir, encoder.WeightsFile)); err != nil {
			m, _, err := encoder.LoadWith(task.mlm.Dir, encoder.LoadOptions{Architecture: encoder.BertForSequenceClassification, Labels: task.trSet.Classes, Seed: seed})
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(c.Progress, "compression-ladder: seed %d, fine-tuning the spam classifier (%d epochs)\n", seed, task.epochs)
			if _, err := fit[encoder.Batch](encClassifier{m}, task.tr, task.te, fitSettings{Epochs: task.epochs, Batch: 32, LR: lr, WeightDecay: 0.1, Seed: seed, Progress: c.Progress}); err != nil {
				return nil, err
			}
			if err := encoder.Save(m, dir); err != nil {
				return nil, err
			}
		}
		studentDir := filepath.Join(c.WorkDir, fmt.Sprintf("spam-student-%d-%d", seed, task.epochs))
		if err := distilClassifier(c, dir, studentDir, task, seed, lr); err != nil {
			return nil, err
		}
		scratch := filepath.Join(c.WorkDir, fmt.Sprintf("enc-forms-%d", seed))
		if err := os.RemoveAll(scratch); err != nil {
			return nil, err
		}
		for i, f := range encoderForms {
			src := dir
			if f.Student {
				src = studentDir
			}
			r, err := encoderForm(f, src, filepath.Join(scratch, fmt.Sprint(i)), task, s)
			if err != nil {
				return nil, fmt.Errorf("encoder %s: %w", f.Name, err)
			}
			fmt.Fprintf(c.Progress, "compression-ladder: seed %d, encoder %-18s accuracy %.3f, %.3f ms/example (1 thread), disk %d B, memory %d B\n", seed, f.Name, r.Acc, r.Ms[0], r.Disk, r.Mem)
			res[i] = append(res[i], r)
		}
	}
	part := &ladderPart{Model: "encoder", PNG: "compression-ladder-encoder.png"}
	var kTypes []string
	for i, f := range encoderForms {
		if t := res[i][len(res[i])-1].Types; t != "" {
			kTypes = append(kTypes, f.Name+": "+t)
		}
	}
	ms := func(i, th int) float64 {
		var xs []float64
		for _, r := range res[i] {
			xs = append(xs, r.Ms[th])
		}
		return meanOf(xs)
	}
	accs := func(i int) []float64 {
		var xs []float64
		for _, r := range res[i] {
			xs = append(xs, 100*r.Acc)
		}
		return xs
	}
	for i, f := range encoderForms {
		mu, _ := meanStd(accs(i))
		part.Points = append(part.Points, ladderPoint{Name: f.Name, Kind: f.Kind, X: ms(i, 0), Y: 100 - mu})
	}
	part.Check = checkLadder(part.Points)
	on := map[int]bool{}
	for _, i := range part.Check.Frontier {
		on[i] = true
	}
	counts := func(n []int) string { return fmt.Sprintf("%d ham, %d spam", n[0], n[1]) }
	var b strings.Builder
	fmt.Fprintf(&b, "Model: petl-spam's classifier — the byte-level BERT (4 layers, width 128) pre-trained with masked-language modelling on tinyshakespeare (%d steps), fully fine-tuned (%d epoch(s), batch 32, AdamW lr %g, weight decay 0.1) on the SpamAssassin corpus's first collection (%s) per seed; accuracy on the later collection (%s). "+
		"The forms are the decoder's. Magnitude, 2:4 and int8 act on the linear layers of the encoder layers (attention and FFN; embeddings, pooler and classifier stay float32); 2:4 runs the packed 2:4 kernel. "+
		"*q4_K_M* is llama.cpp's mix applied in memory by quant/kquant under llama.cpp's BERT tensor names (loom writes no encoder GGUF, so it has no on-disk size): it also quantises the word embeddings, the pooler and the classifier; types: %s. "+
		"*distilled*: a 2-layer student of the same width initialised from the fine-tuned teacher's embeddings, pooler, classifier and layers 0 and 2, distilled on the training split for as many epochs as the teacher's fine-tuning (same optimiser) with KL at τ = 2 (weighted τ²) plus the labels' cross-entropy (distill.Classifier, as `loom distill --task classify`). "+
		"Latency: the forward pass of one e-mail (batch 1, its own length, at most 128 bytes): each of the first %d test e-mails run %d times after a warm-up, its median time taken, the medians averaged over the e-mails, then over seeds; float forms run with their block weights pre-packed for the GEMM.\n\n",
		task.mlm.Steps, task.epochs, lr, counts(task.trSet.Counts()), counts(task.teSet.Counts()), strings.Join(kTypes, "; "), s.Examples, s.Repeats)
	b.WriteString("| form | kind | parameters | size on disk (MB) | weights in memory as run (MB) |")
	for _, th := range s.Threads {
		fmt.Fprintf(&b, " ms/example (%d thr) |", th)
	}
	b.WriteString(" test accuracy %, mean ± sd | Δ vs base | frontier |\n|---|---|---:|---:|---:|" + strings.Repeat("---:|", len(s.Threads)) + "---|---:|---|\n")
	base, _ := meanStd(accs(0))
	for i, f := range encoderForms {
		mu, sd := meanStd(accs(i))
		r := res[i][len(res[i])-1]
		fmt.Fprintf(&b, "| %s | %s | %d | %s | %s |", f.Name, f.Kind, r.Params, mb(r.Disk), mb(r.Mem))
		for th := range s.Threads {
			fmt.Fprintf(&b, " %.3f |", ms(i, th))
		}
		fmt.Fprintf(&b, " %.1f ± %.1f | %+.1f | %s |\n", mu, sd, mu-base, map[bool]string{true: "yes"}[on[i]])
	}
	b.WriteString("\nThe frontier is computed on test error (100 − accuracy) against latency at 1 thread.\n")
	part.Body = b.String()
	if err := ladderPlot(filepath.Join(c.DocsDir, part.PNG), "Encoder (spam classifier): test accuracy against latency (1 thread)", "forward ms per e-mail (batch 1, 1 thread)", "test accuracy %",
		part.Points, part.Check.Frontier, func(y float64) float64 { return 100 - y }); err != nil {
		return nil, err
	}
	return part, nil
}

// encoderForm loads the fine-tuned classifier in dir, applies f and
// measures it.
func encoderForm(f ladderForm, dir, scratch string, task *spamTask, s encoderSettings) (encResult, error) {
	r := encResult{Disk: -1}
	m, err := encoder.Load(dir)
	if err != nil {
		return r, err
	}
	if f.Prune != "" {
		ts, err := sparse.EncoderTargets(m)
		if err != nil {
			return r, err
		}
		if f.Prune == "2:4" {
			_, err = sparse.TwoFour(ts)
		} else {
			_, err = sparse.Magnitude(ts, ladderRatio, sparse.ScopeLayer)
		}
		if err != nil {
			return r, err
		}
	}
	switch f.Quant {
	case "":
		if err := encoder.Save(m, scratch); err != nil {
			return r, err
		}
		st, err := os.Stat(filepath.Join(scratch, encoder.WeightsFile))
		if err != nil {
			return r, err
		}
		r.Disk = st.Size()
		if f.Prune != "2:4" { // 2:4: packed below
			for _, l := range m.BlockLinears() {
				l.Pack()
			}
		}
	case "int8":
		if _, err := w8a8.Encoder(m, w8a8.Options{Activations: w8a8.Block32}); err != nil {
			return r, err
		}
	case "q4_K_M":
		// No on-disk format for encoders: llama.cpp's mix in memory.
		rep, err := kquant.Encoder(m, "q4_K_M")
		if err != nil {
			return r, err
		}
		r.Types = rep.Types()
	default:
		return r, fmt.Errorf("unknown quantisation %q", f.Quant)
	}
	var packed24 int64
	if f.Prune == "2:4" && f.Quant == "" {
		if packed24, err = m.Pack24Weights(); err != nil {
			return r, err
		}
	}
	r.Acc = train.Accuracy[encoder.Batch](encClassifier{m}, task.te, 64)
	lin := map[*autograd.Var]bool{}
	if packed24 > 0 {
		for _, l := range m.BlockLinears() {
			lin[l.Weight] = true
		}
	}
	r.Mem = packed24
	for _, p := range m.Params() {
		r.Params += p.Value.Numel()
		switch {
		case lin[p]:
		case p.Value.DType().Packed():
			r.Mem += int64(len(p.Value.Raw()))
		default:
			r.Mem += 4 * int64(p.Value.Numel())
		}
	}
	for _, th := range s.Threads {
		r.Ms = append(r.Ms, encoderLatency(m, task.te, th, s.Examples, s.Repeats))
	}
	return r, nil
}

// encoderLatency is the forward time, in ms, of one example at the given
// thread count: each of the first n examples of te is run repeats times
// (after a warm-up pass over them all), its median taken, and the medians
// averaged over the examples (examples differ in length).
func encoderLatency(m *encoder.Model, te *encoder.TextExamples, threads, n, repeats int) float64 {
	old := kernels.SetThreads(threads)
	defer kernels.SetThreads(old)
	n = min(n, te.Len())
	batches := make([]encoder.Batch, n)
	for i := range n {
		batches[i] = te.Batch([]int{i})
	}
	times := make([][]float64, n)
	for r := range repeats + 1 {
		for i := range batches {
			t0 := time.Now()
			autograd.NoGrad(func() { m.Logits(nil, &batches[i]) })
			if r > 0 {
				times[i] = append(times[i], float64(time.Since(t0).Microseconds())/1000)
			}
		}
	}
	var med []float64
	for _, ts := range times {
		med = append(med, medianOf(ts))
	}
	return meanOf(med)
}

// distilClassifier builds the 2-layer student of the fine-tuned classifier
// in dir (same width; embeddings, pooler, classifier and layers
// ladderStudentLayers from the teacher) and distils it on the training
// split (KL at τ = 2 plus the labels' cross-entropy, as many epochs as the
// teacher's fine-tuning), saving it to out; a student already in out is
// kept.
func distilClassifier(c *Context, dir, out string, task *spamTask, seed uint64, lr float64) error {
	if _, err := os.Stat(filepath.Join(out, encoder.WeightsFile)); err == nil {
		return nil
	}
	teacher, err := encoder.Load(dir)
	if err != nil {
		return err
	}
	cfg, err := encoder.ParseConfig("student", teacher.Config.JSON())
	if err != nil {
		return err
	}
	cfg.NumHiddenLayers = len(ladderStudentLayers)
	st, err := encoder.New(cfg, seed)
	if err != nil {
		return err
	}
	if err := initFromTeacher(st.Params(), teacher.Params(), "layer.%d.", ladderStudentLayers); err != nil {
		return err
	}
	d, err := distill.NewClassifier(st, teacher, distill.Config{KL: 1, CE: 1, Temperature: 2})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.Progress, "compression-ladder: seed %d, distilling the 2-layer classifier (%d epochs)\n", seed, task.epochs)
	steps := max(1, task.epochs*task.tr.Len()/32)
	loop := &train.Loop[encoder.Batch]{Model: d, Data: train.NewEpochSampler[encoder.Batch](task.tr, 32, seed), Hyper: train.FineTuneHyper(steps, 32, lr, 0.1),
		Progress: c.Progress, RNG: tensor.NewRNG(seed + 1), StepsPerEpoch: max(1, task.tr.Len()/32)}
	if err := loop.Train(); err != nil {
		return err
	}
	return encoder.Save(st, out)
}
