// Package chattemplate renders a model's chat template (the Jinja chat_template of a Hugging Face
// tokenizer_config.json, or chat_template.jinja) as transformers' apply_chat_template does.
//
// Templates run on github.com/nikolalohinski/gonja/v2, a maintained Go port of Jinja, set up like
// Hugging Face's environment (trim_blocks and lstrip_blocks, loop controls) on a private copy of
// gonja's built-ins, to which this package adds what Hugging Face has beyond Jinja and replaces
// what gonja does unlike Python's Jinja:
//
//   - raise_exception(message), which stops rendering with a [RaisedError];
//   - tojson as transformers defines it, json.dumps(x, ensure_ascii=False, indent=...,
//     separators=..., sort_keys=...): ", " and ": " separators, keys in their order;
//   - the {% generation %} block transformers uses to mark assistant text, rendered as its body;
//   - trim and the string methods strip, lstrip, rstrip, split, rsplit and replace with Python's
//     arguments and definition of whitespace;
//   - is true and is false as Python's "is True" (gonja tests truthiness);
//   - reverse (gonja sorts first), items, dictsort and the dict methods keys, values and items
//     in the dict's own order;
//   - lstrip_blocks only at the start of a line (gonja also strips blanks before a tag in the
//     middle of one).
//
// strftime_now is deliberately not defined: a template that would print today's date (Llama 3.2
// and later) falls back to its own fixed date, so a rendering, and a run that trains on it, does
// not depend on the day it ran.
//
// A template is input like any other file of a model directory, so it runs within limits
// (limits.go): a source of at most [MaxSourceBytes], brackets and blocks nested at most 100
// deep; while rendering, at most 2^18 statements, filter calls and operators, blocks, loops and
// macro calls nested at most 256 deep, no string or output past 4 MiB, no list past 65,536
// items, 64 Mi bytes and items built in all, no value stored into itself, and 10 seconds. A
// template that reaches one fails with a [LimitError] that names the limit, prefixed with the
// file; include, import and extends are refused (a chat template is one file), and a panic
// inside gonja becomes an error naming the file. To bound what gonja itself does not, Parse
// rewrites the parsed tree (guard.go): a guard statement between the statements of every
// block, and the operators that build strings and lists through filters that check their
// operands first; every filter and method is checked before and after it runs (bounded.go).
//
// Renderings are checked byte for byte against Python's Jinja2 set up as transformers sets it up
// and against @huggingface/jinja, the JavaScript port Hugging Face maintains, on the real
// templates of Qwen3, Qwen2.5, Llama 3.1, SmolLM2, Mistral 7B Instruct and Zephyr and on one
// small template per Jinja feature (testdata/). What gonja cannot do as Python does, and no
// registered function can change, is listed there with the feature: a string indexed by bytes
// rather than characters, none treated as undefined (so it prints as "" and takes a default),
// "//" truncating rather than flooring, "**" giving floats, and the newline after {% raw %}
// dropped. None of the templates above meets these.
package chattemplate
