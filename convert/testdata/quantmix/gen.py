"""gen.py: what llama.cpp's quantiser writes for each mix loom's quantize
writes, as a fixture for convert's TestQuantMixMatchesLlamaCpp.

It makes a model with `loom init` (the config below, seed 7: 8 layers, so
that llama.cpp's use_more_bits picks some layers and not others; ffn 320,
so that ffn_down's rows of 320 fall back from the k-quants), exports it as
an f32 GGUF, has llama.cpp quantise that file to each mix
(llama_model_quantize, default parameters, no importance matrix) and
records, for every tensor, its ggml type and the SHA-256 of its data.

    cd <repo root> && /usr/bin/python3 convert/testdata/quantmix/gen.py

llama.cpp: node-llama-cpp 3.21.1's prebuilt libllama (see
quant/testdata/gen_fixtures.py, whose ctypes set-up and GGUF reader this
reuses).
"""
import ctypes, hashlib, json, os, subprocess, sys, tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "quant", "testdata"))
import gen_fixtures as gf  # noqa: E402

CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
          "hidden_size": 256, "intermediate_size": 320, "num_attention_heads": 4,
          "num_key_value_heads": 2, "num_hidden_layers": 8, "vocab_size": 256,
          "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
          "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float32"}
SEED = 7
MIXES = {"Q4_K_M": 15, "Q5_K_M": 17, "Q6_K": 18, "Q8_0": 7, "Q4_0": 2}


def main():
    tmp = tempfile.mkdtemp(prefix="quantmix")
    cfg = os.path.join(tmp, "config.json")
    json.dump(CONFIG, open(cfg, "w"))
    run = lambda *a: subprocess.run(["go", "run", "./cmd/loom"] + list(a), cwd=ROOT, check=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("init", "--config", cfg, "--out", os.path.join(tmp, "model"), "--dtype", "f32", "--seed", str(SEED))
    f32 = os.path.join(tmp, "f32.gguf")
    run("export", "--format", "gguf", "--type", "f32", "--model", os.path.join(tmp, "model"), "--out", f32)
    gf.llama.llama_backend_init()
    out = {"llama_cpp": "node-llama-cpp 3.21.1 prebuilt linux-x64, llama.cpp v0.4.0 (bundle commit 80fb11a)",
           "config": CONFIG, "seed": SEED, "mixes": {}}
    for name, ftype in MIXES.items():
        q = os.path.join(tmp, name + ".gguf")
        p = gf.llama.llama_model_quantize_default_params()
        p.ftype, p.nthread = ftype, 1
        if gf.llama.llama_model_quantize(f32.encode(), q.encode(), ctypes.byref(p)) != 0:
            sys.exit("llama_model_quantize %s failed" % name)
        ts = gf.read_gguf(q)
        out["mixes"][name] = [[n, t, hashlib.sha256(data).hexdigest()] for n, (t, _, data) in ts.items()]
    path = os.path.join(os.path.dirname(__file__), "llamacpp.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
