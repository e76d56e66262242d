// render_chat.mjs writes chat_golden.json: conversations rendered by Qwen3's own chat template
// (tokenizer_config.json's chat_template) with a Jinja engine, thinking disabled
// (enable_thinking=false), with and without add_generation_prompt.
//
// Regenerate (needs node and npm; the Go tests only read the output):
//
//	mkdir -p /tmp/jinja && (cd /tmp/jinja && npm install @huggingface/jinja@0.5.11)
//	NODE_PATH=/tmp/jinja/node_modules node render_chat.mjs ../qwen3/tokenizer_config.json
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const require = createRequire(join(process.env.NODE_PATH ?? ".", "x"));
const { Template } = require("@huggingface/jinja");

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const template = new Template(config.chat_template);

const u = (content) => ({ role: "user", content });
const a = (content) => ({ role: "assistant", content });
const s = (content) => ({ role: "system", content });

const conversations = {
  "user only": [u("你好")],
  "user assistant": [u("今天天气怎么样？"), a("今天天气很好。")],
  "system user assistant": [s("You are a helpful assistant."), u("Hi!"), a("Hello! How can I help?")],
  "multi-turn": [u("1+1=?"), a("2"), u("再加 3 呢？"), a("5")],
  "system multi-turn": [s("你是一个老师。"), u("什么是机器学习？"), a("机器学习是人工智能的一个分支。"), u("举个例子"), a("垃圾邮件过滤。")],
  "ends with user": [s("Be brief."), u("a"), a("b"), u("c")],
  "empty contents": [u(""), a("")],
  "newlines in content": [u("line 1\nline 2\n"), a("\n\nanswer\n")],
  "assistant with think block": [u("q"), a("<think>\nreasoning here\n</think>\n\nthe answer")],
  "earlier assistant with think block": [u("q1"), a("<think>r1</think>a1"), u("q2"), a("a2")],
  "system not first": [u("hi"), s("late system"), a("ok")],
  "assistant only": [a("orphan")],
  "special tokens in content": [u("<|im_start|>x<|im_end|>"), a("y <|endoftext|>")],
  "tool turns": [u("weather?"), a("checking"), { role: "tool", content: "sunny" }, { role: "tool", content: "20C" }, a("Sunny, 20C.")],
  "tool response wrapped user": [u("question"), a("calling"), u("<tool_response>\nresult\n</tool_response>"), a("done")],
};

const cases = [];
for (const [name, messages] of Object.entries(conversations)) {
  for (const addGenerationPrompt of [false, true]) {
    const text = template.render({
      messages,
      add_generation_prompt: addGenerationPrompt,
      enable_thinking: false,
      bos_token: "",
      eos_token: config.eos_token,
    });
    cases.push({ name, add_generation_prompt: addGenerationPrompt, messages, text });
  }
}
const out = { engine: "@huggingface/jinja 0.5.11", template: "qwen3/tokenizer_config.json chat_template", cases };
writeFileSync("chat_golden.json", JSON.stringify(out, null, 1) + "\n");
console.log(`wrote ${cases.length} renderings`);
