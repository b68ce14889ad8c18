package decoder

import (
	"fmt"
	"slices"
	"strings"

	"github.com/loomml/loom/internal/registry"
	"github.com/loomml/loom/nn"
	"github.com/loomml/loom/tensor"
)

// Format is a format a model can be exported to.
type Format string

// The export formats.
const (
	// HF is a Hugging Face directory for LlamaForCausalLM (or the class of
	// model_type: Mistral, Qwen2, Qwen3, Phi-3, GPT-2, Gemma 2/3; arch.go).
	HF Format = "Hugging Face"
	// GGUF is a GGUF file for llama.cpp's llama architecture.
	GGUF Format = "GGUF"
)

// Formats lists the export formats.
var Formats = []Format{HF, GGUF}

// An Option is one choice a config.json makes beyond plain Llama: one of
// loom's options under "loom", or a Hugging Face field whose values not
// every format can hold. Each option registers, in the file of the feature
// it belongs to, how its value is checked and whether each export format
// can express it. Config.Validate runs every Validate, and exporters refuse
// a config for which any option gives a reason (Config.Unexportable), so a
// new option cannot silently produce a wrong export. Every field of Options
// must have its option (a test walks them).
type Option struct {
	// Key is the option's place in config.json: "loom.layout",
	// "hidden_act".
	Key string
	// Validate checks the option's value in c (nil: nothing to check).
	Validate func(c *Config) error
	// Unsupported returns why f cannot express c's value of the option,
	// "" when it can (nil: every format can).
	Unsupported func(c *Config, f Format) string
}

var options = registry.New[Option]("option")

// RegisterOption adds an option (from init).
func RegisterOption(o Option) { options.Register(o.Key, o) }

// OptionKeys lists the registered options.
func OptionKeys() []string { return options.Names() }

// validateOptions runs every option's Validate, in key order.
func (c *Config) validateOptions() error {
	for _, o := range options.Values() {
		if o.Validate != nil {
			if err := o.Validate(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// Unexportable lists, for each option whose value f cannot express, the
// reason (empty when the model can be exported as f).
func (c *Config) Unexportable(f Format) []string {
	var out []string
	for _, o := range options.Values() {
		if o.Unsupported != nil {
			if why := o.Unsupported(c, f); why != "" {
				out = append(out, why)
			}
		}
	}
	return out
}

// CheckExport returns an error naming every option f cannot express.
func (c *Config) CheckExport(f Format) error {
	if bad := c.Unexportable(f); len(bad) > 0 {
		target := string(f) + " (" + Architecture(c.ModelType) + ")"
		if f == GGUF {
			target = "llama.cpp's llama architecture (GGUF)"
		}
		return fmt.Errorf("the model uses options %s cannot express: %s", target, strings.Join(bad, ", "))
	}
	return nil
}

// known checks that name is one of names.
func known(field, name string, names []string) error {
	if !slices.Contains(names, name) {
		return fmt.Errorf("%s is %q, want one of %v", field, name, names)
	}
	return nil
}

// unless returns why when cond holds, "" otherwise.
func unless(cond bool, why string) string {
	if cond {
		return ""
	}
	return why
}

// choice registers a loom option naming a registered part: valid when the
// name is known, exportable when it is the default (or a name the part's
// registry says the format can hold).
func choice(key string, name func(*Config) string, names func() []string, exports func(name string, f Format) bool) {
	RegisterOption(Option{Key: key,
		Validate: func(c *Config) error { return known(key, name(c), names()) },
		Unsupported: func(c *Config, f Format) string {
			// A value the model_type fixes (GPT-2's LayerNorm) is its
			// Hugging Face class's own.
			implied := f == HF && name(c) == name(&Config{Loom: c.arch().implied})
			return unless(exports(name(c), f) || implied, key+"="+name(c))
		}})
}

// defaultOnly says a part exports only under its default name def.
func defaultOnly(def string) func(string, Format) bool {
	return func(name string, _ Format) bool { return name == def }
}

// hfActivations are the hidden_act names transformers' ACT2FN knows.
var hfActivations = []string{"relu", "gelu", "gelu_new", "gelu_pytorch_tanh", "silu", "swish", "tanh", "sigmoid"}

func init() {
	choice("loom.norm", (*Config).NormName, nn.NormNames, defaultOnly(DefaultNorm))
	// LayerNorm's bias: exported, or refused, with loom.norm (Llama's
	// RMSNorm has none).
	RegisterOption(Option{Key: "loom.norm_bias"})
	// Training's arithmetic: every format holds the float32 master
	// weights whatever it was.
	RegisterOption(Option{Key: "loom.precision", Validate: func(c *Config) error {
		if _, err := tensor.ParsePrecision(c.Loom.Precision); err != nil {
			return fmt.Errorf("loom.precision: %w", err)
		}
		return nil
	}})
	choice("loom.positions", (*Config).PositionsName, func() []string { return []string{"learned", "rope"} }, defaultOnly(DefaultPositions))
	choice("loom.ffn", (*Config).FFNName, nn.FFNNames, defaultOnly(DefaultFFN))
	choice("loom.layout", (*Config).LayoutName, LayoutNames, func(name string, f Format) bool {
		l, ok := layouts.Lookup(name)
		return ok && slices.Contains(l.formats, f)
	})
	choice("loom.attention", (*Config).AttentionName, AttentionNames, func(name string, f Format) bool {
		a, ok := attentions.Lookup(name)
		return ok && slices.Contains(a.formats, f)
	})
	// The tokenizer travels beside the weights in every format.
	RegisterOption(Option{Key: "loom.tokenizer"})
	RegisterOption(Option{Key: "hidden_act",
		Validate: func(c *Config) error { return known("hidden_act", c.HiddenAct, nn.ActivationNames()) },
		Unsupported: func(c *Config, f Format) string {
			if f == GGUF {
				return unless(c.HiddenAct == "silu" || c.HiddenAct == "swish", "hidden_act="+c.HiddenAct)
			}
			return unless(slices.Contains(hfActivations, c.HiddenAct), "hidden_act="+c.HiddenAct)
		}})
	RegisterOption(Option{Key: "mlp_bias", Unsupported: func(c *Config, _ Format) string {
		// Llama's mlp_bias comes with attention_bias in every layer.
		return unless(!c.MLPBias || c.AttentionBias, "mlp_bias with attention_bias")
	}})
	RegisterOption(Option{Key: "sliding_window", Unsupported: func(c *Config, f Format) string {
		w := c.Window()
		return unless(f != GGUF || w == 0 || w >= c.MaxPositionEmbeddings, fmt.Sprintf("sliding_window=%d", w))
	}})
	RegisterOption(Option{Key: "model_type",
		Validate: func(c *Config) error {
			if c.ModelType != "" && Architecture(c.ModelType) == "" {
				return fmt.Errorf("model_type %q is not supported (loom reads %s)", c.ModelType, strings.Join(ModelTypes(), ", "))
			}
			return nil
		},
		Unsupported: func(c *Config, f Format) string {
			return unless(f != GGUF || c.arch().gguf, "model_type="+c.ModelType+" (export as Hugging Face instead)")
		}})
}
