package convert

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loomml/loom/format/gguf"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tokenizer"
)

// CheckpointDir is where `loom train --out RUN` keeps the model of a run.
const CheckpointDir = "checkpoint"

// Loaded is a model with what running it needs besides its weights.
type Loaded struct {
	Model  *decoder.Model
	Tok    tokenizer.Tokenizer
	Gen    *GenerationConfig // generation_config.json, or nil
	TokCfg *TokenizerConfig  // tokenizer_config.json (a GGUF file's tokenizer.* metadata), or nil
	Stop   []int             // end-of-sequence ids
	// Path is the directory or GGUF file read, and Name the model's name:
	// a training run's directory name, else the model directory's or
	// file's (without .gguf).
	Path, Name string
}

// ResolvePath maps what a user gives as a model to the directory or file
// to read, and a name for the model: a training run's directory (it holds
// checkpoint/, as `loom train --out RUN` writes it), a model directory
// (config.json and weights, loom's or Hugging Face's), or a GGUF file.
// Anything else is an error saying what was looked for.
func ResolvePath(path string) (dir, name string, err error) {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return "", "", fmt.Errorf("%s does not exist: give a model directory (%s and weights), a training run's directory (%s/) or a .gguf file", path, ConfigFile, CheckpointDir)
		}
		return "", "", err
	}
	clean := filepath.Clean(path)
	base := filepath.Base(clean)
	if !st.IsDir() {
		if gguf.IsGGUF(path) {
			return path, strings.TrimSuffix(base, filepath.Ext(base)), nil
		}
		return "", "", fmt.Errorf("%s: not a model: give a model directory, a training run's directory or a .gguf file (for a .safetensors file, the directory that holds it and its config.json)", path)
	}
	if exists(filepath.Join(path, ConfigFile)) {
		if base == CheckpointDir { // RUN/checkpoint: the run names the model
			if parent := filepath.Base(filepath.Dir(clean)); parent != "." && parent != string(filepath.Separator) {
				name = parent
			}
		}
		return path, cmp.Or(name, base), nil
	}
	if ckpt := filepath.Join(path, CheckpointDir); exists(filepath.Join(ckpt, ConfigFile)) {
		return ckpt, base, nil
	}
	return "", "", fmt.Errorf("%s: not a model: no %s (a model directory) and no %s/%s (a training run's directory from loom train --out)", path, ConfigFile, CheckpointDir, ConfigFile)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Open loads the model at path (anything ResolvePath accepts) with its
// tokenizer, generation and tokenizer configs, and end-of-sequence ids:
// the one loader behind every command that takes a model.
func Open(path string, o LoadOptions) (*Loaded, error) {
	dir, name, err := ResolvePath(path)
	if err != nil {
		return nil, err
	}
	l := &Loaded{Path: dir, Name: name}
	if gguf.IsGGUF(dir) {
		if l.Model, l.Tok, err = LoadGGUF(dir, o); err != nil {
			return nil, err
		}
		if l.TokCfg, err = GGUFTokenizerConfig(dir); err != nil {
			return nil, err
		}
	} else {
		if l.Model, err = LoadWith(dir, o); err != nil {
			return nil, err
		}
		if l.Tok, err = LoadTokenizer(l.Model.Config, dir); err != nil {
			return nil, err
		}
		if l.Gen, err = LoadGenerationConfig(dir); err != nil {
			return nil, err
		}
		if l.TokCfg, err = LoadTokenizerConfig(dir); err != nil {
			return nil, err
		}
	}
	l.Stop = StopTokens(l.Model.Config, l.Gen, l.Tok)
	if b, ok := l.Tok.(*tokenizer.BPE); ok && l.TokCfg != nil && l.TokCfg.EOSToken != "" {
		if id := b.Special(l.TokCfg.EOSToken); id >= 0 && !slices.Contains(l.Stop, id) {
			l.Stop = append(l.Stop, id)
		}
	}
	return l, nil
}
