// Renders cases.json with Qwen3's own chat template (from tokenizer_config.json) through
// @huggingface/jinja, thinking disabled, and writes reference.json beside this script.
//
//   npm install @huggingface/jinja   (in a scratch directory, not in the repository; 0.5.11 made
//                                     the committed reference.json)
//   NODE_PATH=SCRATCH/node_modules node gen_reference.mjs ../../../tokenizer/qwen3/tokenizer_config.json
import { readFileSync, writeFileSync, renameSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(join(process.env.NODE_PATH ?? ".", "noop.js"));
const { Template } = require("@huggingface/jinja");

const here = dirname(fileURLToPath(import.meta.url));
const configPath = process.argv[2];
if (!configPath) {
  console.error("usage: node gen_reference.mjs PATH/tokenizer_config.json");
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, "utf8"));
const template = new Template(config.chat_template);
const cases = JSON.parse(readFileSync(join(here, "cases.json"), "utf8"));

const out = cases.map((c) => ({
  name: c.name,
  add_generation_prompt: c.add_generation_prompt,
  messages: c.messages,
  text: template.render({
    messages: c.messages,
    add_generation_prompt: c.add_generation_prompt,
    enable_thinking: false,
    bos_token: config.bos_token ?? "",
    eos_token: config.eos_token,
  }),
}));
const target = join(here, "reference.json");
writeFileSync(target + ".tmp", JSON.stringify(out, null, 2) + "\n");
renameSync(target + ".tmp", target);
console.log(`wrote ${out.length} references to ${target}`);
