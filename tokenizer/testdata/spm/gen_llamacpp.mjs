// gen_llamacpp.mjs: run by gen_llamacpp.py (see there for the command). It
// reads {gguf, texts, ids} as JSON on stdin, loads the vocabulary-only GGUF
// with node-llama-cpp 3.21.1 (bundled libllama, CPU, vocabOnly) and prints
// {node_llama_cpp, cases: [{text, ids, ids_special, decoded}]}: ids from
// model.tokenize(text, false) and model.tokenize(text, true) (llama_tokenize,
// add_special false, parse_special false/true), decoded from
// model.detokenize(fixture ids, false).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
const require = createRequire(process.env.NODE_PATH + "/");
const { getLlama } = await import(require.resolve("node-llama-cpp"));

let input = "";
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath: req.gguf, vocabOnly: true });
const cases = req.texts.map((text, i) => ({
  text,
  ids: Array.from(model.tokenize(text, false)),
  ids_special: Array.from(model.tokenize(text, true)),
  decoded: model.detokenize(req.ids[i], false),
}));
const pkg = JSON.parse(readFileSync(process.env.NODE_PATH + "/node-llama-cpp/package.json", "utf8"));
process.stdout.write(JSON.stringify({ node_llama_cpp: pkg.version, cases }));
await model.dispose();
await llama.dispose();
