// Drives a running `loom serve` with the official OpenAI Node SDK
// (openai@6.30.1, the last release for Node 20) and checks what a client
// sees: chat, streaming with usage, completions, embeddings in the SDK's
// default base64 encoding, n = 2, json_schema output, and errors surfacing
// as the SDK's APIError with the right status.
//
// usage: node openai_sdk.mjs NODE_MODULES BASE_URL API_KEY MODEL [JSON_MODEL]
// (JSON_MODEL, default MODEL, serves the json_schema check: it needs a
// context long enough for a whole object.)
// Prints one line per check; exits 1 at the first failure.
import { createRequire } from "node:module";
import path from "node:path";

const [nodeModules, baseURL, apiKey, model, jsonModel = model] = process.argv.slice(2);
const require = createRequire(path.join(nodeModules, "noop.js"));
const { default: OpenAI, APIError } = await import(require.resolve("openai"));

const client = new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 60_000 });
let failed = false;
function check(name, ok, detail) {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
  if (!ok) failed = true;
}
async function expectError(name, status, fn) {
  try {
    await fn();
    check(name, false, "no error");
  } catch (e) {
    check(name, e instanceof APIError && e.status === status, `${e.constructor.name} ${e.status} ${e.message}`);
  }
}

const models = await client.models.list();
check("models.list", models.data.some((m) => m.id === model), JSON.stringify(models.data.map((m) => m.id)));

const chat = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "To be, or not" }], max_tokens: 8, temperature: 0,
});
check("chat", typeof chat.choices[0].message.content === "string" && chat.choices[0].message.role === "assistant" &&
  chat.usage.completion_tokens > 0 && ["stop", "length"].includes(chat.choices[0].finish_reason), JSON.stringify(chat.choices[0]));

let text = "", usage = null, chunks = 0;
const stream = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "To be, or not" }], max_tokens: 8, temperature: 0, stream: true,
  stream_options: { include_usage: true },
});
for await (const c of stream) {
  chunks++;
  if (c.choices.length > 0) text += c.choices[0].delta.content ?? "";
  if (c.usage) usage = c.usage;
}
check("chat stream", text === chat.choices[0].message.content && usage && usage.completion_tokens === chat.usage.completion_tokens,
  `${chunks} chunks, ${JSON.stringify(text)} vs ${JSON.stringify(chat.choices[0].message.content)}`);

const comp = await client.completions.create({ model, prompt: "To be, or not", max_tokens: 6, temperature: 0, logprobs: 2 });
check("completions", typeof comp.choices[0].text === "string" && comp.choices[0].logprobs.tokens.length === comp.usage.completion_tokens,
  JSON.stringify(comp.choices[0].text));

const emb = await client.embeddings.create({ model, input: ["hello", "world"] });
const v = emb.data[0].embedding;
const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
check("embeddings (base64 by default)", emb.data.length === 2 && v.length > 0 && Math.abs(norm - 1) < 1e-3, `dim ${v.length}, norm ${norm}`);

const two = await client.chat.completions.create({
  model, messages: [{ role: "user", content: "Hi" }], max_tokens: 4, n: 2, seed: 7,
});
check("n = 2", two.choices.length === 2 && two.choices[1].index === 1, `${two.choices.length} choices`);

const schema = { type: "object", properties: { name: { type: "string", maxLength: 12 }, age: { type: "integer" } },
  required: ["name", "age"], additionalProperties: false };
const js = await client.chat.completions.create({
  model: jsonModel, messages: [{ role: "user", content: "A person as JSON" }], max_tokens: 400, seed: 1,
  response_format: { type: "json_schema", json_schema: { name: "person", schema, strict: true } },
});
let parsed = null;
try { parsed = JSON.parse(js.choices[0].message.content); } catch {}
check("json_schema", js.choices[0].finish_reason === "stop" && parsed && typeof parsed.name === "string" && Number.isInteger(parsed.age) && Object.keys(parsed).length === 2,
  js.choices[0].message.content);

await expectError("unknown model is a 400", 400, () =>
  client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }));
await expectError("temperature out of range is a 400", 400, () =>
  client.chat.completions.create({ model, messages: [{ role: "user", content: "x" }], temperature: 5 }));
await expectError("wrong key is a 401", 401, () =>
  new OpenAI({ baseURL, apiKey: "wrong", maxRetries: 0 }).models.list());

process.exit(failed ? 1 : 0);
