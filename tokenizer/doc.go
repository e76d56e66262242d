// Package tokenizer encodes and decodes text with a Hugging Face byte-level BPE tokenizer.json
// (the Qwen2/Qwen3 and Llama-3 kind) in pure Go, giving the same ids as Hugging Face's tokenizers.
//
// A [Tokenizer] is loaded from a directory holding tokenizer.json (or tokenizer.json.gz) and
// tokenizer_config.json with [Load], or from the Qwen3 files built into the package with [Qwen3].
// Encoding follows Hugging Face's pipeline step by step: added and special tokens are split out
// first, the rest is NFC-normalized, cut into pre-tokens by the Split pattern (scanned by hand,
// since Go's regexp lacks the look-ahead `\s+(?!\S)`), mapped to byte-level symbols and merged in
// rank order. A tokenizer.json that asks for anything else (another model type, normalizer,
// pre-tokenizer, post-processor or decoder) is refused with an error naming the field, rather than
// tokenized differently.
//
// [Tokenizer.RenderChat] renders a conversation with the directory's own chat template
// (chat_template.jinja, or tokenizer_config.json's chat_template; Qwen3's for the built-in files)
// as transformers' apply_chat_template does, through package chattemplate, thinking disabled.
//
// Building with -tags hftokenizers adds HF, the same [Encoder] backed by Hugging Face's Rust
// library through cgo (github.com/daulet/tokenizers, which needs libtokenizers.a).
package tokenizer
