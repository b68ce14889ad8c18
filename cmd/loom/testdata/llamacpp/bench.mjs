// bench.mjs: llama.cpp's decoding speed on a GGUF file, through
// node-llama-cpp's prebuilt CPU build, to compare with `loom bench decode`.
//
//   NODE_PATH=.../node_modules node bench.mjs MODEL.gguf THREADS PROMPT_TOKENS DECODE_TOKENS
//
// Prints JSON: prefill tokens/s, the median and mean ms per decoded token
// (the prompt is token ids 1..PROMPT_TOKENS; decoding is greedy), load time
// and the process's resident memory.
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));

const [modelPath, threadsArg, promptArg, decodeArg] = process.argv.slice(2);
const threads = Number(threadsArg), nPrompt = Number(promptArg), nDecode = Number(decodeArg);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const t0 = performance.now();
const model = await llama.loadModel({ modelPath });
const loadS = (performance.now() - t0) / 1000;
const context = await model.createContext({ contextSize: nPrompt + nDecode + 8, sequences: 1, threads, batchSize: nPrompt });
const sequence = context.getSequence();
const prompt = Array.from({ length: nPrompt }, (_, i) => 1 + i);
const times = [];
let last = performance.now();
const start = last;
let prefillMs = 0;
for await (const tok of sequence.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
  const now = performance.now();
  if (times.length === 0 && prefillMs === 0) prefillMs = now - start; // prompt + first token
  else times.push(now - last);
  last = now;
  if (times.length >= nDecode) break;
}
const sorted = [...times].sort((a, b) => a - b);
const mean = times.reduce((a, b) => a + b, 0) / times.length;
process.stdout.write(JSON.stringify({
  model: path.basename(modelPath), threads, prompt_tokens: nPrompt, decode_tokens: times.length,
  load_s: loadS, prefill_plus_first_ms: prefillMs, ms_per_token_median: sorted[sorted.length >> 1],
  tokens_per_s: 1000 / mean, llama_cpp: "node-llama-cpp 3.21.1 prebuilt (linux-x64 CPU)",
  // The whole Node process (Node itself holds ~40–60 MB): resident now and at most.
  rss_mb: process.memoryUsage().rss / 1048576, peak_rss_mb: process.resourceUsage().maxRSS / 1024,
}) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
