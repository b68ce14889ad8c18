#!/usr/bin/python3
"""gen.py trains the tiny SentencePiece models in this directory and records
the reference encodings and decodings that tokenizer/spm_test.go checks.

The oracle is the sentencepiece library itself (Debian bookworm packages
python3-sentencepiece 0.1.97-3+b1 and sentencepiece 0.1.97-3+b1):

    apt-get install -y python3-sentencepiece sentencepiece
    cd tokenizer/testdata/spm && /usr/bin/python3 gen.py /work/shared/data/text/tinyshakespeare.txt

The argument is the tinyshakespeare text (karpathy/char-rnn, MIT; the text
is public domain). Only its first 300,000 characters are used, plus a few
generated lines with accented letters, digits and a user-defined symbol;
the training text is written to a temporary directory and not kept.

Training uses one thread, no sentence shuffling and relative file names
(the trainer records input and model_prefix in the model), so running the
script twice writes identical .model and .json files (checked).

Models (all --normalization_rule_name=identity: no precompiled charsmap):
  bpe.model      --model_type=bpe, byte_fallback, vocab 1000,
                 remove_extra_whitespaces=false (as Llama 2/Mistral)
  unigram.model  --model_type=unigram, byte_fallback, vocab 1000,
                 remove_extra_whitespaces=true (sentencepiece's default)
  unigram_nobf.model  --model_type=unigram, no byte fallback, vocab 400
                 (unknown characters become <unk>)
For each model NAME.json holds, for every text in TEXTS, the ids and
pieces of EncodeAsIds/EncodeAsPieces and DecodeIds of those ids, and for
hand-picked id sequences (control tokens, <unk>, bytes first) DecodeIds.
"""
import json
import os
import sys
import tempfile

import sentencepiece as spm

EXTRA = """Café au lait, naïve façade, über Größe, smörgåsbord.
The <sep> marks a break: 12 + 34 = 46, 2026-12-04, 3.14159.
Zoë and Chloë visited Ærøskøbing in 1999 <sep> again in 2024.
"""

TEXTS = [
    "",
    "Hello world",
    "First Citizen:\nBefore we proceed any further, hear me speak.",
    " leading space",
    "trailing space ",
    "  two leading and   three inner   spaces  ",
    "   ",
    " ",
    "\n",
    "line one\nline two\n\nline four",
    "tabs\tand\ttabs",
    "digits 0123456789 and 3.14159 and 2026-12-04",
    "Café naïve façade über Größe",
    "emoji 🙂👍🏽 and 🦙",
    "中文字符 日本語 한국어",
    "Ærøskøbing Zoë",
    "a<sep>b and <sep> alone",
    "<s> and </s> and <unk> as text",
    "▁already▁escaped",
    "MARCIUS: What's the matter, you dissentious rogues,",
    "x",
    "ü",
    "ÿ€",
    "\u00a0non-breaking\u3000ideographic space",
    "mixed 🙂 café 123 \n end",
]

MODELS = [
    ("bpe", dict(model_type="bpe", vocab_size=1000, byte_fallback=True, remove_extra_whitespaces=False)),
    ("unigram", dict(model_type="unigram", vocab_size=1000, byte_fallback=True, remove_extra_whitespaces=True)),
    ("unigram_nobf", dict(model_type="unigram", vocab_size=400, byte_fallback=False, remove_extra_whitespaces=True)),
]


def main():
    src = sys.argv[1]
    with open(src, encoding="utf-8") as f:
        text = f.read()[:300000]
    here = os.path.dirname(os.path.abspath(__file__))
    with tempfile.TemporaryDirectory() as tmp:
        # Relative names: the trainer records input and model_prefix in the
        # model, and a temporary path would make the files differ per run.
        os.chdir(tmp)
        corpus = "corpus.txt"
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(text)
            f.write(EXTRA * 20)
        for name, opts in MODELS:
            prefix = name
            spm.SentencePieceTrainer.train(
                input=corpus, model_prefix=prefix, normalization_rule_name="identity",
                character_coverage=0.9995, num_threads=1, user_defined_symbols=["<sep>"],
                unk_id=0, bos_id=1, eos_id=2, pad_id=-1, hard_vocab_limit=False,
                shuffle_input_sentence=False, minloglevel=2, **opts)
            with open(prefix + ".model", "rb") as f:
                blob = f.read()
            with open(os.path.join(here, name + ".model"), "wb") as f:
                f.write(blob)
            sp = spm.SentencePieceProcessor(model_proto=blob)
            cases = []
            for t in TEXTS:
                ids = sp.EncodeAsIds(t)
                cases.append({"text": t, "ids": ids, "pieces": sp.EncodeAsPieces(t), "decoded": sp.DecodeIds(ids)})
            sep = sp.PieceToId("<sep>")
            a, b = sp.EncodeAsIds("Hello world"), sp.EncodeAsIds(" world")
            seqs = [
                [1] + a + [2],
                [1, 1] + b,
                [0] + a + [0],
                b,
                b + b,
                [sep] + b,
                [2] + a,
            ]
            if opts["byte_fallback"]:
                bytes_ = [sp.PieceToId("<0x%02X>" % x) for x in "🙂".encode()]
                seqs.append(bytes_ + b)
                seqs.append(b + bytes_)
            decodes = [{"ids": s, "text": sp.DecodeIds(s)} for s in seqs]
            out = {"model": name + ".model", "sentencepiece": spm.__version__, "options": opts,
                   "vocab_size": sp.GetPieceSize(), "cases": cases, "decodes": decodes}
            with open(os.path.join(here, name + ".json"), "w", encoding="utf-8") as f:
                json.dump(out, f, ensure_ascii=False, indent=1)
                f.write("\n")


if __name__ == "__main__":
    main()
