package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/loomml/loom/compress/prune"
	"github.com/loomml/loom/convert"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/tensor"
)

// A pruned model is saved in its source's stored type (convert.StoredType:
// a bf16 model stays bf16, so removing parameters makes the file smaller),
// and measured as saved: its values are rounded to that type
// (convert.RoundTo) before the "after" figures are final.

// pruneSaveType is the type loom prune saves the pruned model in: the
// stored type of --model's weights.
func pruneSaveType(model string) (tensor.DType, error) {
	dt, err := convert.StoredType(model)
	if err != nil {
		return 0, fmt.Errorf("--model %s: %w", model, err)
	}
	return dt, nil
}

// roundDecoder rounds m's values to dt, as the saved file will hold them;
// when that changed any value, it measures m again on bench (the new
// "after"), else returns nil.
func roundDecoder(m *decoder.Model, dt tensor.DType, bench *prune.Bench, measured func(string, prune.Measurement)) (*prune.Measurement, error) {
	changed, err := convert.RoundTo(m.Params(), dt)
	if err != nil || !changed {
		return nil, err
	}
	r, err := bench.Measure(m)
	if err != nil {
		return nil, err
	}
	if measured != nil {
		measured("pruned, rounded to "+dt.String()+" as saved", r)
	}
	return &r, nil
}

// noteSavedType records in the report files in dir (written by the
// report's WriteFiles) the type the model's weights were saved in:
// "weights_dtype" in prune-report.json and a sentence at the end of
// prune-report.md.
func noteSavedType(dir string, dt tensor.DType, rounded bool) error {
	jp := filepath.Join(dir, prune.ReportJSON)
	b, err := os.ReadFile(jp)
	if err != nil {
		return err
	}
	b = bytes.TrimRight(b, " \n")
	if !bytes.HasSuffix(b, []byte("}")) {
		return fmt.Errorf("%s: not a JSON object", jp)
	}
	v, _ := json.Marshal(dt.Info().Torch)
	b = append(bytes.TrimRight(b[:len(b)-1], " \n"), []byte(",\n  \"weights_dtype\": "+string(v)+"\n}\n")...)
	if !json.Valid(b) {
		return fmt.Errorf("%s: not a JSON object", jp)
	}
	if err := os.WriteFile(jp, b, 0o644); err != nil {
		return err
	}
	mp := filepath.Join(dir, prune.ReportMarkdown)
	md, err := os.ReadFile(mp)
	if err != nil {
		return err
	}
	md = append(bytes.TrimRight(md, "\n"), '\n', '\n')
	md = append(md, savedTypeSentence(dt, rounded)...)
	return os.WriteFile(mp, md, 0o644)
}

// savedTypeSentence says in which type the weights were saved.
func savedTypeSentence(dt tensor.DType, rounded bool) string {
	s := fmt.Sprintf("Saved weights: %s (torch_dtype %s), the source model's stored type; the pruned figures are the saved model's", dt.Info().Safetensors, dt.Info().Torch)
	if rounded {
		s += fmt.Sprintf(" (its values rounded to %s, then measured)", dt.Info().Safetensors)
	}
	return s + ".\n"
}
