#!/usr/bin/python3
"""gen_llamacpp.py records llama.cpp's own tokenisation of bpe.model's
vocabulary as a GGUF "llama" vocabulary, for tokenizer/spm_test.go
(TestSentencePieceLlamaCpp).

It reads bpe.model with the sentencepiece library (pieces, scores, types),
writes a vocabulary-only GGUF v3 file in llama.cpp's layout
(tokenizer.ggml.model = "llama", tokens, scores, token_type,
bos/eos/unknown ids, add_space_prefix; minimal llama.* hyper-parameters;
no tensors) to a temporary directory, and runs gen_llamacpp.mjs, which loads
it with node-llama-cpp 3.21.1 (its bundled libllama, vocabOnly) and
tokenises every text of bpe.json with and without special-token parsing
(llama_tokenize with add_special false, parse_special false/true) and
detokenises the fixture ids (llama_detokenize, no special-token text).
Output: bpe_llamacpp.json.

    apt-get install -y python3-sentencepiece   # 0.1.97-3+b1
    cd tokenizer/testdata/spm && NODE_PATH=$HOME/.cache/loom/node-llama-cpp-3.21.1/node_modules \\
        /usr/bin/python3 gen_llamacpp.py
"""
import json
import os
import struct
import subprocess
import tempfile

import sentencepiece as spm

U32, I32, F32, BOOL, STR, ARR = 4, 5, 6, 7, 8, 9


def gguf_str(s):
    b = s.encode("utf-8")
    return struct.pack("<Q", len(b)) + b


def gguf_kv(key, typ, val):
    out = gguf_str(key) + struct.pack("<I", typ)
    if typ == U32:
        out += struct.pack("<I", val)
    elif typ == F32:
        out += struct.pack("<f", val)
    elif typ == BOOL:
        out += struct.pack("<?", val)
    elif typ == STR:
        out += gguf_str(val)
    elif typ == ARR:
        et, items = val
        out += struct.pack("<IQ", et, len(items))
        for x in items:
            out += {STR: lambda v: gguf_str(v), F32: lambda v: struct.pack("<f", v), I32: lambda v: struct.pack("<i", v)}[et](x)
    return out


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    sp = spm.SentencePieceProcessor(model_file=os.path.join(here, "bpe.model"))
    n = sp.GetPieceSize()
    tokens = [sp.IdToPiece(i) for i in range(n)]
    scores = [sp.GetScore(i) for i in range(n)]

    def typ(i):
        if sp.IsUnknown(i):
            return 2
        if sp.IsControl(i):
            return 3
        if sp.IsByte(i):
            return 6
        if sp.IsUnused(i):
            return 5
        if tokens[i] == "<sep>":  # the user-defined symbol gen.py trains with
            return 4
        return 1
    kvs = [
        ("general.architecture", STR, "llama"),
        ("general.name", STR, "spm-bpe-vocab"),
        ("llama.context_length", U32, 256),
        ("llama.embedding_length", U32, 64),
        ("llama.block_count", U32, 1),
        ("llama.feed_forward_length", U32, 128),
        ("llama.attention.head_count", U32, 4),
        ("llama.attention.head_count_kv", U32, 4),
        ("llama.rope.dimension_count", U32, 16),
        ("llama.attention.layer_norm_rms_epsilon", F32, 1e-5),
        ("llama.vocab_size", U32, n),
        ("tokenizer.ggml.model", STR, "llama"),
        ("tokenizer.ggml.tokens", ARR, (STR, tokens)),
        ("tokenizer.ggml.scores", ARR, (F32, scores)),
        ("tokenizer.ggml.token_type", ARR, (I32, [typ(i) for i in range(n)])),
        ("tokenizer.ggml.bos_token_id", U32, sp.bos_id()),
        ("tokenizer.ggml.eos_token_id", U32, sp.eos_id()),
        ("tokenizer.ggml.unknown_token_id", U32, sp.unk_id()),
        ("tokenizer.ggml.add_space_prefix", BOOL, True),
        ("tokenizer.ggml.add_bos_token", BOOL, True),
    ]
    blob = b"GGUF" + struct.pack("<IQQ", 3, 0, len(kvs)) + b"".join(gguf_kv(*kv) for kv in kvs)
    blob += b"\0" * (-len(blob) % 32)
    with open(os.path.join(here, "bpe.json"), encoding="utf-8") as f:
        fx = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "vocab.gguf")
        with open(path, "wb") as f:
            f.write(blob)
        req = {"gguf": path, "texts": [c["text"] for c in fx["cases"]], "ids": [c["ids"] for c in fx["cases"]]}
        res = subprocess.run(["node", os.path.join(here, "gen_llamacpp.mjs")], input=json.dumps(req),
                             stdout=subprocess.PIPE, text=True, check=True)
    out = json.loads(res.stdout)
    out["model"] = "bpe.model"
    with open(os.path.join(here, "bpe_llamacpp.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
