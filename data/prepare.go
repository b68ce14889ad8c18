package data

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/loomml/loom/tokenizer"
)

// File names that Prepare uses inside its directory.
const (
	TrainFile = "train.bin"
	ValFile   = "val.bin"
	MetaFile  = "meta.json"
)

// prepMeta is the sidecar that Prepare writes next to the shards: what they
// were made from. A later Prepare with the same inputs reuses the shards.
type prepMeta struct {
	Format       string  `json:"format"` // metaFormat
	SourceSHA256 string  `json:"source_sha256"`
	SourceBytes  int     `json:"source_bytes"`
	Tokenizer    string  `json:"tokenizer"`
	Vocab        int     `json:"vocab"`
	ValFraction  float64 `json:"val_fraction"`
	TrainTokens  int     `json:"train_tokens"`
	ValTokens    int     `json:"val_tokens"`
	Train        string  `json:"train"`
	Val          string  `json:"val"`
}

const metaFormat = "loom token shards 1"

// Prepare tokenizes text with tok and writes two token shards to dir
// (created if needed): dir/train.bin with the first int(n·(1−valFraction))
// of the n tokens and dir/val.bin with the rest. The split is contiguous,
// the validation set being the end of the token stream, as nanoGPT's
// prepare scripts do (so for the same text and a character-level
// tokenizer the splits are nanoGPT's). valFraction must be in [0, 1); with
// 0 the validation shard is empty.
//
// Prepare also writes dir/meta.json, recording the SHA-256 of text, the
// tokenizer's name and vocabulary size, valFraction and the token counts.
// When that file matches the current arguments and both shards open and
// agree with it, Prepare returns at once without tokenizing or writing
// anything, so repeated runs are cheap. Otherwise it removes meta.json,
// writes both shards and then writes meta.json (each atomically), so an
// interrupted Prepare is redone next time.
func Prepare(text []byte, tok tokenizer.Tokenizer, valFraction float64, dir string) (train, val string, err error) {
	if !(valFraction >= 0 && valFraction < 1) {
		return "", "", fmt.Errorf("data: Prepare: validation fraction %v is out of range: want 0 ≤ f < 1", valFraction)
	}
	sum := sha256.Sum256(text)
	want := prepMeta{
		Format:       metaFormat,
		SourceSHA256: hex.EncodeToString(sum[:]),
		SourceBytes:  len(text),
		Tokenizer:    tok.Name(),
		Vocab:        tok.VocabSize(),
		ValFraction:  valFraction,
		Train:        TrainFile,
		Val:          ValFile,
	}
	train, val = filepath.Join(dir, TrainFile), filepath.Join(dir, ValFile)
	metaPath := filepath.Join(dir, MetaFile)
	if reusable(metaPath, train, val, want) {
		return train, val, nil
	}

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("data: Prepare: %w", err)
	}
	if err := os.Remove(metaPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", "", fmt.Errorf("data: Prepare: %w", err)
	}
	ids := tok.Encode(string(text))
	n := len(ids)
	nTrain := TrainTokens(n, valFraction)
	switch {
	case n == 0:
		return "", "", fmt.Errorf("data: Prepare: the text (%d bytes) gives no tokens", len(text))
	case nTrain == 0:
		return "", "", fmt.Errorf("data: Prepare: %d tokens with validation fraction %v leave no training tokens", n, valFraction)
	case valFraction > 0 && nTrain == n:
		return "", "", fmt.Errorf("data: Prepare: %d tokens with validation fraction %v leave no validation tokens", n, valFraction)
	}
	if err := WriteShard(train, ids[:nTrain], want.Vocab, want.Tokenizer); err != nil {
		return "", "", err
	}
	if err := WriteShard(val, ids[nTrain:], want.Vocab, want.Tokenizer); err != nil {
		return "", "", err
	}
	want.TrainTokens, want.ValTokens = nTrain, n-nTrain
	js, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return "", "", fmt.Errorf("data: Prepare: %w", err)
	}
	js = append(js, '\n')
	if err := writeAtomic(metaPath, func(w io.Writer) error {
		_, err := w.Write(js)
		return err
	}); err != nil {
		return "", "", err
	}
	return train, val, nil
}

// reusable reports whether the sidecar at metaPath describes shards made
// from the same inputs as want and both shards are valid and agree with it.
func reusable(metaPath, train, val string, want prepMeta) bool {
	js, err := os.ReadFile(metaPath)
	if err != nil {
		return false
	}
	var have prepMeta
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if dec.Decode(&have) != nil {
		return false
	}
	cmp := have
	cmp.TrainTokens, cmp.ValTokens = 0, 0
	if cmp != want {
		return false
	}
	for _, sh := range []struct {
		path string
		n    int
	}{{train, have.TrainTokens}, {val, have.ValTokens}} {
		s, err := OpenShard(sh.path)
		if err != nil {
			return false
		}
		ok := s.Len() == sh.n && s.Vocab() == want.Vocab && s.Tokenizer() == want.Tokenizer
		_ = s.Close()
		if !ok {
			return false
		}
	}
	return true
}

// EvenWindows returns n windows of T consecutive ids spread evenly over ids,
// from its start to its end (fewer when ids has fewer than n starts). The
// windows alias ids. Pruning and other calibration passes use them.
func EvenWindows(ids []int, T, n int) [][]int {
	starts := len(ids) - T + 1
	n = min(n, starts)
	if n <= 0 {
		return nil
	}
	out := make([][]int, n)
	for i := range out {
		s := 0
		if n > 1 {
			s = i * (starts - 1) / (n - 1)
		}
		out[i] = ids[s : s+T]
	}
	return out
}

// Stack concatenates windows of equal length T into one row-major [B·T]
// batch and returns it with T; empty input, an empty window or unequal
// lengths are errors naming the window.
func Stack(windows [][]int) ([]int, int, error) {
	if len(windows) == 0 {
		return nil, 0, fmt.Errorf("no calibration windows")
	}
	if len(windows[0]) == 0 {
		return nil, 0, fmt.Errorf("calibration window 0 is empty")
	}
	T := len(windows[0])
	ids := make([]int, 0, len(windows)*T)
	for i, w := range windows {
		if len(w) != T {
			return nil, 0, fmt.Errorf("calibration window %d has %d tokens, want %d", i, len(w), T)
		}
		ids = append(ids, w...)
	}
	return ids, T, nil
}

// TrainTokens is how many of n tokens Prepare puts in the training split
// (the rest, the last valFraction, is held out); evaluation and pruning
// use it to find the same held-out text.
func TrainTokens(n int, valFraction float64) int { return int(float64(n) * (1 - valFraction)) }

// CheckSameSource returns an error when dir holds shards that Prepare made
// from other text, another tokenizer or another validation fraction than
// given, saying which; nil when they match or dir holds none. A resumed run
// calls it before Prepare, which would otherwise replace the shards that the
// checkpoint's sampler state belongs to.
func CheckSameSource(text []byte, tok tokenizer.Tokenizer, valFraction float64, dir string) error {
	js, err := os.ReadFile(filepath.Join(dir, MetaFile))
	if err != nil {
		return nil
	}
	var have prepMeta
	if json.Unmarshal(js, &have) != nil {
		return nil
	}
	sum := sha256.Sum256(text)
	switch {
	case have.SourceSHA256 != hex.EncodeToString(sum[:]):
		return fmt.Errorf("it was trained on other text (%d bytes, SHA-256 %.12s…; this text has %d bytes, %.12s…)",
			have.SourceBytes, have.SourceSHA256, len(text), hex.EncodeToString(sum[:]))
	case have.Tokenizer != tok.Name() || have.Vocab != tok.VocabSize():
		return fmt.Errorf("it was trained with the %s tokenizer (%d tokens), not %s (%d)", have.Tokenizer, have.Vocab, tok.Name(), tok.VocabSize())
	case have.ValFraction != valFraction:
		return fmt.Errorf("it held out %v of the text for validation, not %v", have.ValFraction, valFraction)
	}
	return nil
}
