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

// Methods are the parameter-efficient methods a Spec names, and the two
// baselines (bitfit trains the biases, linear only the task head; full
// trains everything).
var Methods = []string{"lora", "houlsby", "pfeiffer", "conformer", "snnk", "prompt", "prefix", "bitfit", "linear", "full"}

// Spec is a method with its settings: what Apply injects and what an
// adapter directory records (adapter_config.json).
type Spec struct {
	Method     string   `json:"loom_method"`
	Rank       int      `json:"r,omitempty"`
	Alpha      float64  `json:"lora_alpha,omitempty"`
	Targets    []string `json:"target_modules,omitempty"`
	Bottleneck int      `json:"bottleneck,omitempty"`
	Parallel   bool     `json:"parallel,omitempty"`
	Kernel     int      `json:"kernel,omitempty"`
	Tokens     int      `json:"num_virtual_tokens,omitempty"` // prompts or prefixes
	Causal     bool     `json:"causal,omitempty"`             // conformer in a decoder
	TrainNorms bool     `json:"train_norms,omitempty"`        // the norms train too (TrainNorms)
	// SNNK adapters: random features m, block-orthogonal projections, and
	// the seed of the projections (saved, so a reloaded adapter has them).
	Features    int    `json:"num_rfs,omitempty"`
	Orthogonal  bool   `json:"orthogonal,omitempty"`
	FeatureSeed uint64 `json:"feature_seed,omitempty"`
}

// TaskHead is implemented by models with a task head that is new to the
// pre-trained model (a classifier): every method trains it, and an adapter
// saves it (PEFT's modules_to_save).
type TaskHead interface {
	TaskHeadParams() []*autograd.Var
}

// Readout is implemented by models whose output layer is pre-trained (a
// language model's head): a linear probe (method "linear") trains it. A
// model with a new task head (TaskHead) trains that instead.
type Readout interface {
	ReadoutParams() []*autograd.Var
}

// Apply freezes model and injects s's modules for a residual stream of
// width d (bitfit: unfreezes the biases; full: everything; linear: the
// task head, or else the readout). A task head (TaskHead) trains with every
// method. Errors name the method's setting at fault.
func (s Spec) Apply(model nn.Module, d int, seed uint64) error {
	var err error
	switch s.Method {
	case "lora":
		_, err = Apply(model, LoRAConfig{Rank: s.Rank, Alpha: s.Alpha, Targets: s.Targets}, seed)
	case "houlsby", "pfeiffer":
		_, err = ApplyAdapters(model, d, AdapterConfig{Bottleneck: s.Bottleneck, Parallel: s.Parallel, Attention: s.Method == "houlsby"}, seed)
	case "conformer":
		_, err = ApplyConformer(model, d, ConformerConfig{Bottleneck: s.Bottleneck, Kernel: s.Kernel, Parallel: s.Parallel, Causal: s.Causal}, seed)
	case "snnk":
		_, err = ApplySNNK(model, d, SNNKConfig{Features: s.Features, Bottleneck: s.Bottleneck, Orthogonal: s.Orthogonal, Parallel: s.Parallel, FeatureSeed: s.FeatureSeed}, seed)
	case "prompt":
		_, err = ApplyPrompts(model, d, s.Tokens, seed)
	case "prefix":
		_, err = ApplyPrefix(model, s.Tokens, seed)
	case "bitfit":
		nn.Freeze(model)
		n := 0
		for _, p := range model.Params() {
			if p.Role == autograd.RoleBias {
				p.SetRequiresGrad(true)
				n++
			}
		}
		if n == 0 {
			err = fmt.Errorf("the model has no bias parameters (Llama-style models have none); choose another method")
		}
	case "linear":
		nn.Freeze(model)
		var ps []*autograd.Var
		if h, ok := model.(TaskHead); ok {
			ps = h.TaskHeadParams()
		}
		if r, ok := model.(Readout); ok && len(ps) == 0 {
			ps = r.ReadoutParams()
		}
		if len(ps) == 0 {
			err = fmt.Errorf("the model has no output head to probe")
		}
		for _, p := range ps {
			p.SetRequiresGrad(true)
		}
	case "full":
		nn.Unfreeze(model)
	default:
		err = fmt.Errorf("unknown method %q (have %s)", s.Method, strings.Join(Methods, ", "))
	}
	if err != nil && s.Method == "lora" {
		return fmt.Errorf("--method lora (--rank %d, --targets %s): %w", s.Rank, strings.Join(s.Targets, ","), err)
	}
	if err != nil && s.Method == "snnk" {
		return fmt.Errorf("--method snnk (--features %d, --bottleneck %d): %w", s.Features, s.Bottleneck, err)
	}
	if err != nil {
		return fmt.Errorf("--method %s: %w", s.Method, err)
	}
	if h, ok := model.(TaskHead); ok {
		for _, p := range h.TaskHeadParams() {
			p.SetRequiresGrad(true)
		}
	}
	if s.TrainNorms {
		TrainNorms(model)
	}
	return nil
}

// loomConfig is adapter_config.json for methods PEFT has no layout for
// (peft_type "LOOM"): the Spec and the base model.
type loomConfig struct {
	PeftType  string `json:"peft_type"`
	BaseModel string `json:"base_model_name_or_path,omitempty"`
	Spec
}

// SaveAdapter writes what fine-tuning with s trained to dir: LoRA in
// PEFT's layout (with any other trained parameters, such as a task head,
// as modules_to_save), the other methods as adapter_config.json (peft_type
// "LOOM", the Spec) and adapter_model.safetensors holding every trainable
// parameter under its own name.
func SaveAdapter(dir string, model nn.Module, s Spec, base string) error {
	if s.Method == "lora" {
		return SavePEFT(dir, model, base)
	}
	js, err := json.MarshalIndent(loomConfig{PeftType: "LOOM", BaseModel: base, Spec: s}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := nn.SaveParams(filepath.Join(dir, PEFTWeightsFile), nn.Trainable(model.Params()), safetensors.F32,
		map[string]string{"format": "pt", "loom_method": s.Method}); err != nil {
		return err
	}
	return fsutil.WriteFile(filepath.Join(dir, PEFTConfigFile), append(js, '\n'))
}

// LoadAdapter applies the adapter in dir to model (width d): a PEFT LoRA
// adapter (LoadPEFT) or a loom one (re-injects its Spec and loads every
// tensor, strictly: each must be a trainable parameter of the adapted
// model with its shape, and each trainable parameter must be there).
func LoadAdapter(dir string, model nn.Module, d int) (Spec, error) {
	cfgPath := filepath.Join(dir, PEFTConfigFile)
	raw, err := os.ReadFile(cfgPath)
	if err != nil {
		return Spec{}, fmt.Errorf("petl: %w", err)
	}
	var head struct {
		PeftType string `json:"peft_type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return Spec{}, fmt.Errorf("petl: %s: %w", cfgPath, err)
	}
	if head.PeftType != "LOOM" {
		c, err := LoadPEFT(dir, model)
		return Spec{Method: "lora", Rank: c.Rank, Alpha: c.Alpha, Targets: c.Targets}, err
	}
	var lc loomConfig
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&lc); err != nil {
		return Spec{}, fmt.Errorf("petl: %s: %w", cfgPath, err)
	}
	if !slices.Contains(Methods, lc.Method) || lc.Method == "lora" {
		return Spec{}, fmt.Errorf("petl: %s: loom_method %q, want one of %s (LoRA adapters are in PEFT's layout)", cfgPath, lc.Method, strings.Join(Methods, ", "))
	}
	if err := lc.Spec.Apply(model, d, 0); err != nil {
		return Spec{}, fmt.Errorf("petl: %s: %w", cfgPath, err)
	}
	if err := nn.LoadParams(filepath.Join(dir, PEFTWeightsFile), nn.Trainable(model.Params())); err != nil {
		return Spec{}, fmt.Errorf("petl: %w", err)
	}
	return lc.Spec, nil
}

// TrainNorms makes the norms of model trainable (gains, and a LayerNorm's
// bias beside its gain), as PETL-AST's code does with its adapters, and
// returns how many values it unfroze.
func TrainNorms(model nn.Module) int {
	gains := map[string]bool{}
	for _, p := range model.Params() {
		if p.Role == autograd.RoleNorm {
			gains[strings.TrimSuffix(p.Name, ".weight")] = true
		}
	}
	n := 0
	for _, p := range model.Params() {
		isNorm := p.Role == autograd.RoleNorm || p.Role == autograd.RoleBias && gains[strings.TrimSuffix(p.Name, ".bias")]
		if isNorm && p.Frozen() {
			p.SetRequiresGrad(true)
			n += p.Value.Numel()
		}
	}
	return n
}
