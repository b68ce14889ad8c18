#!/usr/bin/env python3
"""Converts the tiny Hugging Face fixtures of ../hf with llama.cpp's own
converter (convert_hf_to_gguf.py), so that convert's TestGGUFArchLlamaCpp
checks loom against the files llama.cpp's users have: loom reads them, and
loom's export of the same model holds the same metadata and tensors.

    git clone ~/.cache/loom/node-llama-cpp-3.21.1/node_modules/node-llama-cpp/llama/gitRelease.bundle /tmp/llama.cpp
    cd convert/testdata/gguf && /usr/bin/python3 gen_llamacpp.py /tmp/llama.cpp

The llama.cpp source is node-llama-cpp 3.21.1's bundled release (commit
80fb11ac73e66d89eae2c6a91d8a77428fa733ed, the llama.cpp whose libllama the
llamacpp tests run). Made with Debian's /usr/bin/python3 3.11.2, torch
1.13.0a0 and numpy 1.24.2. transformers is not installed there: a stand-in
module whose AutoConfig raises makes the converter read config.json itself
(its own fallback in ModelBase.load_hparams), and the converter reads
safetensors with gguf-py's SafetensorsLocal.

The fixtures have no tokenizer files; each converter class's set_vocab is
replaced by one writing a 'gpt2' vocabulary of one token per id (the
tokenizer is not what these files test; Gemma3Model's trimming of
token_embd to the vocabulary reads the tokenizer.json written beside the
copy). Everything else (hyperparameters, tensor names, layouts, the f16
choice per tensor) is the converter's. Output: <case>.gguf, --outtype f16.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import types

CASES = ["qwen3-f32", "gpt2-f32", "phi3-f32", "phi3-longrope", "gemma2-f32", "gemma3-f32"]

WRAPPER = r'''
import json, sys, types
from pathlib import Path

tf = types.ModuleType("transformers")
class AutoConfig:
    @staticmethod
    def from_pretrained(*a, **k):
        raise RuntimeError("transformers is not installed")
tf.AutoConfig = AutoConfig
sys.modules["transformers"] = tf

# tqdm (the write's progress bar) is not installed either: a silent one.
tq = types.ModuleType("tqdm")
class tqdm:
    def __init__(self, *a, **k): pass
    def __getattr__(self, name): return lambda *a, **k: None
tq.tqdm = tqdm
sys.modules["tqdm"] = tq

# torch 1.13 predates the dtypes the converter's tables name (float8,
# unsigned 16-64 bit); stand-ins keep the tables importable (these
# fixtures hold none of those types).
import torch
for dt in ("float8_e4m3fn", "float8_e5m2", "float8_e8m0fnu", "float8_e4m3fnuz", "float8_e5m2fnuz", "uint16", "uint32", "uint64"):
    if not hasattr(torch, dt):
        setattr(torch, dt, type(dt, (), {})())

llama = sys.argv.pop(1)
sys.path.insert(0, llama)
sys.path.insert(1, llama + "/gguf-py")
import gguf
from conversion import get_model_class

def set_vocab(self):
    n = self.hparams["vocab_size"]
    self.gguf_writer.add_tokenizer_model("gpt2")
    self.gguf_writer.add_tokenizer_pre("default")
    self.gguf_writer.add_token_list(["t%d" % i for i in range(n)])
    self.gguf_writer.add_token_types([gguf.TokenType.NORMAL] * n)
    self.gguf_writer.add_token_merges([])

for name in ("Qwen3ForCausalLM", "GPT2LMHeadModel", "Phi3ForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM"):
    get_model_class(name).set_vocab = set_vocab

sys.argv[0] = llama + "/convert_hf_to_gguf.py"
import runpy
runpy.run_path(sys.argv[0], run_name="__main__")
'''


def main():
    llama = os.path.abspath(sys.argv[1])
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = os.path.join(tmp, "wrap.py")
        with open(wrapper, "w") as f:
            f.write(WRAPPER)
        for case in CASES:
            src = os.path.join(here, "..", "hf", case)
            d = os.path.join(tmp, case)
            shutil.copytree(src, d)
            with open(os.path.join(d, "config.json")) as f:
                n = json.load(f)["vocab_size"]
            with open(os.path.join(d, "tokenizer.json"), "w") as f:
                json.dump({"model": {"vocab": {"t%d" % i: i for i in range(n)}}, "added_tokens": []}, f)
            out = os.path.join(here, case + ".gguf")
            subprocess.run([sys.executable, wrapper, llama, d, "--outfile", out, "--outtype", "f16", "--model-name", case],
                           check=True, env=dict(os.environ, NO_LOCAL_GGUF="1"))


if __name__ == "__main__":
    main()
