// gen_reference.mjs writes reference_ids.json.gz: seeded random strings and fixed edge cases (Chinese, English, emoji,
// whitespace runs, CRLF, digits, punctuation, contractions, other scripts, added tokens) with the
// ids that Hugging Face's Rust tokenizers return for them (encode(text, add_special_tokens=True)).
// gen_reference_sp.mjs does the same, decodings included, for SentencePiece-style tokenizers.
//
// Regenerate (needs node and npm; the Go tests only read the output):
//
//	mkdir -p /tmp/hftok && (cd /tmp/hftok && npm install @anush008/tokenizers@0.6.0)
//	gunzip -c ../qwen3/tokenizer.json.gz > /tmp/hftok/tokenizer.json
//	NODE_PATH=/tmp/hftok/node_modules node gen_reference.mjs /tmp/hftok/tokenizer.json 5000
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";
import { join } from "node:path";
import { seeded } from "./seeded.mjs";

const require = createRequire(join(process.env.NODE_PATH ?? ".", "x"));
const { Tokenizer } = require("@anush008/tokenizers");

const [tokenizerPath, countArg] = process.argv.slice(2);
const count = Number(countArg ?? 5000);

const { rand, pick, range } = seeded(20261127); // the same strings on every run

const zhWords = ["今天", "天气", "很好", "我们", "公园", "散步", "机器学习", "人工智能", "模型", "训练",
  "数据", "问题", "回答", "指令", "输入", "中国", "学生", "老师", "课程", "语言", "计算机", "的", "了", "是"];
const enWords = ["the", "model", "Training", "loss", "eval", "Hello", "world", "tokenizer", "GPU", "a",
  "fine-tuning", "learning_rate", "don't", "it's", "WE'LL", "they're", "I'm", "you've", "he'd", "ſ", "HTTP"];
const emoji = ["😀", "🚀", "👍🏽", "👨‍👩‍👧‍👦", "🇨🇳", "🇺🇸", "❤️", "✅", "🤖", "🎉", "🏳️‍🌈"];
const spaces = [" ", "  ", "   ", "\t", "\n", "\r\n", "\n\n", " \n", "\u00a0", "\u3000", "\u2003", "\r", "\t\t ", "\u2028"];
const punct = [",", ".", "!", "?", "，", "。", "！", "？", "：", "；", "（", "）", "《", "》", "\"", "'", "...",
  "--", "->", "=>", "{", "}", "[", "]", "<", ">", "/", "\\", "#", "@", "$", "%", "^", "&", "*", "_", "~", "`", "'s", "'T"];
const added = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "<think>", "</think>", "<tool_call>", "<|fim_prefix|>"];

function piece() {
  const r = rand();
  if (r < 0.22) return pick(zhWords);
  if (r < 0.30) return range(0x4e00, 0x9fa5);
  if (r < 0.48) return pick(enWords);
  if (r < 0.52) return pick(emoji);
  if (r < 0.66) return pick(spaces);
  if (r < 0.74) return String(Math.floor(rand() * 100000));
  if (r < 0.86) return pick(punct);
  if (r < 0.89) return range(0x0400, 0x04ff) + range(0x0430, 0x044f); // Cyrillic
  if (r < 0.91) return range(0xac00, 0xd7a3); // Hangul
  if (r < 0.93) return range(0x3040, 0x30ff); // kana
  if (r < 0.945) return "e\u0301" + range(0x0300, 0x036f); // combining marks
  if (r < 0.96) return range(0x0600, 0x06ff); // Arabic
  if (r < 0.97) return range(0xff01, 0xff5e); // full-width forms
  if (r < 0.98) return pick(added);
  if (r < 0.99) return range(0x2150, 0x218f) + range(0x2460, 0x24ff); // number forms
  return range(0x20, 0x7e) + range(0xa0, 0x24f);
}

const tok = Tokenizer.fromFile(tokenizerPath);
const cases = [];
for (let i = 0; i < count; i++) {
  const n = 1 + Math.floor(rand() * 24);
  let text = "";
  for (let k = 0; k < n; k++) text += piece();
  const enc = await tok.encode(text, null, { addSpecialTokens: true });
  cases.push({ text, ids: enc.getIds() });
}
// Fixed edge cases: case-folded contractions, and words long enough for the heap-based merge.
let zhRun = "";
for (let i = 0; i < 300; i++) zhRun += pick(zhWords);
for (const text of ["'ſa", "'ſ", "x'Sam", "'LLama", "'Ve'RE'd", "a" + " ".repeat(300) + "b", " ".repeat(1000),
  "😀".repeat(200), zhRun, "a".repeat(500), "\r\n\r\n   \t\n x", "1234567 ١٢٣ ⅫⅣ", "\n".repeat(300) + "x",
  "-".repeat(400), "x" + "\u3000".repeat(200) + "y", "ab".repeat(300) + "\u00e9", ""]) {
  const enc = await tok.encode(text, null, { addSpecialTokens: true });
  cases.push({ text, ids: enc.getIds() });
}
const out = {
  reference: "Hugging Face tokenizers 0.22.2 (Rust, npm @anush008/tokenizers 0.6.0), encode(text, add_special_tokens=True)",
  generator: "tokenizer/testdata/gen_reference.mjs",
  cases,
};
writeFileSync("reference_ids.json.gz", gzipSync(JSON.stringify(out), { level: 9 }));
console.log(`wrote ${cases.length} cases`);
