// greedy.mjs: run a GGUF model in llama.cpp (through node-llama-cpp's
// prebuilt CPU binaries) and print, as JSON, llama.cpp's tokenization of a
// prompt and the greedy continuation of given prompt ids with the
// probability llama.cpp gives each chosen token.
//
//   node greedy.mjs MODEL.gguf '{"text": "...", "ids": [..], "n": 32}'
//
// NODE_PATH must reach a node_modules holding node-llama-cpp@3.21.1
// (loom's .ci/run installs it). Used by cmd/loom's TestLlamaCpp.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));

const [modelPath, reqJSON] = process.argv.slice(2);
const req = JSON.parse(reqJSON);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const context = await model.createContext({ contextSize: Math.max(64, req.ids.length + req.n + 8), sequences: 1, threads: 1 });
const sequence = context.getSequence();
const textIds = Array.from(model.tokenize(req.text, false));
const tokens = [], confidence = [];
const gen = sequence.evaluateWithMetadata(req.ids, { confidence: true }, { temperature: 0, yieldEogToken: true });
for await (const out of gen) {
  tokens.push(out.token);
  confidence.push(out.confidence);
  if (tokens.length >= req.n) break;
}
process.stdout.write(JSON.stringify({ text_ids: textIds, tokens, confidence }) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
