package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loomml/loom/audio"
	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/data/labeled"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/petl"
	"github.com/loomml/loom/tensor"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

// encoderJob is `loom finetune --task classify` on an encoder: a BERT on a
// CSV file of text,label rows, or an AST on a directory of class folders
// of WAV files.
type encoderJob struct {
	model, data, eval, out string
	spec                   petl.Spec
	steps, batch           int
	lr                     float64
	seed                   uint64
	trainNorms             bool
}

func runFinetuneEncoder(j encoderJob, stdout, stderr io.Writer) error {
	c, err := encoder.LoadConfig(j.model)
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	tr, err := labeled.Read(j.data)
	if err != nil {
		return fmt.Errorf("--data: %w", err)
	}
	st, err := os.Stat(j.data)
	audioData := err == nil && st.IsDir() // labeled.Read took it as class folders
	switch {
	case c.ModelType == encoder.TypeAST && c.NumMelBins != audio.ASTFbank.Bins:
		return fmt.Errorf("--model %s: num_mel_bins %d; loom's audio front end makes %d-bin filterbanks", j.model, c.NumMelBins, audio.ASTFbank.Bins)
	case c.ModelType == encoder.TypeAST && !audioData:
		return fmt.Errorf("--data %s: an AST (%s) fine-tunes on a directory of class folders of WAV files", j.data, j.model)
	case c.ModelType == encoder.TypeBERT && audioData:
		return fmt.Errorf("--data %s: a BERT (%s) fine-tunes on a CSV file with text and label columns", j.data, j.model)
	}
	var te *labeled.Set
	if j.eval != "" {
		if te, err = labeled.Read(j.eval); err != nil {
			return fmt.Errorf("--eval: %w", err)
		}
		for _, cl := range te.Classes {
			if !slices.Contains(tr.Classes, cl) {
				return fmt.Errorf("--eval %s: class %q is not among --data's classes (%s)", j.eval, cl, strings.Join(tr.Classes, ", "))
			}
		}
	} else {
		tr, te = tr.Split(0.1, j.seed)
		if len(te.Items) == 0 {
			return fmt.Errorf("--data %s: too few examples to hold out 10 %% of a class (%d); give held-out examples with --eval", j.data, len(tr.Items))
		}
	}
	var trEx, teEx train.Labelled[encoder.Batch]
	if audioData {
		a, err := readAudio(tr, c.MaxLength, tr.Classes)
		if err != nil {
			return fmt.Errorf("--data: %w", err)
		}
		b, err := readAudio(te, c.MaxLength, tr.Classes)
		if err != nil {
			return fmt.Errorf("--eval: %w", err)
		}
		mean, std := c.Loom.FeatureMean, c.Loom.FeatureStd
		if std == 0 {
			mean, std = a.Stats()
			c.Loom.FeatureMean, c.Loom.FeatureStd = mean, std
		}
		a.Normalise(mean, std)
		b.Normalise(mean, std)
		trEx, teEx = a, b
	} else {
		p := filepath.Join(j.model, "tokenizer.json")
		tok, err := tokenizer.LoadHF(p)
		if err != nil {
			return fmt.Errorf("--model: a BERT needs its tokenizer: %w", err)
		}
		if tok.VocabSize() > c.VocabSize {
			return fmt.Errorf("--model %s: tokenizer.json has %d tokens, more than vocab_size %d", j.model, tok.VocabSize(), c.VocabSize)
		}
		pad := 0
		if c.PadTokenID != nil {
			pad = *c.PadTokenID
		}
		trEx = tokenize(tok, tr, tr.Classes, c.MaxPositionEmbeddings, pad)
		teEx = tokenize(tok, te, tr.Classes, c.MaxPositionEmbeddings, pad)
	}
	arch := encoder.BertForSequenceClassification
	if c.ModelType == encoder.TypeAST {
		arch = encoder.ASTForAudioClassification
	}
	m, rep, err := encoder.LoadWith(j.model, encoder.LoadOptions{Architecture: arch, Labels: tr.Classes, Seed: j.seed})
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	if len(rep.Initialised) > 0 {
		fmt.Fprintf(stderr, "new task head (%d classes): %s drawn fresh\n", len(tr.Classes), nn.NameList(rep.Initialised))
	}
	m.Config.Loom = c.Loom // the feature statistics the clips were normalised with
	if err := j.spec.Apply(m, m.Config.HiddenSize, j.seed); err != nil {
		return err
	}
	normNote := "norms frozen"
	if j.trainNorms {
		normNote = fmt.Sprintf("%d of them in norms", petl.TrainNorms(m))
		j.spec.TrainNorms = true // saved with the adapter, so loading it trains (and expects) them
	}
	total, trainable := autograd.NumParams(m.Params()), autograd.NumParams(nn.Trainable(m.Params()))
	fmt.Fprintf(stdout, "%s: %d trainable parameters of %d (%.2f %%; the task head's %d included; %s)\n", j.spec.Method, trainable, total,
		100*float64(trainable)/float64(total), autograd.NumParams(m.TaskHeadParams()), normNote)
	// Until training starts, a failure leaves nothing behind.
	keep, release := guardOut(j.out)
	defer release()
	cm := encClassifierCLI{m}
	before := train.Accuracy[encoder.Batch](cm, teEx, 64)
	h := train.FineTuneHyper(j.steps, j.batch, j.lr, 0.1)
	loop := &train.Loop[encoder.Batch]{Model: m, Data: train.NewEpochSampler[encoder.Batch](trEx, j.batch, j.seed), Hyper: h,
		OutDir: j.out, Progress: stderr, RNG: tensor.NewRNG(j.seed + 1), StepsPerEpoch: max(1, trEx.Len()/j.batch),
		Meta: map[string]string{"model": j.model, "method": j.spec.Method, "data": j.data}}
	keep()
	if err := loop.Train(); err != nil {
		return err
	}
	after := train.Accuracy[encoder.Batch](cm, teEx, 64)
	dir := filepath.Join(j.out, "adapter")
	if err := petl.SaveAdapter(dir, m, j.spec, j.model); err != nil {
		return err
	}
	// The task model's config (labels, feature statistics) beside the
	// adapter, for loom merge.
	if err := fsutil.WriteFile(filepath.Join(dir, taskConfigFile), m.Config.JSON()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "held-out accuracy %.2f %% → %.2f %% after %d steps (%d examples); adapter: %s\n", 100*before, 100*after, j.steps, teEx.Len(), dir)
	return nil
}

// taskConfigFile is the config.json of the task model an encoder adapter
// was trained for, written beside the adapter.
const taskConfigFile = "task_config.json"

// mergeEncoder builds the task model an adapter was trained for, applies
// the adapter, merges LoRA updates into the weights and writes the result.
func mergeEncoder(model, adapter, out string, force bool, stdout io.Writer) error {
	task, err := encoder.LoadConfig(filepath.Join(adapter, taskConfigFile))
	if err != nil {
		return fmt.Errorf("--adapter: %w (an encoder adapter from loom finetune --task classify holds it)", err)
	}
	m, _, err := encoder.LoadWith(model, encoder.LoadOptions{Architecture: task.Architecture(), Labels: task.Labels(), Regression: task.Regression()})
	if err != nil {
		return fmt.Errorf("--model: %w", err)
	}
	m.Config.Loom = task.Loom
	spec, err := petl.LoadAdapter(adapter, m, m.Config.HiddenSize)
	if err != nil {
		return fmt.Errorf("--adapter: %w", err)
	}
	if spec.Method != "lora" {
		return fmt.Errorf("--adapter %s: a %s adapter adds modules a %s checkpoint cannot hold; only LoRA merges into the weights", adapter, spec.Method, m.Config.Architecture())
	}
	n, err := petl.Merge(m)
	if err != nil {
		return err
	}
	nn.Unfreeze(m)
	if err := fsutil.ReplaceDir(out, fsutil.Options{Force: force}, func(tmp string) error { return encoder.Save(m, tmp) }); err != nil {
		return outError(err)
	}
	fmt.Fprintf(stdout, "wrote %s: a %s with %d LoRA updates (rank %d, alpha %g) merged into %s\n", out, m.Config.Architecture(), n, spec.Rank, spec.Alpha, model)
	return nil
}

// encClassifierCLI gives the encoder the by-value Logits accuracy needs.
type encClassifierCLI struct{ *encoder.Model }

func (e encClassifierCLI) Logits(ctx *nn.Ctx, b encoder.Batch) *autograd.Var {
	return e.Model.Logits(ctx, &b)
}

// readAudio reads s's WAV files as AST features of frames rows, labelled
// by their class's index in classes (which holds every class of s).
func readAudio(s *labeled.Set, frames int, classes []string) (*encoder.AudioExamples, error) {
	labels := make([]int, len(s.Items))
	for i := range labels {
		labels[i] = slices.Index(classes, s.Classes[s.Labels[i]])
	}
	return encoder.ReadAudioExamples(s.Items, labels, frames)
}

// tokenize encodes s's texts as [CLS] text [SEP] (when the tokenizer has
// those tokens), truncated to T tokens.
func tokenize(tok *tokenizer.BPE, s *labeled.Set, classes []string, T, pad int) *encoder.TextExamples {
	cls, sep := tok.Special("[CLS]"), tok.Special("[SEP]")
	ex := &encoder.TextExamples{Pad: pad}
	for i, text := range s.Items {
		var row []int
		if cls >= 0 {
			row = append(row, cls)
		}
		row = append(row, tok.Encode(text)...)
		if sep >= 0 {
			row = append(row[:min(len(row), T-1)], sep)
		}
		ex.IDs = append(ex.IDs, row[:min(len(row), T)])
		ex.Labels = append(ex.Labels, slices.Index(classes, s.Classes[s.Labels[i]]))
	}
	return ex
}

// flagSet reports whether the named flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
