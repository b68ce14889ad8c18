// Package convert reads and writes models in the formats people have,
// apart from the model code (as ollama keeps convert/ apart from model/):
// loom's checkpoints and Hugging Face directories (config.json and
// safetensors weights, one file or shards with an index), and GGUF files
// for llama.cpp and ollama, with their tokenizers, generation configs and
// stop tokens. Open is the one loader behind every command that takes a
// model: a training run's directory, a model directory or a GGUF file.
//
// Everything is validated (config, index, shard files, tensor names,
// shapes and dtypes) before any weight is allocated, and errors name the
// file and the problem. Exports ask the model's config whether the format
// can express every option in use (decoder.Config.CheckExport) and refuse
// a model it cannot, naming the options. Weight types come from package
// dtype's one table.
//
//	l, err := convert.Open("runs/shakespeare", convert.LoadOptions{DType: tensor.BFloat16})
//	err = convert.ExportGGUF(l.Model, "model.gguf", l.Tok, tensor.Q8_0, l.Name)
package convert
