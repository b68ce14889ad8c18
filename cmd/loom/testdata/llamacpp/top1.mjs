// top1.mjs: teacher-forced next-token choices of a GGUF model in llama.cpp
// (through node-llama-cpp's prebuilt CPU binaries): for each window of ids,
// evaluated from an empty context, the most probable next token after each
// of its positions. Prints JSON {"top1": [[...], ...]}.
//
//   node top1.mjs MODEL.gguf '{"windows": [[ids...], ...]}'
//
// NODE_PATH must reach a node_modules holding node-llama-cpp@3.21.1. Used by
// cmd/loom's TestLlamaCppKQuants.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));

const [modelPath, reqJSON] = process.argv.slice(2);
const req = JSON.parse(reqJSON);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const longest = Math.max(...req.windows.map((w) => w.length));
const context = await model.createContext({ contextSize: Math.max(64, longest + 8), sequences: 1, threads: 1 });
const sequence = context.getSequence();
const top1 = [];
for (const w of req.windows) {
  await sequence.clearHistory();
  const out = await sequence.controlledEvaluate(w.map((id) => [id, { generateNext: { token: true, options: { temperature: 0 } } }]));
  top1.push(w.map((_, i) => out[i]?.next?.token ?? -1));
}
process.stdout.write(JSON.stringify({ top1 }) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
