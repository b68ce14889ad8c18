#!/usr/bin/python3
"""Generates petl/testdata for petl/peft_test.go: a tiny Llama (the model of
train/testdata/gen_train_parity.py, run from that file's definitions with
smaller sizes), random LoRA factors on q_proj and v_proj saved in Hugging
Face PEFT's layout (adapter_config.json, adapter_model.safetensors named
base_model.model.<module>.lora_A.weight / lora_B.weight), and the logits of
the adapted model computed by PyTorch as PEFT defines LoRA:
W·x + (lora_alpha / r)·B·(A·x).

Run: /usr/bin/python3 petl/testdata/gen_lora.py   (Debian python3-torch)
"""
import json, os
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
src = open(os.path.join(HERE, "../../train/testdata/gen_train_parity.py")).read()
exec(compile(src[: src.index("g = torch.Generator().manual_seed(0)")], "gen_train_parity.py", "exec"))
V, D, L, H, FF, T = 256, 32, 2, 4, 64, 16  # smaller than the parity model
R, ALPHA = 4, 8.0

p = model_params("llama", torch.Generator().manual_seed(11))
write_safetensors(os.path.join(HERE, "lora_base.safetensors"), p, {"format": "pt"})
g = torch.Generator().manual_seed(12)
adapter, merged = {}, {k: v.detach().clone() for k, v in p.items()}
for i in range(L):
    for proj in ("q_proj", "v_proj"):
        name = f"model.layers.{i}.self_attn.{proj}"
        w = p[name + ".weight"]
        a = torch.randn(R, w.shape[1], generator=g) * 0.1
        b = torch.randn(w.shape[0], R, generator=g) * 0.1
        adapter[f"base_model.model.{name}.lora_A.weight"] = a
        adapter[f"base_model.model.{name}.lora_B.weight"] = b
        merged[name + ".weight"] = w.detach() + (ALPHA / R) * (b @ a)
os.makedirs(os.path.join(HERE, "peft"), exist_ok=True)
write_safetensors(os.path.join(HERE, "peft", "adapter_model.safetensors"), adapter, {"format": "pt"})
with open(os.path.join(HERE, "peft", "adapter_config.json"), "w") as f:
    json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": R, "lora_alpha": ALPHA, "lora_dropout": 0.0,
               "target_modules": ["v_proj", "q_proj"], "bias": "none", "fan_in_fan_out": False,
               "inference_mode": True, "modules_to_save": None, "base_model_name_or_path": "gen_lora.py"}, f, indent=2)
x = torch.arange(T).remainder(V)[None, :] * 7 % V
with torch.no_grad():
    logits = forward("llama", merged, x)[0]
write_safetensors(os.path.join(HERE, "lora_logits.safetensors"), {"ids": x[0].to(torch.uint8), "logits": logits},
                  {"generator": "petl/testdata/gen_lora.py", "torch": torch.__version__})
print("logits", logits.shape, float(logits.abs().max()))
