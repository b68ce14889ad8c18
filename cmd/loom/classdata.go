package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loomml/loom/data/labeled"
	"github.com/loomml/loom/models/encoder"
	"github.com/loomml/loom/tokenizer"
	"github.com/loomml/loom/train"
)

// classInput turns labelled sets into the examples an encoder classifier
// reads: a BERT's CSV rows of text and label through its tokenizer.json,
// an AST's class folders of WAV files through loom's filterbank front end,
// normalised by the model's feature statistics. It names the model's flag
// and path in every error.
type classInput struct {
	flag, path string // "--model", the model's directory
	c          *encoder.Config
	tok        *tokenizer.BPE // a BERT's
	pad, T     int            // a BERT's padding id and tokens per example
}

// newClassInput prepares the inputs of the encoder at path (given by
// flag), whose config is c; a BERT's examples are cut to T tokens (0: its
// max_position_embeddings).
func newClassInput(flag, path string, c *encoder.Config, T int) (*classInput, error) {
	in := &classInput{flag: flag, path: path, c: c, T: T}
	if c.ModelType == encoder.TypeAST {
		if c.Loom.FeatureStd == 0 {
			return nil, fmt.Errorf("%s %s: config.json has no loom.feature_std to normalise the clips with", flag, path)
		}
		return in, nil
	}
	tok, err := tokenizer.LoadHF(filepath.Join(path, "tokenizer.json"))
	if err != nil {
		return nil, fmt.Errorf("%s: a BERT needs its tokenizer: %w", flag, err)
	}
	if tok.VocabSize() > c.VocabSize {
		return nil, fmt.Errorf("%s %s: tokenizer.json has %d tokens, more than vocab_size %d", flag, path, tok.VocabSize(), c.VocabSize)
	}
	in.tok = tok
	if c.PadTokenID != nil {
		in.pad = *c.PadTokenID
	}
	if in.T == 0 {
		in.T = c.MaxPositionEmbeddings
	}
	return in, nil
}

// read reads the labelled set at path (given by flag) as examples labelled
// by their class's index in classes, which must hold every class of the set.
func (in *classInput) read(flag, path string, classes []string) (train.Labelled[encoder.Batch], error) {
	s, err := labeled.Read(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return in.examples(flag, path, s, classes)
}

// examples converts s, read from path (given by flag).
func (in *classInput) examples(flag, path string, s *labeled.Set, classes []string) (train.Labelled[encoder.Batch], error) {
	for _, cl := range s.Classes {
		if !slices.Contains(classes, cl) {
			return nil, fmt.Errorf("%s %s: class %q is not one of %s %s's labels (%s)", flag, path, cl, in.flag, in.path, strings.Join(classes, ", "))
		}
	}
	st, err := os.Stat(path)
	audio := err == nil && st.IsDir()
	switch {
	case in.c.ModelType == encoder.TypeAST && !audio:
		return nil, fmt.Errorf("%s %s: an AST (%s) reads a directory of class folders of WAV files", flag, path, in.path)
	case in.c.ModelType == encoder.TypeBERT && audio:
		return nil, fmt.Errorf("%s %s: a BERT (%s) reads a CSV file with text and label columns", flag, path, in.path)
	case audio:
		a, err := readAudio(s, in.c.MaxLength, classes)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
		a.Normalise(in.c.Loom.FeatureMean, in.c.Loom.FeatureStd)
		return a, nil
	}
	return tokenize(in.tok, s, classes, in.T, in.pad), nil
}

// classifierConfig loads the config of the encoder classifier at model,
// which what ("--method axformer --task classify") needs: an error names
// a model without a classification head or with a regression head.
func classifierConfig(model, what string) (*encoder.Config, error) {
	c, err := encoder.LoadConfig(model)
	if err != nil {
		return nil, fmt.Errorf("--model: %w", err)
	}
	switch {
	case c.NumLabels() == 0:
		return nil, fmt.Errorf("%s needs an encoder classifier; --model %s is a %s (fine-tune it with loom finetune --task classify, then loom merge)", what, model, c.Architecture())
	case c.Regression():
		return nil, fmt.Errorf("%s needs classes; --model %s has a regression head (problem_type regression)", what, model)
	}
	return c, nil
}
