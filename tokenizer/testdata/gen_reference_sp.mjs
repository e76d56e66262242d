// gen_reference_sp.mjs writes the reference file of a SentencePiece-style BPE tokenizer.json (byte
// fallback, "▁" for spaces: Llama 2, TinyLlama, Mistral v0.1): the ids and decodings that Hugging
// Face's Rust tokenizers give, which the Go tests compare with (sentencepiece_test.go).
//
// It holds:
//   - cases: seeded random strings (Chinese, English, rare CJK and emoji that only byte fallback
//     encodes, whitespace runs, the tokenizer's own added tokens, ...) and fixed edge cases (spaces
//     at either end, text right after <s> and </s>, the course formats, long words), each with
//     encode(text, add_special_tokens=True) and decode(ids, skip_special_tokens=False);
//   - decodes: random id sequences (lone byte pieces, special tokens, "▁" pieces) with decode(ids);
//   - variants: the same tokenizer.json edited as the newer files of this family are written
//     (normalizer null with a Metaspace pre-tokenizer and decoder), without byte fallback, with
//     byte pieces missing, with normalized added tokens, each a list of JSON patches and the ids
//     and decodings of the first cases.
//
// Regenerate (needs node and npm; the Go tests only read the output), from tokenizer/testdata:
//
//	mkdir -p /tmp/hftok && (cd /tmp/hftok && npm install @anush008/tokenizers@0.6.0)
//	NODE_PATH=/tmp/hftok/node_modules node gen_reference_sp.mjs mistral/tokenizer.json.gz 2500 mistral/reference_ids.json.gz
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { gunzipSync, gzipSync } from "node:zlib";
import { join } from "node:path";
import { seeded } from "./seeded.mjs";

const require = createRequire(join(process.env.NODE_PATH ?? ".", "x"));
const { Tokenizer } = require("@anush008/tokenizers");

const [tokenizerPath, countArg, outPath] = process.argv.slice(2);
const count = Number(countArg ?? 2500);
const variantCount = 250; // random cases per variant (plus the fixed ones)

let raw = readFileSync(tokenizerPath);
if (tokenizerPath.endsWith(".gz")) raw = gunzipSync(raw);
const base = JSON.parse(raw.toString("utf8"));

const { rand, pick, range } = seeded(20261201); // the same strings on every run

const zhWords = ["今天", "天气", "很好", "我们", "公园", "散步", "机器学习", "人工智能", "模型", "训练",
  "数据", "问题", "回答", "指令", "输入", "中国", "学生", "老师", "课程", "语言", "计算机", "的", "了", "是"];
const enWords = ["the", "model", "Training", "loss", "eval", "Hello", "world", "tokenizer", "GPU", "a",
  "fine-tuning", "learning_rate", "don't", "it's", "WE'LL", "I'm", "HTTP", "Paris", "translate", "sentence"];
const emoji = ["😀", "🚀", "👍🏽", "👨‍👩‍👧‍👦", "🇨🇳", "❤️", "✅", "🤖", "🎉", "🦙"];
const spaces = [" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n", "\u00a0", "\u3000", "\r", "\t\t ", "    "];
const punct = [",", ".", "!", "?", "，", "。", "！", "？", "：", "；", "（", "）", "《", "》", "\"", "'", "...",
  "--", "->", "{", "}", "[", "]", "<", ">", "/", "\\", "#", "@", "$", "%", "_", "~", "`", "▁", "<0x41>"];
const added = base.added_tokens.map((a) => a.content); // the tokenizer's own added tokens

function piece() {
  const r = rand();
  if (r < 0.20) return pick(zhWords);
  if (r < 0.28) return range(0x4e00, 0x9fa5); // many are missing from the vocabulary
  if (r < 0.31) return range(0x20000, 0x2a6df); // CJK extension B: byte fallback
  if (r < 0.48) return pick(enWords);
  if (r < 0.52) return pick(emoji);
  if (r < 0.66) return pick(spaces);
  if (r < 0.72) return String(Math.floor(rand() * 100000));
  if (r < 0.84) return pick(punct);
  if (r < 0.87) return range(0x0400, 0x04ff) + range(0x0430, 0x044f); // Cyrillic
  if (r < 0.89) return range(0xac00, 0xd7a3); // Hangul
  if (r < 0.91) return range(0x3040, 0x30ff); // kana
  if (r < 0.925) return "e\u0301" + range(0x0300, 0x036f); // combining marks
  if (r < 0.94) return range(0x0600, 0x06ff); // Arabic
  if (r < 0.96) return pick(added);
  if (r < 0.97) return range(0x1, 0x1f); // control characters
  return range(0x20, 0x7e) + range(0xa0, 0x24f);
}

const texts = [];
for (let i = 0; i < count; i++) {
  const n = 1 + Math.floor(rand() * 20);
  let text = "";
  for (let k = 0; k < n; k++) text += piece();
  texts.push(text);
}
let zhRun = "";
for (let i = 0; i < 200; i++) zhRun += pick(zhWords);
let mixed = "";
for (let i = 0; i < 150; i++) mixed += piece();
const fixed = ["", " ", "  ", "   ", "\t", "\n", "\n\n", "\r\n", " \n ", "Hello", " Hello", "Hello ", "  Hello  world  ",
  "Hello world", "hello\tworld", "a\nb", "a \n b", "<s>", "</s>", "<unk>", "<s>Hello", "<s> Hello", "</s>Hello",
  "Hello</s>", "Hello</s> world", "<s><s>", "a<s>b</s>c", "  <s>  ", "▁", "▁Hello", " ▁ ", "𠀀", "𠀀😀", "😀", "🦙 llama",
  "\u0000", "\u0001\u0002", "\uFFFD", "<0x41>", "指令：把下面的句子翻译成英文。\n输入：今天天气很好。\n回答：",
  "问题：中国的首都是哪里？\n回答：", "北京", "\n回答：", "指令：翻译\n输入：Hello world\n回答：Bonjour le monde</s>",
  "The quick brown fox jumps over the lazy dog.", "a".repeat(300), " ".repeat(200), "\n".repeat(50) + "x",
  "ab".repeat(150) + "é", zhRun, mixed, "😀".repeat(60), "-".repeat(300), "x" + "\u3000".repeat(100) + "y"];

function encodeAll(tok, list) {
  return Promise.all(list.map(async (text) => {
    const enc = await tok.encode(text, null, { addSpecialTokens: true });
    const ids = enc.getIds();
    return { text, ids, decoded: await tok.decode(ids, false) };
  }));
}

const tok = Tokenizer.fromString(JSON.stringify(base));
const cases = await encodeAll(tok, [...texts, ...fixed]);

// Random id sequences, decoded: byte pieces (often not valid UTF-8), "▁" pieces, special tokens.
const vocab = base.model.vocab;
const byteIDs = Object.entries(vocab).filter(([k]) => /^<0x[0-9A-F]{2}>$/.test(k)).map(([, v]) => v);
const spaceIDs = Object.entries(vocab).filter(([k]) => /^▁+$/.test(k)).map(([, v]) => v);
const size = Object.keys(vocab).length;
const decodes = [];
for (let i = 0; i < 400; i++) {
  const n = 1 + Math.floor(rand() * 12);
  const ids = [];
  for (let k = 0; k < n; k++) {
    const r = rand();
    if (r < 0.4) ids.push(pick(byteIDs));
    else if (r < 0.55) ids.push(pick(spaceIDs));
    else if (r < 0.65) ids.push(Math.floor(rand() * 3));
    else ids.push(Math.floor(rand() * size));
  }
  decodes.push({ ids, text: await tok.decode(ids, false) });
}

// Variants: patches applied to tokenizer.json, in order; a patch sets path to value, or deletes it.
const metaDecoder = (scheme) => ({ type: "Sequence", decoders: [
  { type: "Metaspace", replacement: "▁", prepend_scheme: scheme, split: true },
  { type: "ByteFallback" }, { type: "Fuse" }] });
const metaspace = (scheme, split) => ({ type: "Metaspace", replacement: "▁", prepend_scheme: scheme, split });
const variants = [
  { name: "metaspace first, no split (newer Llama and Mistral files)", patches: [
    { path: ["normalizer"], value: null },
    { path: ["pre_tokenizer"], value: metaspace("first", false) }] },
  { name: "metaspace always, split, Metaspace decoder", patches: [
    { path: ["normalizer"], value: null },
    { path: ["pre_tokenizer"], value: metaspace("always", true) },
    { path: ["decoder"], value: metaDecoder("always") }] },
  { name: "metaspace never, split, Metaspace decoder", patches: [
    { path: ["normalizer"], value: null },
    { path: ["pre_tokenizer"], value: metaspace("never", true) },
    { path: ["decoder"], value: metaDecoder("never") }] },
  { name: "no byte fallback: unknown characters fused into <unk>", patches: [
    { path: ["model", "byte_fallback"], value: false }] },
  { name: "no byte fallback, fuse_unk false", patches: [
    { path: ["model", "byte_fallback"], value: false },
    { path: ["model", "fuse_unk"], value: false }] },
  { name: "byte pieces <0xF0> and <0x80> missing", patches: [
    { path: ["model", "vocab", "<0xF0>"], delete: true },
    { path: ["model", "vocab", "<0x80>"], delete: true }] },
  { name: "normalized added tokens", patches: [
    { path: ["added_tokens", 2, "normalized"], value: true },
    { path: ["added_tokens", 3], value: { id: size, content: "<|im_end|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true } },
    { path: ["added_tokens", 4], value: { id: size + 1, content: "<day>", single_word: false, lstrip: false, rstrip: false, normalized: true, special: false } }] },
];
function applyPatches(obj, patches) {
  for (const p of patches) {
    let o = obj;
    for (const k of p.path.slice(0, -1)) o = o[k];
    const last = p.path[p.path.length - 1];
    if (p.delete) delete o[last];
    else o[last] = p.value;
  }
  return obj;
}
const variantTexts = [...texts.slice(0, variantCount), ...fixed, "<day> Monday <day>", "x<day>y", "x <day>y", "x</s>y", "x </s> y", "<|im_end|><day>", "<|im_end|> <day>"];
for (const v of variants) {
  const vtok = Tokenizer.fromString(JSON.stringify(applyPatches(structuredClone(base), v.patches)));
  v.cases = await encodeAll(vtok, variantTexts);
}

const out = {
  reference: "Hugging Face tokenizers 0.22.2 (Rust, npm @anush008/tokenizers 0.6.0): encode(text, add_special_tokens=True), decode(ids, skip_special_tokens=False)",
  generator: "tokenizer/testdata/gen_reference_sp.mjs",
  cases,
  decodes,
  variants,
};
writeFileSync(outPath ?? "reference_ids.json.gz", gzipSync(JSON.stringify(out), { level: 9 }));
console.log(`wrote ${cases.length} cases, ${decodes.length} decodes, ${variants.length} variants of ${variantTexts.length} cases`);
