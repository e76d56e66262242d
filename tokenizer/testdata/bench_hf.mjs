// bench_hf.mjs times Hugging Face's Rust tokenizers (npm @anush008/tokenizers) on the text of
// BenchmarkEncode, encoding it line by line as the Go benchmark does, to compare the two.
//
//	go test ./tokenizer/ -run '^$' -bench Encode -benchtext /tmp/hftok/bench.txt
//	gunzip -c ../qwen3/tokenizer.json.gz > /tmp/hftok/tokenizer.json
//	NODE_PATH=/tmp/hftok/node_modules node bench_hf.mjs /tmp/hftok/tokenizer.json /tmp/hftok/bench.txt
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.env.NODE_PATH ?? ".", "x"));
const { Tokenizer } = require("@anush008/tokenizers");

const [tokenizerPath, textPath] = process.argv.slice(2);
const tok = Tokenizer.fromFile(tokenizerPath);
const text = readFileSync(textPath, "utf8");
const bytes = Buffer.byteLength(text);
const lines = text.split(/(?<=\n)/);

async function time(name, fn) {
  for (let rep = 0; rep < 3; rep++) {
    const t0 = process.hrtime.bigint();
    await fn();
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    console.log(`${name}\trep ${rep}\t${(bytes / 1e6 / s).toFixed(2)} MB/s`);
  }
}
await time("lines", async () => {
  for (const l of lines) await tok.encode(l, null, { addSpecialTokens: true });
});
await time("whole", async () => {
  await tok.encode(text, null, { addSpecialTokens: true });
});
