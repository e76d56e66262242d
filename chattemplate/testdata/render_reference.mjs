// render_reference.mjs writes reference.json: every chat template of templates.json rendered on
// every conversation of conversations.json by @huggingface/jinja, the JavaScript port of the
// Jinja engine Hugging Face uses for chat templates, with and without add_generation_prompt.
// Every prefix of a conversation that stops before an assistant message is rendered too (with
// add_generation_prompt), as the chat format renders them to find where each response starts.
//
// The variables are those transformers' apply_chat_template passes: messages,
// add_generation_prompt, tools and documents (none), the special tokens of the model's
// tokenizer_config.json, and enable_thinking=false, which sftlab's chat format always sets.
// A template that raises (raise_exception) or fails gets {"error": message} instead of a text.
// The small templates of features.json, one Jinja feature each, are rendered too.
//
// Regenerate (needs node and npm; the Go tests only read the output):
//
//	mkdir -p /tmp/jinja && (cd /tmp/jinja && npm install @huggingface/jinja@0.5.11)
//	NODE_PATH=/tmp/jinja/node_modules node render_reference.mjs
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(join(process.env.NODE_PATH ?? ".", "noop.js"));
const { Template } = require("@huggingface/jinja");

const here = dirname(fileURLToPath(import.meta.url));
const pkg = join(dirname(require.resolve("@huggingface/jinja")), "..", "package.json");
const version = JSON.parse(readFileSync(pkg, "utf8")).version;
const read = (name) => readFileSync(join(here, name), "utf8");
const templates = JSON.parse(read("templates.json"));
const conversations = JSON.parse(read("conversations.json"));

// Each conversation, then each of its prefixes that ends right before an assistant message.
const inputs = [];
for (const c of conversations) {
  for (const gen of [false, true]) {
    inputs.push({ conversation: c.name, prefix: c.messages.length, add_generation_prompt: gen, messages: c.messages });
  }
  c.messages.forEach((m, i) => {
    if (m.role === "assistant" && i > 0) {
      inputs.push({ conversation: c.name, prefix: i, add_generation_prompt: true, messages: c.messages.slice(0, i) });
    }
  });
}

const cases = [];
for (const t of templates) {
  const template = new Template(read(t.file));
  for (const input of inputs) {
    const c = { template: t.name, conversation: input.conversation, prefix: input.prefix, add_generation_prompt: input.add_generation_prompt };
    try {
      c.text = template.render({
        messages: input.messages,
        add_generation_prompt: input.add_generation_prompt,
        tools: null,
        documents: null,
        enable_thinking: false,
        ...t.special_tokens,
      });
    } catch (e) {
      c.error = String(e.message ?? e);
    }
    cases.push(c);
  }
}

const features = [];
for (const f of JSON.parse(read("features.json"))) {
  const c = { name: f.name };
  try {
    c.text = new Template(f.template).render(f.vars);
  } catch (e) {
    c.error = String(e.message ?? e);
  }
  features.push(c);
}

const out = { engine: `@huggingface/jinja ${version}`, cases, features };
const target = join(here, "reference.json");
writeFileSync(target + ".tmp", JSON.stringify(out, null, 1) + "\n");
renameSync(target + ".tmp", target);
console.log(`wrote ${cases.length} renderings to ${target}`);
