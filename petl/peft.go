package petl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/format/safetensors"
	"github.com/loomml/loom/internal/fsutil"
	"github.com/loomml/loom/nn"
)

// Hugging Face PEFT's adapter layout: a directory with adapter_config.json
// (LoraConfig's fields) and adapter_model.safetensors, whose tensors are
// named after the wrapped model's modules with PEFT's prefix:
// base_model.model.<module>.lora_A.weight and .lora_B.weight (the adapter
// name "default" is not in the saved names).

// PEFT file names.
const (
	PEFTConfigFile  = "adapter_config.json"
	PEFTWeightsFile = "adapter_model.safetensors"
	peftPrefix      = "base_model.model."
)

// peftConfig is the part of PEFT's LoraConfig that loom reads and writes.
type peftConfig struct {
	PeftType       string         `json:"peft_type"`
	TaskType       string         `json:"task_type,omitempty"`
	BaseModel      string         `json:"base_model_name_or_path,omitempty"`
	R              int            `json:"r"`
	LoraAlpha      *float64       `json:"lora_alpha"` // nil: PEFT's default, 8
	LoraDropout    float64        `json:"lora_dropout"`
	TargetModules  any            `json:"target_modules"` // a list, or one name
	Bias           string         `json:"bias"`
	FanInFanOut    bool           `json:"fan_in_fan_out"`
	UseRSLoRA      bool           `json:"use_rslora"`
	UseDoRA        bool           `json:"use_dora"`
	ModulesToSave  []string       `json:"modules_to_save"`
	InferenceMode  bool           `json:"inference_mode"`
	InitLoraWeight bool           `json:"init_lora_weights"`
	RankPattern    map[string]any `json:"rank_pattern,omitempty"`
	AlphaPattern   map[string]any `json:"alpha_pattern,omitempty"`
}

// SavePEFT writes model's LoRA modules to dir in PEFT's layout (creating
// dir; each file written whole or not at all). base names the base model
// in the config (base_model_name_or_path).
func SavePEFT(dir string, model nn.Module, base string) error {
	ls := Adapters(model)
	if len(ls) == 0 {
		return fmt.Errorf("petl: the model has no LoRA modules to save")
	}
	rank := ls[0].A.Dim(0)
	scale := ls[0].Scale
	for _, l := range ls {
		if l.A.Dim(0) != rank || l.Scale != scale {
			return fmt.Errorf("petl: LoRA modules of different ranks or scales (%s); PEFT's rank_pattern is not written", l.A.Name)
		}
	}
	// A and B, then the other trained parameters (a task head, norms) as
	// PEFT's modules_to_save, under their own names.
	saved := adapterParams(model)
	lora := map[*autograd.Var]bool{}
	for _, p := range saved {
		lora[p] = true
	}
	var modules []string
	for _, p := range nn.Trainable(model.Params()) {
		if lora[p] {
			continue
		}
		saved = append(saved, p)
		if m := moduleOf(p.Name); !slices.Contains(modules, m) {
			modules = append(modules, m)
		}
	}
	task := "CAUSAL_LM"
	if h, ok := model.(TaskHead); ok && len(h.TaskHeadParams()) > 0 {
		task = "SEQ_CLS"
	}
	alpha := scale * float64(rank)
	cfg := peftConfig{PeftType: "LORA", TaskType: task, BaseModel: base, R: rank, LoraAlpha: &alpha,
		TargetModules: targetsOf(model), Bias: "none", InferenceMode: true, InitLoraWeight: true, ModulesToSave: modules}
	js, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := nn.SaveParamsAs(filepath.Join(dir, PEFTWeightsFile), peftPrefix, saved, safetensors.F32, map[string]string{"format": "pt"}); err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, PEFTConfigFile), append(js, '\n'))
}

// moduleOf is the module part of a parameter's name.
func moduleOf(param string) string { return param[:max(0, strings.LastIndex(param, "."))] }

// LoadPEFT reads a PEFT LoRA adapter from dir and applies it to model:
// freezes model, wraps the target modules and loads A and B. Every tensor
// of the file must belong to a wrapped module with the expected shape, and
// every wrapped module must have its tensors; errors name the file and the
// tensor or field. After an error the model may be left frozen and partly
// wrapped: load it again to use it without the adapter.
func LoadPEFT(dir string, model nn.Module) (LoRAConfig, error) {
	cfgPath := filepath.Join(dir, PEFTConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return LoRAConfig{}, fmt.Errorf("petl: %w", err)
	}
	var pc peftConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&pc); err != nil {
		return LoRAConfig{}, fmt.Errorf("petl: %s: %w", cfgPath, err)
	}
	var targets []string
	switch t := pc.TargetModules.(type) {
	case string:
		targets = []string{t}
	case []any:
		for _, v := range t {
			s, ok := v.(string)
			if !ok {
				return LoRAConfig{}, fmt.Errorf("petl: %s: target_modules holds %v, want names", cfgPath, v)
			}
			targets = append(targets, s)
		}
	default:
		return LoRAConfig{}, fmt.Errorf("petl: %s: target_modules is %v, want a list of module names", cfgPath, pc.TargetModules)
	}
	switch {
	case pc.PeftType != "LORA":
		return LoRAConfig{}, fmt.Errorf("petl: %s: peft_type %q, want LORA", cfgPath, pc.PeftType)
	case pc.R < 1:
		return LoRAConfig{}, fmt.Errorf("petl: %s: r is %d, want a positive rank", cfgPath, pc.R)
	case pc.UseRSLoRA || pc.UseDoRA || pc.FanInFanOut || len(pc.RankPattern) > 0 || len(pc.AlphaPattern) > 0:
		return LoRAConfig{}, fmt.Errorf("petl: %s: use_rslora, use_dora, fan_in_fan_out, rank_pattern and alpha_pattern are not supported", cfgPath)
	case pc.Bias != "" && pc.Bias != "none":
		return LoRAConfig{}, fmt.Errorf("petl: %s: bias %q is not supported (want none)", cfgPath, pc.Bias)
	}
	alpha := 8.0 // LoraConfig's default when the file leaves lora_alpha out
	if pc.LoraAlpha != nil {
		alpha = *pc.LoraAlpha
	}
	cfg := LoRAConfig{Rank: pc.R, Alpha: alpha, Targets: targets}
	if _, err := Apply(model, cfg, 0); err != nil {
		return LoRAConfig{}, err
	}
	load := adapterParams(model)
	// modules_to_save: every parameter of a module whose name ends in an
	// entry (PEFT matches the same way) is loaded and trains. A SEQ_CLS
	// adapter also saves the head PEFT adds by itself (classifier or
	// score, whichever the model has), whether or not the config lists it.
	entries := slices.Clone(pc.ModulesToSave)
	implicit := map[string]bool{}
	if pc.TaskType == "SEQ_CLS" {
		for _, h := range []string{"classifier", "score"} {
			if !slices.Contains(entries, h) {
				entries, implicit[h] = append(entries, h), true
			}
		}
	}
	for _, entry := range entries {
		n := 0
		for _, p := range model.Params() {
			if m := moduleOf(p.Name); m == entry || strings.HasSuffix(m, "."+entry) {
				p.SetRequiresGrad(true)
				load = append(load, p)
				n++
			}
		}
		if n == 0 && !implicit[entry] {
			return LoRAConfig{}, fmt.Errorf("petl: %s: modules_to_save entry %q names no module of the model", cfgPath, entry)
		}
	}
	if err := nn.LoadParamsAs(filepath.Join(dir, PEFTWeightsFile), peftPrefix, load); err != nil {
		return LoRAConfig{}, fmt.Errorf("petl: LoRA targets %v, modules_to_save %v: %w", targets, pc.ModulesToSave, err)
	}
	return cfg, nil
}
