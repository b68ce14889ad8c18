#!/usr/bin/env node
// gen_hf_fixtures.js builds the Hugging Face tokenizer.json fixtures in
// ./hf/ and the reference token ids for the corpus in ./corpus/, using the
// official Hugging Face `tokenizers` library (Rust, through its Node
// bindings) as the oracle.
//
// Run it from any scratch directory outside the repository:
//
//   cd <scratch> && npm install tokenizers@0.13.3 tokenizers-linux-x64-gnu@0.13.4-rc2 \
//     && NODE_PATH=<scratch>/node_modules node /work/main/tokenizer/testdata/gen_hf_fixtures.js
//
// (tokenizers@0.13.3 on npm is the napi-rs rewrite of the bindings; its
// native part is the separate package tokenizers-linux-x64-gnu, whose
// 0.13.4-rc2 build embeds Rust core tokenizers 0.13.3.)
//
// The output is deterministic: running it twice gives byte-identical files.
// It writes only under ./hf/ (next to this script) and a temporary
// directory, which it removes.
//
// How the vocabularies are made. The Node bindings expose no trainer
// constructor: Tokenizer.train(files) always uses the model's default
// trainer, i.e. BpeTrainer::default() (vocab_size 30000, min_frequency 0,
// no special tokens, no initial alphabet). On this small corpus that runs
// until no pair is left (~6000 merges). The BPE trainer is greedy, so the
// merges it makes before reaching N tokens do not depend on when it stops;
// cutting the trained merge list right after the merge that creates the N-th
// token gives exactly what BpeTrainer{vocab_size: N} would. Special tokens
// (BpeTrainer special_tokens) are put first in the vocabulary, and an
// initial alphabet adds characters; both only renumber tokens in a way that
// keeps their order, and the trainer breaks ties between equally frequent
// pairs by that order, so the merges are unchanged. truncateTrained() below
// applies that renumbering and cut. Everything else (normalizers,
// pre-tokenizers, decoders, post-processors, added tokens, the final
// tokenizer.json text) is made and written by the library; JSON is edited
// by hand only where the 0.13.3 JavaScript API cannot express a component
// (a Split pre-tokenizer with a regex, the ByteLevel decoder), and each
// edited document is loaded back with Tokenizer.fromString.

'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const tk = require('tokenizers');

const HERE = __dirname;
const CORPUS = path.join(HERE, 'corpus');
const OUT = path.join(HERE, 'hf');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'loom-hf-fixtures-'));

function pkgVersion(name) {
  try {
    return require(name + '/package.json').version;
  } catch (e) {
    return 'unknown';
  }
}
const LIBRARY = `tokenizers ${pkgVersion('tokenizers')} (npm, native ${
  'tokenizers-linux-x64-gnu'} ${pkgVersion('tokenizers-linux-x64-gnu')}, Rust core 0.13.3)`;

const CORPUS_FILES = ['english.txt', 'code.txt', 'multilingual.txt', 'emoji.txt'];
// Which lines get per-line cases. To keep testdata small, english.txt has
// them only for its first 40 lines and for the modern-English part at its
// end, not for the rest of the Shakespeare (whose whole-file cases are
// still there). Every other file has them for all lines.
const SHAKESPEARE_LINES_KEPT = 40;
// add_special_tokens values used for per-line cases. Whole-file and extra
// cases always have both; per-line cases only have false, because with true
// every tokenizer here just prepends its BOS (or adds nothing, gpt2), and
// [false, true] takes testdata over ~2 MB (2.3 MB; 2.8 MB if also
// SHAKESPEARE_LINES_KEPT = Infinity).
const LINE_SPECIALS = [false];
function lineCaseFilter(file, lines) {
  if (file !== 'english.txt') return () => true;
  const modern = lines.findIndex((l) => l.startsWith('=== Modern English'));
  if (modern < 0) throw new Error('english.txt: no modern-English marker');
  return (i) => i < SHAKESPEARE_LINES_KEPT || i >= modern;
}

// Hand-written strings encoded as extra cases.
const EXTRAS = [
  '',
  ' ',
  '  leading spaces',
  'trailing   ',
  '\n\n\n',
  '<|endoftext|> inside text',
  'text<s>with specials</s>',
  '\u0301', // a lone combining acute accent
  '\u{1F468}\u200D\u{1F469}\u200D\u{1F467}\u200D\u{1F466}', // family: man, woman, girl, boy (ZWJ)
  'Hello world',
  'Hello, world! How are you?',
  " I'm DON'T you'LL we'Ve it'S",
  'x<|endoftext|>y<|endoftext|><|endoftext|>',
  '<|begin_of_text|>Hello<|eot_id|>',
  '<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>',
  '<s> <s>  </s>',
  '<unk>',
  '<0x41> is text, not a byte token',
  '\u2581already\u2581has\u2581markers \u2581 and \u2581\u2581',
  'a\r\nb\rc\nd',
  '\t\ttwo tabs',
  '1234567890 3.14159 1,000,000',
  'caf\u00e9 vs cafe\u0301',
  '\u00a0\u3000\u2028\u2029\u200b\ufeff',
  '\u0e2a\u0e27\u0e31\u0e2a\u0e14\u0e35 \u4f60\u597d \u3053\u3093\u306b\u3061\u306f \uc548\ub155',
  '\u{1F44B}\u{1F3FD} \u{1F1FA}\u{1F1F8} 1\uFE0F\u20E3 \u{1F3F4}\u{E0067}\u{E0062}\u{E0073}\u{E0063}\u{E0074}\u{E007F}',
  'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  '\u0130stanbul \u0131\u015f\u0131k',
  '    def f(x):\n        return x  \n',
];

// ---------------------------------------------------------------------------
// small helpers

function readJSON(p) {
  return JSON.parse(fs.readFileSync(p, 'utf8'));
}

// serialize returns the library's JSON for a tokenizer.
function serialize(tok) {
  const p = path.join(TMP, 'ser.json');
  tok.save(p, false);
  return readJSON(p);
}

// fromObject loads a (possibly hand-edited) tokenizer.json document.
function fromObject(obj) {
  return tk.Tokenizer.fromString(JSON.stringify(obj));
}

// components returns the library's serialization of the pipeline pieces set
// by configure() on an empty BPE tokenizer.
function components(configure) {
  const tok = new tk.Tokenizer(tk.BPE.empty());
  configure(tok);
  const j = serialize(tok);
  return {
    normalizer: j.normalizer,
    pre_tokenizer: j.pre_tokenizer,
    post_processor: j.post_processor,
    decoder: j.decoder,
  };
}

function splitLines(text) {
  // Lines keep their "\n" (so "\r\n" lines keep both); a last line without
  // "\n" is kept; only "\n" separates lines (not \r, U+2028, ...).
  return text.match(/[^\n]*\n|[^\n]+$/g) || [];
}

function cmpCodePoint(a, b) {
  return a.codePointAt(0) - b.codePointAt(0);
}

// train runs the library's own BPE trainer (BpeTrainer::default()) over
// files with the given pipeline and returns the trained model JSON.
function train(configure, files) {
  const tok = new tk.Tokenizer(tk.BPE.empty());
  configure(tok);
  // The trainer draws progress bars; keep stdout for our own messages.
  tok.train(files);
  const m = serialize(tok).model;
  if (m.type !== 'BPE') throw new Error('trained model is not BPE');
  return m;
}

// truncateTrained turns a model trained by BpeTrainer::default() into the
// model BpeTrainer{vocab_size: target, special_tokens: prefix,
// initial_alphabet: alphabet} would have produced (see the header).
function truncateTrained(model, {prefix = [], alphabet = null, target}) {
  const idToTok = [];
  for (const [t, id] of Object.entries(model.vocab)) idToTok[id] = t;
  const merges = model.merges.map((m) => {
    const parts = m.split(' ');
    if (parts.length !== 2) throw new Error('unexpected merge ' + JSON.stringify(m));
    return parts;
  });
  // Tokens created by merges, in creation order; the rest is the alphabet.
  const created = [];
  const createdSet = new Set();
  for (const [a, b] of merges) {
    const t = a + b;
    if (!(t in model.vocab)) throw new Error('merge result not in vocab: ' + t);
    if (!createdSet.has(t)) {
      createdSet.add(t);
      created.push(t);
    }
  }
  const trainedAlphabet = idToTok.filter((t) => !createdSet.has(t));
  // Check the layout the trainer promises: alphabet ids first (sorted by code
  // point), then merged tokens in creation order.
  trainedAlphabet.forEach((t, i) => {
    if (model.vocab[t] !== i) throw new Error('alphabet not first: ' + t);
    if ([...t].length !== 1) throw new Error('alphabet entry is not one char: ' + t);
    if (i > 0 && cmpCodePoint(trainedAlphabet[i - 1], t) >= 0) throw new Error('alphabet not sorted');
  });
  created.forEach((t, i) => {
    if (model.vocab[t] !== trainedAlphabet.length + i) throw new Error('merged ids out of order: ' + t);
  });

  let alpha = trainedAlphabet;
  if (alphabet) {
    const full = new Set(alphabet);
    for (const c of trainedAlphabet) {
      if (!full.has(c)) throw new Error('trained char outside the initial alphabet: ' + c);
    }
    alpha = [...full].sort(cmpCodePoint);
  }
  const base = [...prefix, ...alpha];
  if (new Set(base).size !== base.length) throw new Error('prefix overlaps alphabet');
  const need = target - base.length;
  if (need < 0 || need > created.length) throw new Error(`cannot reach vocab size ${target}`);

  const vocab = Object.create(null);
  const outTokens = [...base, ...created.slice(0, need)];
  outTokens.forEach((t, i) => {
    vocab[t] = i;
  });
  // Keep merges up to and including the one that creates the last kept token.
  const outMerges = [];
  const seen = new Set();
  for (const [a, b] of merges) {
    if (seen.size === need) break;
    outMerges.push(a + ' ' + b);
    seen.add(a + b);
  }
  return {vocab, merges: outMerges, size: outTokens.length};
}

function bpeModel(v, opts = {}) {
  return {
    type: 'BPE',
    dropout: null,
    unk_token: opts.unk_token ?? null,
    continuing_subword_prefix: null,
    end_of_word_suffix: null,
    fuse_unk: opts.fuse_unk ?? false,
    byte_fallback: opts.byte_fallback ?? false,
    vocab: v.vocab,
    merges: v.merges,
  };
}

function tokenizerDoc(comp, model) {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [],
    normalizer: comp.normalizer ?? null,
    pre_tokenizer: comp.pre_tokenizer ?? null,
    post_processor: comp.post_processor ?? null,
    decoder: comp.decoder ?? null,
    model,
  };
}

// save writes tok (pretty, like Python's save()) and returns the path.
function save(tok, name) {
  const p = path.join(OUT, name);
  tok.save(p, true);
  return p;
}

// The ByteLevel decoder exactly as GPT-2 and Llama-3 tokenizer.json files
// spell it (there is no byteLevelDecoder() in the 0.13.3 Node API).
const BYTE_LEVEL_DECODER = {type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true};

const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const corpusPath = (f) => path.join(CORPUS, f);
const TRAIN_FILES = ['english.txt', 'code.txt', 'multilingual.txt'].map(corpusPath);

// ---------------------------------------------------------------------------
// gpt2.json

function buildGPT2() {
  const configure = (tok) => {
    tok.setPreTokenizer(tk.byteLevelPreTokenizer(false, true));
    tok.setPostProcessor(tk.byteLevelProcessing(true));
  };
  const trained = train(configure, TRAIN_FILES);
  const v = truncateTrained(trained, {alphabet: tk.byteLevelAlphabet(), target: 2000});
  // As in GPT-2's vocab.json, <|endoftext|> is also the last model token.
  v.vocab['<|endoftext|>'] = v.size;
  const comp = components(configure);
  comp.decoder = BYTE_LEVEL_DECODER;
  const tok = fromObject(tokenizerDoc(comp, bpeModel(v)));
  tok.addAddedTokens([new tk.AddedToken('<|endoftext|>', true)]);
  return tok;
}

// ---------------------------------------------------------------------------
// llama3.json

const LLAMA3_SPECIALS = [
  '<|begin_of_text|>',
  '<|end_of_text|>',
  '<|reserved_special_token_0|>',
  '<|reserved_special_token_1|>',
  '<|reserved_special_token_2|>',
  '<|reserved_special_token_3|>',
  '<|start_header_id|>',
  '<|end_header_id|>',
  '<|reserved_special_token_4|>',
  '<|eot_id|>',
];

// llama3Components: Sequence[Split(regex, Isolated), ByteLevel(no prefix
// space, no regex)]. splitPreTokenizer() in the Node API only makes a
// literal-string pattern, so the pattern is changed to {"Regex": ...} by
// hand.
function llama3Components(configure) {
  const comp = components((tok) => {
    tok.setPreTokenizer(
      tk.sequencePreTokenizer([
        tk.splitPreTokenizer('PLACEHOLDER', 'isolated', false),
        tk.byteLevelPreTokenizer(false, false),
      ]),
    );
    if (configure) configure(tok);
  });
  const split = comp.pre_tokenizer.pretokenizers[0];
  if (split.type !== 'Split' || split.pattern.String !== 'PLACEHOLDER') {
    throw new Error('unexpected Split serialization: ' + JSON.stringify(split));
  }
  split.pattern = {Regex: LLAMA3_PATTERN};
  return comp;
}

function buildLlama3() {
  // Train with the real pre-tokenizer (regex Split + ByteLevel).
  const trainComp = llama3Components();
  const trainer = fromObject(tokenizerDoc(trainComp, bpeModel({vocab: {}, merges: []})));
  trainer.train(TRAIN_FILES);
  const trained = serialize(trainer).model;
  const v = truncateTrained(trained, {alphabet: tk.byteLevelAlphabet(), target: 2000});
  const bos = v.size; // <|begin_of_text|>
  const comp = llama3Components((tok) => {
    tok.setPostProcessor(
      tk.templateProcessing('<|begin_of_text|> $A', '<|begin_of_text|> $A <|begin_of_text|>:1 $B:1', [
        ['<|begin_of_text|>', bos],
      ]),
    );
  });
  comp.decoder = BYTE_LEVEL_DECODER;
  const tok = fromObject(tokenizerDoc(comp, bpeModel(v)));
  tok.addAddedTokens(LLAMA3_SPECIALS.map((s) => new tk.AddedToken(s, true)));
  if (tok.tokenToId('<|begin_of_text|>') !== bos) throw new Error('bos id');
  return tok;
}

// ---------------------------------------------------------------------------
// llama2.json and llama2_metaspace.json

const BYTE_TOKENS = Array.from({length: 256}, (_, i) => '<0x' + i.toString(16).toUpperCase().padStart(2, '0') + '>');

// Llama-2 is trained on English, code and only the Latin-script lines of the
// multilingual file, so that other scripts (and all emoji) are not in the
// vocabulary and go through byte fallback.
function latinTrainingFile() {
  const text = fs.readFileSync(corpusPath('multilingual.txt'), 'utf8');
  const keep = splitLines(text).filter((l) => /^[\p{Script=Latin}\p{Script=Common}\p{Script=Inherited}]*$/u.test(l));
  const p = path.join(TMP, 'multilingual-latin.txt');
  fs.writeFileSync(p, keep.join(''));
  return p;
}

function llama2Specials() {
  return ['<unk>', '<s>', '</s>'].map((s) => new tk.AddedToken(s, true, {normalized: false}));
}

function llama2Template(tok) {
  tok.setPostProcessor(tk.templateProcessing('<s> $A', '<s> $A <s>:1 $B:1', [['<s>', 1]]));
}

function buildLlama2() {
  // SentencePiece does not merge across spaces and Llama-2 has no newline
  // piece (it uses <0x0A>), so train on words: drop "\n" and split at "▁".
  const trained = train(
    (tok) => {
      tok.setPreTokenizer(
        tk.sequencePreTokenizer([tk.splitPreTokenizer('\n', 'removed', false), tk.metaspacePreTokenizer('\u2581', true)]),
      );
    },
    [corpusPath('english.txt'), corpusPath('code.txt'), latinTrainingFile()],
  );
  const v = truncateTrained(trained, {prefix: ['<unk>', '<s>', '</s>', ...BYTE_TOKENS], target: 2000});
  for (const t of Object.keys(v.vocab)) {
    if (t.includes(' ')) throw new Error('token with a space: ' + JSON.stringify(t));
  }
  const opts = {unk_token: '<unk>', fuse_unk: true, byte_fallback: true};

  const comp = components((tok) => {
    tok.setNormalizer(tk.sequenceNormalizer([tk.prependNormalizer('\u2581'), tk.replace(' ', '\u2581')]));
    tok.setDecoder(
      tk.sequenceDecoder([tk.replaceDecoder('\u2581', ' '), tk.byteFallbackDecoder(), tk.fuseDecoder(), tk.stripDecoder(' ', 1, 0)]),
    );
    llama2Template(tok);
  });
  const tok = fromObject(tokenizerDoc(comp, bpeModel(v, opts)));
  tok.addAddedTokens(llama2Specials());

  // The Metaspace form: Replace normalizer + Metaspace pre-tokenizer (which
  // adds the "▁" prefix only when the text does not already start with one,
  // and splits at "▁"), decoded by ByteFallback then Metaspace. (Not
  // ByteFallback, Fuse, Metaspace: the Metaspace decoder drops every "▁" of
  // its first token rather than turning it into a space, so after Fuse it
  // would delete all the spaces.)
  const compMS = components((tok) => {
    tok.setNormalizer(tk.replace(' ', '\u2581'));
    tok.setPreTokenizer(tk.metaspacePreTokenizer('\u2581', true));
    tok.setDecoder(tk.sequenceDecoder([tk.byteFallbackDecoder(), tk.metaspaceDecoder('\u2581', true)]));
    llama2Template(tok);
  });
  const tokMS = fromObject(tokenizerDoc(compMS, bpeModel(v, opts)));
  tokMS.addAddedTokens(llama2Specials());
  return [tok, tokMS];
}

// ---------------------------------------------------------------------------
// merges as ["a", "b"] pairs

// pairsForm rewrites the "merges" array of a pretty-printed tokenizer.json
// from "a b" strings to ["a", "b"] pairs, in the layout serde_json's pretty
// printer (and so tokenizers >= 0.20) uses, leaving every other byte alone.
function pairsForm(text) {
  const start = text.indexOf('\n    "merges": [\n');
  if (start < 0) throw new Error('no merges array');
  const bodyStart = text.indexOf('\n', start + 1) + 1;
  const end = text.indexOf('\n    ]', bodyStart);
  const lines = text.slice(bodyStart, end).split('\n');
  const out = lines.map((line, i) => {
    const m = /^      (".*")(,?)$/.exec(line);
    if (!m) throw new Error('unexpected merges line: ' + line);
    const parts = JSON.parse(m[1]).split(' ');
    if (parts.length !== 2) throw new Error('bad merge ' + m[1]);
    const last = i === lines.length - 1;
    return `      [\n        ${JSON.stringify(parts[0])},\n        ${JSON.stringify(parts[1])}\n      ]${last ? '' : ','}`;
  });
  return text.slice(0, bodyStart) + out.join('\n') + text.slice(end);
}

// ---------------------------------------------------------------------------
// reference ids

async function runCases(tok) {
  const cases = [];
  const add = async (c, text, withDecoded, specials = [false, true]) => {
    for (const special of specials) {
      const enc = await tok.encode(text, null, {addSpecialTokens: special});
      const ids = enc.getIds();
      const out = {file: c.file, line: c.line, special};
      if (c.text !== undefined) out.text = c.text;
      out.ids = ids;
      if (withDecoded) out.decoded = await tok.decode(ids, false);
      cases.push(out);
    }
  };
  for (const f of CORPUS_FILES) {
    const text = fs.readFileSync(corpusPath(f), 'utf8');
    await add({file: f, line: -1}, text, true);
    const lines = splitLines(text);
    const keep = lineCaseFilter(f, lines);
    for (let i = 0; i < lines.length; i++) {
      if (keep(i)) await add({file: f, line: i}, lines[i], false, LINE_SPECIALS);
    }
  }
  for (let i = 0; i < EXTRAS.length; i++) await add({file: 'extra', line: i, text: EXTRAS[i]}, EXTRAS[i], true);
  return cases;
}

function writeIds(name, cases) {
  const head = JSON.stringify({tokenizer: name, library: LIBRARY}).slice(0, -1);
  const body = cases.map((c) => JSON.stringify(c)).join(',\n');
  const p = path.join(OUT, name.replace(/\.json$/, '.ids.json'));
  fs.writeFileSync(p, head + ',\n"cases": [\n' + body + '\n]}\n');
  return p;
}

function sameCases(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------

async function main() {
  fs.mkdirSync(OUT, {recursive: true});
  console.log('library:', LIBRARY);

  const built = {'gpt2.json': buildGPT2(), 'llama3.json': buildLlama3()};
  const [l2, l2ms] = buildLlama2();
  built['llama2.json'] = l2;
  built['llama2_metaspace.json'] = l2ms;

  for (const [name, tok] of Object.entries(built)) {
    const p = save(tok, name);
    // Reload what was written and check it is stable and encodes the same.
    const reloaded = tk.Tokenizer.fromFile(p);
    const again = path.join(TMP, 'again.json');
    reloaded.save(again, true);
    if (fs.readFileSync(again, 'utf8') !== fs.readFileSync(p, 'utf8')) {
      throw new Error(name + ': save(load(file)) differs from file');
    }
    const cases = await runCases(reloaded);
    const fromMemory = await runCases(tok);
    if (!sameCases(cases, fromMemory)) throw new Error(name + ': reloaded tokenizer encodes differently');
    const ids = writeIds(name, cases);
    console.log(`${name}: vocab ${reloaded.getVocabSize(true)} (model ${reloaded.getVocabSize(false)}), ${cases.length} cases -> ${path.basename(ids)}`);

    if (name === 'gpt2.json') {
      const pairsName = 'gpt2_merges_pairs.json';
      const pp = path.join(OUT, pairsName);
      fs.writeFileSync(pp, pairsForm(fs.readFileSync(p, 'utf8')));
      // Same document apart from the merges spelling?
      const a = readJSON(p);
      const b = readJSON(pp);
      const same =
        JSON.stringify(b.model.merges.map((m) => m.join(' '))) === JSON.stringify(a.model.merges) &&
        JSON.stringify({...b, model: {...b.model, merges: null}}) === JSON.stringify({...a, model: {...a.model, merges: null}});
      if (!same) throw new Error('pairs rewrite changed more than the merges');
      try {
        const tp = tk.Tokenizer.fromFile(pp);
        const pc = await runCases(tp);
        console.log(`${pairsName}: loads in this library; encodes ${sameCases(pc, cases) ? 'identically to' : 'DIFFERENTLY from'} gpt2.json`);
      } catch (e) {
        console.log(`${pairsName}: this library cannot load it: ${String(e.message || e).split('\n')[0]}`);
      }
    }
  }
  fs.rmSync(TMP, {recursive: true, force: true});
}

main().catch((e) => {
  fs.rmSync(TMP, {recursive: true, force: true});
  console.error(e);
  process.exit(1);
});
