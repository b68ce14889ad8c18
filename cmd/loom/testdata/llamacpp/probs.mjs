// probs.mjs: teacher-forced next-token distributions of GGUF models in
// llama.cpp (through node-llama-cpp's prebuilt CPU binaries): for each
// model and each window of ids, evaluated from an empty context, the full
// probability distribution over the vocabulary after each position
// (temperature 1, no top-k/top-p/min-p truncation: softmax of llama.cpp's
// logits). Prints JSON {"models": [{"probs": [[[p0, p1, ...], ...], ...]}]}.
//
//   node probs.mjs REQUEST.json
//
// REQUEST.json is {"context": N, "models": [{"path": "m.gguf", "windows": [[ids...], ...]}, ...]}.
// NODE_PATH must reach a node_modules holding node-llama-cpp@3.21.1 and
// @node-llama-cpp/linux-x64@3.21.1 (its llama.cpp release "v0.4.0", which
// loads qwen3, gpt2, phi3, gemma2 and gemma3; loom's .ci/run installs it);
// checked with Node v20.20.2. Used by cmd/loom's TestLlamaCppArchs, which
// writes REQUEST.json and runs, e.g.:
//
//   NODE_PATH=~/.cache/loom/node-llama-cpp-3.21.1/node_modules node testdata/llamacpp/probs.mjs /tmp/req.json
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));

const req = JSON.parse(readFileSync(process.argv[2], "utf8"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const results = [];
for (const m of req.models) {
  process.stderr.write(`loading ${m.path}\n`);
  const model = await llama.loadModel({ modelPath: m.path });
  // An f32 KV cache and no flash attention (whose CPU kernel rounds Q to
  // f16): the comparison is of the models, not of llama.cpp's f16 cache.
  const context = await model.createContext({
    contextSize: req.context, sequences: 1, threads: 1, flashAttention: false,
    experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32",
  });
  const sequence = context.getSequence();
  const probs = [];
  for (const w of m.windows) {
    await sequence.clearHistory();
    const out = await sequence.controlledEvaluate(w.map((id) => [id, {
      generateNext: { probabilities: true, options: { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 } },
    }]));
    probs.push(w.map((_, i) => {
      const p = out[i]?.next?.probabilities;
      const row = new Array(m.vocab).fill(0);
      if (p) for (const [tok, v] of p) row[tok] = Number(v.toPrecision(7));
      return row;
    }));
  }
  results.push({ probs });
  await context.dispose();
  await model.dispose();
}
process.stdout.write(JSON.stringify({ models: results }) + "\n");
await llama.dispose();
