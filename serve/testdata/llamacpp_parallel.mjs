// llamacpp_parallel.mjs: the same load as `loom bench serve`, run in
// llama.cpp (node-llama-cpp 3.21.1's prebuilt CPU build): N sequences of
// one context, each continuing the same prompt ids greedily for a number
// of tokens, all started together (llama.cpp batches the sequences' decode
// steps). Prints one JSON object with load.Result's field names.
//
//   NODE_PATH=…/node_modules node llamacpp_parallel.mjs MODEL.gguf '{"ids": [..], "n": 64, "sequences": 16, "threads": 1, "warmup": 1}'
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? ".", "x.js"));
const { getLlama } = await import(require.resolve("node-llama-cpp"));

const [modelPath, reqJSON] = process.argv.slice(2);
const req = JSON.parse(reqJSON);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
const perSeq = req.ids.length + req.n + 8;
const context = await model.createContext({
  contextSize: perSeq * req.sequences, sequences: req.sequences, threads: req.threads,
  batchSize: Math.max(512, req.ids.length * req.sequences),
});

function quantile(xs, q) {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(Math.max(Math.round(q * s.length) - 1, 0), s.length - 1)];
}

// One round: every sequence started together from an empty history, each
// timed.
const sequences = Array.from({ length: req.sequences }, () => context.getSequence());
async function round() {
  const ttft = [], gaps = [], totals = [];
  let tokens = 0;
  await Promise.all(sequences.map((seq) => seq.clearHistory()));
  const t0 = performance.now();
  const times = [];
  await Promise.all(sequences.map(async (seq) => {
    const ts = [];
    times.push(ts);
    let last = performance.now(), n = 0;
    const start = last;
    for await (const _ of seq.evaluate(req.ids, { temperature: 0 })) {
      const now = performance.now();
      if (n === 0) ttft.push(now - start); else gaps.push(now - last);
    ts.push(now);
      last = now;
      if (++n >= req.n) break;
    }
    tokens += n;
    totals.push(performance.now() - start);
  }));
  // Decoding alone: tokens after the moment every sequence has its first,
  // over the time from then to the last token (load.Result's field).
  const firstAll = Math.max(...times.map((ts) => ts[0]));
  const lastAll = Math.max(...times.map((ts) => ts[ts.length - 1]));
  const decoded = times.reduce((n, ts) => n + ts.filter((t) => t > firstAll).length, 0);
  return { ttft, gaps, totals, tokens, seconds: (performance.now() - t0) / 1000, decode: decoded / ((lastAll - firstAll) / 1000) };
}

// req.warmup rounds first, not counted (as `loom bench serve --warmup`).
for (let i = 0; i < (req.warmup ?? 0); i++) await round();
const { ttft, gaps, totals, tokens, seconds, decode } = await round();
process.stdout.write(JSON.stringify({
  clients: req.sequences, requests: req.sequences, errors: 0, generated_tokens: tokens, seconds,
  tokens_per_s: tokens / seconds, ttft_p50_ms: quantile(ttft, 0.5), ttft_p99_ms: quantile(ttft, 0.99),
  itl_p50_ms: quantile(gaps, 0.5), itl_p99_ms: quantile(gaps, 0.99), itl_max_ms: quantile(gaps, 1),
  request_p50_ms: quantile(totals, 0.5), decode_tokens_per_s: decode,
  ttft_samples_ms: ttft, itl_samples_ms: gaps, tokens_per_request: tokens / req.sequences,
  prompt_tokens_per_request: req.ids.length,
}) + "\n");
await context.dispose();
await model.dispose();
await llama.dispose();
