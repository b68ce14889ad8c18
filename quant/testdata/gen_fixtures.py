#!/usr/bin/python3
"""Generates quant/testdata/fixtures.json.gz: llama.cpp's own blocks, dequantised
values and dot products for every ggml weight format package quant implements.

Command (from the repository root; needs Go and node-llama-cpp 3.21.1 installed
under ~/.cache/loom, as for the other llama.cpp interop fixtures):

    /usr/bin/python3 quant/testdata/gen_fixtures.py

Versions used: Debian's /usr/bin/python3 (3.x with numpy 1.24.2), node-llama-cpp
3.21.1 whose prebuilt linux-x64 libllama / libggml-base / libggml-cpu-x64 are
llama.cpp release "v0.4.0" as node-llama-cpp labels it (llama/llama.cpp.info.json;
the bundled source is llama/gitRelease.bundle, commit 80fb11a).

What it does:
 1. `go run ./cmd/loom init` a random Llama (hidden 256, intermediate 512,
    2 layers, vocab 256: every matrix row is a multiple of 256, so llama.cpp
    really uses the k-quants) and `go run ./cmd/loom export --format gguf
    --type f32` it.
 2. Has llama.cpp quantise that file with llama_model_quantize (default
    params, no importance matrix) to each of Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
    Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K, and reads the quantised files with a
    small GGUF reader below.
 3. For each ggml type T, takes the first 2 rows (256 values each) of the
    first 2-D tensor of type T in the file of T's ftype, the same rows of the
    f32 file, and records: the f32 rows, llama.cpp's blocks from the file,
    the blocks' dequantisation by libggml-base's dequantize_row_T, and the
    dot product of each row with a fixed activation vector computed by
    libggml-cpu-x64's ggml_vec_dot_T_q8_X_generic on the activation blocks of
    quantize_row_q8_X_ref. The script checks quantize_row_T_ref(rows) equals
    the file's bytes (llama_model_quantize without an imatrix calls _ref).
    It also takes rows 0-15 of blk.1.ffn_gate.weight (every type's file has
    that tensor in the type) for the quantiser and dot tests, without deq.
 4. Adds synthetic rows (zeros, a constant, one outlier, tiny values, wide
    dynamic range, all negative) quantised by quantize_row_T_ref directly, to
    reach branches random weights do not (all-zero groups, the min>0 clamp).

Layout (JSON, gzip): byte strings are base64; float arrays are base64 of
little-endian float32; "dots" are float32 bit patterns (uint32).
  {"llama_cpp": str, "n": 256,
   "activation": {"x": f32[n], "q8_0": bytes, "q8_1": bytes, "q8_k": bytes,
                  "deq_q8_0": f32[n], "deq_q8_k": f32[n]},  (ggml's dequantize_row_q8_0/_q8_K;
                  ggml has no dequantize_row_q8_1)
   "cases": [{"type": loom name, "ggml": ggml type, "source": str,
              "rows": int, "x": f32[rows*n], "blocks": bytes,
              "deq": f32[rows*n], "dots": [u32 per row]}],
   "inputs": {name: f32[...]}}
  A case has either "x" and "deq", or "input" (a key of "inputs", whose
  values are its x) and no "deq".
"""
import base64, ctypes, gzip, json, os, struct, subprocess, sys, tempfile

import numpy as np

BINS = os.path.expanduser("~/.cache/loom/node-llama-cpp-3.21.1/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64/")
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "quant", "testdata", "fixtures.json.gz")
N = 256   # row length of every case
ROWS = 2  # rows taken from each quantised file with their dequantisation
MORE = 16  # rows of a second tensor, blocks and dots only

base = ctypes.CDLL(BINS + "libggml-base.so", mode=ctypes.RTLD_GLOBAL)
ctypes.CDLL(BINS + "libggml.v0.4.0.so", mode=ctypes.RTLD_GLOBAL)
cpu = ctypes.CDLL(BINS + "libggml-cpu-x64.so", mode=ctypes.RTLD_GLOBAL)
llama = ctypes.CDLL(BINS + "libllama.v0.4.0.so")


class QParams(ctypes.Structure):  # llama.h: struct llama_model_quantize_params
    _fields_ = [("nthread", ctypes.c_int32), ("ftype", ctypes.c_int),
                ("output_tensor_type", ctypes.c_int), ("token_embedding_type", ctypes.c_int),
                ("allow_requantize", ctypes.c_bool), ("quantize_output_tensor", ctypes.c_bool),
                ("only_copy", ctypes.c_bool), ("pure", ctypes.c_bool), ("keep_split", ctypes.c_bool),
                ("dry_run", ctypes.c_bool), ("imatrix", ctypes.c_void_p), ("kv_overrides", ctypes.c_void_p),
                ("tt_overrides", ctypes.c_void_p), ("prune_layers", ctypes.c_void_p), ("max_buf_size", ctypes.c_size_t)]


llama.llama_model_quantize_default_params.restype = QParams
llama.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(QParams)]
llama.llama_model_quantize.restype = ctypes.c_uint32

# ggml type: (loom name, C suffix, block, bytes, ftype, activation type)
TYPES = {
    2: ("q4_0", "q4_0", 32, 18, 2, "q8_0"),
    3: ("q4_1", "q4_1", 32, 20, 3, "q8_1"),
    6: ("q5_0", "q5_0", 32, 22, 8, "q8_0"),
    7: ("q5_1", "q5_1", 32, 24, 9, "q8_1"),
    8: ("q8_0", "q8_0", 32, 34, 7, "q8_0"),
    10: ("q2_k", "q2_K", 256, 84, 10, "q8_K"),
    11: ("q3_k", "q3_K", 256, 110, 12, "q8_K"),
    12: ("q4_k", "q4_K", 256, 144, 15, "q8_K"),
    13: ("q5_k", "q5_K", 256, 176, 17, "q8_K"),
    14: ("q6_k", "q6_K", 256, 210, 18, "q8_K"),
}
ACT = {"q8_0": (32, 34), "q8_1": (32, 36), "q8_K": (256, 292)}
SIZES = {0: (1, 4), 1: (1, 2)}
SIZES.update({t: (v[2], v[3]) for t, v in TYPES.items()})


def fptr(a):
    return a.ctypes.data_as(ctypes.c_void_p)


def quantize_ref(suffix, x):
    blk, nb = ACT[suffix] if suffix in ACT else next((v[2], v[3]) for v in TYPES.values() if v[1] == suffix)
    out = np.zeros(len(x) // blk * nb, dtype=np.uint8)
    x = np.ascontiguousarray(x, dtype=np.float32)
    getattr(base, "quantize_row_%s_ref" % suffix)(fptr(x), fptr(out), ctypes.c_int64(len(x)))
    return out.tobytes()


def dequantize(suffix, raw, n):
    out = np.zeros(n, dtype=np.float32)
    src = np.frombuffer(raw, dtype=np.uint8).copy()
    getattr(base, "dequantize_row_%s" % suffix)(fptr(src), fptr(out), ctypes.c_int64(n))
    return out


def vec_dot(suffix, act, w, a, n):
    s = np.zeros(1, dtype=np.float32)
    wb = np.frombuffer(w, dtype=np.uint8).copy()
    ab = np.frombuffer(a, dtype=np.uint8).copy()
    fn = getattr(cpu, "ggml_vec_dot_%s_%s_generic" % (suffix, act))
    fn(ctypes.c_int(n), fptr(s), ctypes.c_size_t(0), fptr(wb), ctypes.c_size_t(0), fptr(ab), ctypes.c_size_t(0), ctypes.c_int(1))
    return struct.unpack("<I", s.tobytes())[0]


def read_gguf(path):
    """Returns {name: (type, dims, bytes)} of a GGUF file (v2/v3)."""
    data = open(path, "rb").read()
    pos = 0

    def take(fmt):
        nonlocal pos
        v = struct.unpack_from("<" + fmt, data, pos)
        pos += struct.calcsize("<" + fmt)
        return v[0]

    def string():
        nonlocal pos
        n = take("Q")
        s = data[pos:pos + n].decode()
        pos += n
        return s

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(t):
        if t in scalar:
            return take(scalar[t])
        if t == 8:
            return string()
        if t == 9:
            et, n = take("I"), take("Q")
            return [value(et) for _ in range(n)]
        raise ValueError("gguf value type %d" % t)

    assert data[:4] == b"GGUF", path
    pos = 4
    take("I")
    nt, nkv = take("Q"), take("Q")
    kv = {}
    for _ in range(nkv):
        k = string()
        kv[k] = value(take("I"))
    infos = []
    for _ in range(nt):
        name = string()
        nd = take("I")
        dims = [take("Q") for _ in range(nd)]
        infos.append((name, dims, take("I"), take("Q")))
    align = kv.get("general.alignment", 32)
    start = (pos + align - 1) // align * align
    out = {}
    for name, dims, t, off in infos:
        blk, nb = SIZES[t]
        nel = int(np.prod(dims))
        out[name] = (t, dims, data[start + off:start + off + nel // blk * nb])
    return out


def b64(b):
    return base64.b64encode(bytes(b)).decode()


def f32b64(a):
    return b64(np.asarray(a, dtype="<f4").tobytes())


def main():
    tmp = tempfile.mkdtemp(prefix="quantfix")
    cfg = os.path.join(tmp, "config.json")
    json.dump({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
               "hidden_size": 256, "intermediate_size": 512, "num_attention_heads": 4,
               "num_key_value_heads": 2, "num_hidden_layers": 2, "vocab_size": 256,
               "max_position_embeddings": 128, "rms_norm_eps": 1e-5, "rope_theta": 10000.0,
               "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2,
               "torch_dtype": "float32"}, open(cfg, "w"))
    run = lambda *a: subprocess.run(["go", "run", "./cmd/loom"] + list(a), cwd=ROOT, check=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    run("init", "--config", cfg, "--out", os.path.join(tmp, "model"), "--dtype", "f32", "--seed", "21")
    f32 = os.path.join(tmp, "f32.gguf")
    run("export", "--format", "gguf", "--type", "f32", "--model", os.path.join(tmp, "model"), "--out", f32)
    src = read_gguf(f32)

    llama.llama_backend_init()
    cpu.ggml_cpu_init()  # fills the f16→f32 table GGML_CPU_FP16_TO_FP32 reads on x86 without F16C
    rng = np.random.default_rng(21)
    act = (rng.standard_normal(N) * 0.7).astype(np.float32)
    acts = {k: quantize_ref(k, act) for k in ACT}
    fx = {"llama_cpp": "node-llama-cpp 3.21.1 prebuilt linux-x64, llama.cpp v0.4.0 (bundle commit 80fb11a)",
          "n": N,
          "activation": {"x": f32b64(act), "q8_0": b64(acts["q8_0"]), "q8_1": b64(acts["q8_1"]),
                         "q8_k": b64(acts["q8_K"]),
                         "deq_q8_0": f32b64(dequantize("q8_0", acts["q8_0"], N)),
                         "deq_q8_k": f32b64(dequantize("q8_K", acts["q8_K"], N))},
          "inputs": {}, "cases": []}

    def add(t, source, x, input_name=None):
        """Appends a case; with input_name, x is stored once in "inputs" and
        the case omits deq (these are the extra quantiser and dot rows)."""
        name, suf, blk, nb, ftype, at = TYPES[t]
        rows = len(x) // N
        blocks = quantize_ref(suf, x)
        rb = N // blk * nb
        dots = [vec_dot(suf, at, blocks[r * rb:(r + 1) * rb], acts[at], N) for r in range(rows)]
        case = {"type": name, "ggml": t, "source": source, "rows": rows, "blocks": b64(blocks), "dots": dots}
        if input_name is None:
            case["x"] = f32b64(x)
            case["deq"] = f32b64(dequantize(suf, blocks, len(x)))
        else:
            fx["inputs"].setdefault(input_name, f32b64(x))
            case["input"] = input_name
        fx["cases"].append(case)
        return blocks

    seen = {}
    for t, (name, suf, blk, nb, ftype, at) in TYPES.items():
        q = os.path.join(tmp, "ftype%d.gguf" % ftype)
        if not os.path.exists(q):
            p = llama.llama_model_quantize_default_params()
            p.ftype, p.nthread = ftype, 1
            if llama.llama_model_quantize(f32.encode(), q.encode(), ctypes.byref(p)) != 0:
                sys.exit("llama_model_quantize ftype %d failed" % ftype)
        tensors = read_gguf(q)
        seen[ftype] = sorted((n, TYPES.get(v[0], ("f32",))[0]) for n, v in tensors.items())
        pick = next(n for n in sorted(tensors) if tensors[n][0] == t and tensors[n][1][0] == N)
        x = np.frombuffer(src[pick][2], dtype="<f4")[:ROWS * N]
        raw = tensors[pick][2][:ROWS * (N // blk) * nb]
        blocks = add(t, "llama_model_quantize ftype %d, %s rows 0-%d" % (ftype, pick, ROWS - 1), x)
        if blocks != raw:
            sys.exit("quantize_row_%s_ref differs from llama_model_quantize's %s" % (suf, pick))
        # More rows of the same file, without deq: blk.1.ffn_gate.weight rows 0-15.
        more = "blk.1.ffn_gate.weight"
        if tensors[more][0] == t:
            x = np.frombuffer(src[more][2], dtype="<f4")[:MORE * N]
            raw = tensors[more][2][:MORE * (N // blk) * nb]
            blocks = add(t, "llama_model_quantize ftype %d, %s rows 0-%d" % (ftype, more, MORE - 1), x, more)
            if blocks != raw:
                sys.exit("quantize_row_%s_ref differs from llama_model_quantize's %s" % (suf, more))

    # Synthetic rows: one row each, quantised by quantize_row_T_ref.
    r = np.random.default_rng(7)
    syn = {
        "zeros": np.zeros(N, np.float32),
        "constant 0.25": np.full(N, 0.25, np.float32),
        "one outlier": np.where(np.arange(N) == 77, 9.0, r.standard_normal(N) * 0.01).astype(np.float32),
        "tiny 1e-20": (r.standard_normal(N) * 1e-20).astype(np.float32),
        "wide range": (r.standard_normal(N) * np.exp(r.uniform(-12, 6, N))).astype(np.float32),
        "all negative": (-np.abs(r.standard_normal(N)) - 0.5).astype(np.float32),
        "half zero groups": np.where((np.arange(N) // 16) % 2 == 0, 0, r.standard_normal(N)).astype(np.float32),
    }
    for t in TYPES:
        for k, x in syn.items():
            add(t, "quantize_row_%s_ref of %s" % (TYPES[t][1], k), x)

    data = json.dumps(fx, separators=(",", ":")).encode()
    with open(OUT, "wb") as f:
        f.write(gzip.compress(data, 9, mtime=0))
    print("wrote %s: %d cases, %d bytes (%d uncompressed)" % (OUT, len(fx["cases"]), os.path.getsize(OUT), len(data)))
    for ft, lst in seen.items():
        print("ftype %d:" % ft, ", ".join("%s=%s" % nt for nt in lst if nt[1] != "f32"))


if __name__ == "__main__":
    main()
