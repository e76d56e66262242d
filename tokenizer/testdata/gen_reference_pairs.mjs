// gen_reference_pairs.mjs writes the junction reference of a SentencePiece-style BPE
// tokenizer.json (Llama 2, TinyLlama, Mistral v0.1): for pairs of texts (prompt, response), the
// ids Hugging Face's Rust tokenizers gives the prompt alone and the two joined into one string,
// which the Go tests compare with EncodePlain(prompt) followed by EncodeAfter(last prompt id,
// response) (sentencepiece_test.go, and datasets' encode_test.go for the built-in set).
//
// It holds:
//   - pairs: the built-in teaching set's records in the sft format ("问题：{input}\n回答：",
//     "{output}") and the instruction format ("指令：{instruction}\n输入：{input}\n回答：",
//     "{output}"), byte for byte as package datasets renders them; English pairs; prompts ending
//     with an added token (<s>, </s>) or with spaces, responses starting with spaces, added
//     tokens or byte-fallback characters; and seeded random strings cut in two at a random
//     character. Each has source, prompt, response, prompt_ids =
//     encode(prompt, add_special_tokens=False) and ids = encode(prompt + response,
//     add_special_tokens=False);
//   - variants: the same tokenizer.json edited as the newer files of this family are written
//     (normalizer null with a Metaspace pre-tokenizer, prepend_scheme first, always or never) or
//     with added tokens matched after normalization, each a list of JSON patches and the same
//     fields for the pairs that are not from the built-in set and the first 20 of each format.
//
// Regenerate (needs node and npm; the Go tests only read the output), from tokenizer/testdata:
//
//	mkdir -p /tmp/hftok && (cd /tmp/hftok && npm install @anush008/tokenizers@0.6.0)
//	NODE_PATH=/tmp/hftok/node_modules node gen_reference_pairs.mjs mistral/tokenizer.json.gz ../../datasets/builtin/teaching_zh.jsonl mistral/pair_ids.json.gz
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { seeded } from "./seeded.mjs";

const require = createRequire(join(process.env.NODE_PATH ?? ".", "x"));
const { Tokenizer } = require("@anush008/tokenizers");

const [tokenizerPath, builtinPath, outPath] = process.argv.slice(2);

let raw = readFileSync(tokenizerPath);
if (tokenizerPath.endsWith(".gz")) raw = gunzipSync(raw);
const base = JSON.parse(raw.toString("utf8"));

const { rand, pick, range } = seeded(20261215); // the same strings on every run

const pairs = [];
const add = (source, prompt, response) => pairs.push({ source, prompt, response });

// The built-in set, rendered as datasets' segments does for the sft and instruction formats.
const records = readFileSync(builtinPath, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l));
for (const r of records) add("builtin sft", "问题：" + r.input + "\n回答：", r.output);
for (const r of records) add("builtin instruction", "指令：" + r.instruction + "\n输入：" + r.input + "\n回答：", r.output);

const english = [
  ["Question: What is the capital of France?\nAnswer:", " Paris"],
  ["Question: What is the capital of France?\nAnswer:", "Paris"],
  ["Question: What is the capital of France?\nAnswer: ", "Paris"],
  ["[INST] Say hello. [/INST]", "Hello! How can I help you today?"],
  ["[INST] Say hello. [/INST] ", "Hello! How can I help you today?"],
  ["### Instruction:\nTranslate to French.\n### Input:\nGood morning\n### Response:\n", "Bonjour"],
  ["Translate to English: 今天天气很好。\n", "The weather is nice today."],
  ["The quick brown fox", " jumps over the lazy dog."],
  ["The quick brown ", "fox jumps over the lazy dog."],
  ["Hel", "lo world"],
  ["12", "34"],
  ["user: hi\nassistant:", "\nHi there!"],
  ["Write a list:\n", "- one\n- two\n- three"],
  ["Q: 2+2=?\nA:", "4"],
];
for (const [p, r] of english) add("english", p, r);

// Junctions of every kind: after an added token, after spaces, responses that start with spaces,
// added tokens, "▁" or characters only byte fallback encodes, empty pieces.
const edges = [
  ["</s>", "Hello"], ["</s>", " Hello"], ["</s>", "\nHello"], ["</s>", "问题"], ["</s>", "</s>"],
  ["<s>", "Hello"], ["<s>", " Hello"], ["<s>", "北京"],
  ["Hello</s>", "World"], ["Hello</s>", " World"], ["Hello<s>", "World"], ["问题：北京\n回答：</s>", "上海"],
  ["Hello", "</s>World"], ["Hello", " </s> World"], ["Hello ", "World"], ["Hello  ", " World"],
  ["Hello\n", "World"], ["Hello", "\nWorld"], ["Hello", "▁World"], ["Hello▁", "World"],
  ["Hello", "𠀀"], ["𠀀", "Hello"], ["😀", "🚀"], ["e", "\u0301"], ["Hello", ""], ["", "Hello"], [" ", " "],
  ["回答：", " 北京"], ["回答：", "北京"], ["a", "b"], ["<unk>", "x"], ["x", "<unk>"],
];
for (const [p, r] of edges) add("junctions", p, r);

// Random strings cut in two at a random character.
const zhWords = ["今天", "天气", "很好", "我们", "公园", "散步", "机器学习", "模型", "训练", "数据", "问题", "回答",
  "指令", "输入", "的", "了", "是"];
const enWords = ["the", "model", "Training", "loss", "Hello", "world", "tokenizer", "a", "don't", "it's", "HTTP"];
const spaces = [" ", "  ", "\t", "\n", "\r\n", "\n\n", "\u3000"];
const punct = [",", ".", "!", "?", "，", "。", "：", "；", "\"", "'", "-", ":", "▁"];
const added = base.added_tokens.map((a) => a.content);
function piece() {
  const r = rand();
  if (r < 0.25) return pick(zhWords);
  if (r < 0.32) return range(0x4e00, 0x9fa5);
  if (r < 0.34) return range(0x20000, 0x2a6df);
  if (r < 0.52) return pick(enWords);
  if (r < 0.68) return pick(spaces);
  if (r < 0.74) return String(Math.floor(rand() * 1000));
  if (r < 0.90) return pick(punct);
  if (r < 0.95) return pick(added);
  return range(0x20, 0x7e);
}
for (let i = 0; i < 300; i++) {
  const n = 2 + Math.floor(rand() * 12);
  const chars = [];
  for (let k = 0; k < n; k++) chars.push(...piece());
  const cut = 1 + Math.floor(rand() * (chars.length - 1));
  add("random", chars.slice(0, cut).join(""), chars.slice(cut).join(""));
}

async function encodeAll(tok, list) {
  const out = [];
  for (const p of list) {
    const promptIDs = (await tok.encode(p.prompt, null, { addSpecialTokens: false })).getIds();
    const ids = (await tok.encode(p.prompt + p.response, null, { addSpecialTokens: false })).getIds();
    out.push({ ...p, prompt_ids: promptIDs, ids });
  }
  return out;
}

// Variants: patches applied to tokenizer.json, in order; a patch sets path to value.
const size = Object.keys(base.model.vocab).length;
const metaspace = (scheme, split) => ({ type: "Metaspace", replacement: "▁", prepend_scheme: scheme, split });
const metaDecoder = (scheme) => ({ type: "Sequence", decoders: [
  { type: "Metaspace", replacement: "▁", prepend_scheme: scheme, split: true },
  { type: "ByteFallback" }, { type: "Fuse" }] });
const day = { id: size, content: "<day>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: false };
const variants = [
  { name: "metaspace first, no split (newer Llama and Mistral files)", patches: [
    { path: ["normalizer"], value: null },
    { path: ["pre_tokenizer"], value: metaspace("first", false) }] },
  { name: "metaspace first, split, Metaspace decoder", patches: [
    { path: ["normalizer"], value: null },
    { path: ["pre_tokenizer"], value: metaspace("first", true) },
    { path: ["decoder"], value: metaDecoder("first") }] },
  { name: "metaspace always, split, Metaspace decoder, normalized added token <day>", patches: [
    { path: ["normalizer"], value: null },
    { path: ["pre_tokenizer"], value: metaspace("always", true) },
    { path: ["decoder"], value: metaDecoder("always") },
    { path: ["added_tokens", 3], value: day }] },
  { name: "metaspace never, split, Metaspace decoder", patches: [
    { path: ["normalizer"], value: null },
    { path: ["pre_tokenizer"], value: metaspace("never", true) },
    { path: ["decoder"], value: metaDecoder("never") }] },
  { name: "normalized added tokens </s> and <day>", patches: [
    { path: ["added_tokens", 2, "normalized"], value: true },
    { path: ["added_tokens", 3], value: day }] },
];
function applyPatches(obj, patches) {
  for (const p of patches) {
    let o = obj;
    for (const k of p.path.slice(0, -1)) o = o[k];
    o[p.path[p.path.length - 1]] = p.value;
  }
  return obj;
}
const dayPairs = [["x<day>", "y"], ["x<day>", " y"], ["x <day>", "y"], ["<day>", "y"], ["x", "<day>y"], ["a </s>", "y"],
  ["a </s>", " y"], ["a", " </s>y"]].map(([p, r]) => ({ source: "junctions", prompt: p, response: r }));
const variantPairs = [
  ...pairs.filter((p) => p.source === "builtin sft").slice(0, 20),
  ...pairs.filter((p) => p.source === "builtin instruction").slice(0, 20),
  ...pairs.filter((p) => !p.source.startsWith("builtin")),
  ...dayPairs,
];

const tok = Tokenizer.fromString(JSON.stringify(base));
const out = {
  reference: "Hugging Face tokenizers 0.22.2 (Rust, npm @anush008/tokenizers 0.6.0): prompt_ids = encode(prompt, add_special_tokens=False), ids = encode(prompt + response, add_special_tokens=False)",
  generator: "tokenizer/testdata/gen_reference_pairs.mjs",
  pairs: await encodeAll(tok, pairs),
  variants: [],
};
for (const v of variants) {
  const vtok = Tokenizer.fromString(JSON.stringify(applyPatches(structuredClone(base), v.patches)));
  out.variants.push({ ...v, pairs: await encodeAll(vtok, variantPairs) });
}
writeFileSync(outPath ?? "pair_ids.json.gz", gzipSync(JSON.stringify(out), { level: 9 }));
const merged = (list) => list.filter((p) => !p.prompt_ids.every((id, i) => p.ids[i] === id)).length;
console.log(`wrote ${out.pairs.length} pairs (${merged(out.pairs)} merged across the junction), ${variants.length} variants of ${variantPairs.length} pairs`);
for (const v of out.variants) console.log(`  ${v.name}: ${merged(v.pairs)} merged across the junction`);
