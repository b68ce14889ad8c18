// gen_golden.mjs renders every template in templates/ on every conversation
// in conversations.json with @huggingface/jinja (the reference renderer of
// Hugging Face chat templates in JavaScript) and writes the results to
// golden/<template>/<case>.txt, or golden/<template>/<case>.err (the
// exception's message) when the template raises. The Go tests in package
// chat compare Template.Render byte for byte against these files.
//
// Run by hand (see README.md): it is not run by `go test`.
//
//   H=${XDG_CACHE_HOME:-$HOME/.cache}/loom/hf-jinja
//   mkdir -p $H && (cd $H && npm init -y >/dev/null && npm install @huggingface/jinja@0.5.11)
//   NODE_PATH=$H/node_modules node chat/testdata/gen_golden.mjs
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
// ESM ignores NODE_PATH; resolve through it explicitly.
const resolved = require.resolve("@huggingface/jinja", {
  paths: (process.env.NODE_PATH || "").split(path.delimiter).filter(Boolean),
});
const { Template } = require(resolved);
const version = JSON.parse(
  fs.readFileSync(path.join(resolved.split("/dist/")[0], "package.json"), "utf8"),
).version;
const want = "0.5.11";
if (version !== want) {
  console.error(`@huggingface/jinja is ${version}, want ${want}`);
  process.exit(1);
}

const dir = path.dirname(fileURLToPath(import.meta.url));
const conv = JSON.parse(fs.readFileSync(path.join(dir, "conversations.json"), "utf8"));
const specials = JSON.parse(fs.readFileSync(path.join(dir, "templates.json"), "utf8"));

// strftime_now is pinned to noon of 2 Jan 2026 (the Go tests use the same
// clock) by fixing what `new Date()` returns; the library's own strftime
// then formats it (its month names come from Intl in the en-US locale).
const RealDate = Date;
const fixed = RealDate.UTC(2026, 0, 2, 12, 0, 0);
globalThis.Date = class extends RealDate {
  constructor(...args) {
    super(...(args.length ? args : [fixed]));
  }
  static now() {
    return fixed;
  }
};

const out = path.join(dir, "golden");
fs.rmSync(out, { recursive: true, force: true });
for (const file of fs.readdirSync(path.join(dir, "templates")).sort()) {
  if (!file.endsWith(".jinja")) continue;
  const name = file.slice(0, -".jinja".length);
  const sp = specials[name];
  if (!sp) throw new Error(`templates.json has no entry for ${name}`);
  const tmpl = new Template(fs.readFileSync(path.join(dir, "templates", file), "utf8"));
  fs.mkdirSync(path.join(out, name), { recursive: true });
  for (const c of conv.cases) {
    const ctx = {
      messages: c.messages,
      add_generation_prompt: c.add_generation_prompt,
      bos_token: sp.bos_token,
      eos_token: sp.eos_token,
    };
    if (c.tools) ctx.tools = conv.tools;
    let text, ext;
    try {
      text = tmpl.render(ctx);
      ext = ".txt";
    } catch (e) {
      text = e.message + "\n";
      ext = ".err";
    }
    fs.writeFileSync(path.join(out, name, c.name + ext), text);
  }
}
console.log(`wrote ${out} with @huggingface/jinja ${version}`);
