// Package tokenizer encodes and decodes text with a Hugging Face BPE tokenizer.json in pure Go,
// giving the same ids, and the same decoded text, as Hugging Face's tokenizers. It reads two kinds:
//
//   - byte-level BPE (Qwen2/Qwen3, Llama 3): added and special tokens are split out first, the
//     rest is NFC-normalized, cut into pre-tokens by the Split pattern (scanned by hand, since Go's
//     regexp lacks the look-ahead `\s+(?!\S)`), mapped to byte-level symbols and merged in rank
//     order;
//   - SentencePiece-style BPE with byte fallback (Llama 2, TinyLlama, Mistral v0.1): after the
//     added tokens are split out, each piece of text between them is normalized (Llama 2's
//     Prepend "▁" and Replace " " by "▁", so every such piece starts with "▁") or pre-tokenized by
//     Metaspace (prepend_scheme "always", "first" or "never", split or not), cut into characters,
//     each looked up in the vocabulary (a missing one becomes its UTF-8 bytes as <0xXX> pieces, or
//     the unknown token), and merged in rank order. Decoding runs the file's decoder (Replace,
//     ByteFallback, Fuse, Strip, Metaspace), so Decode(Encode("Hi")) is "<s> Hi", as in Hugging
//     Face.
//
// A tokenizer.json that asks for anything else (another model type, normalizer such as
// Precompiled, pre-tokenizer, post-processor or decoder, a Regex pattern in Replace, byte fallback
// with a ByteLevel pre-tokenizer, a Metaspace pre-tokenizer together with a normalizer, added tokens with lstrip, rstrip
// or single_word, or added-token ids other than those Hugging Face gives them) is refused with an
// error naming the field, rather than tokenized differently.
//
// A text built from pieces (a prompt, then a response) is encoded piece by piece, the first with
// [Tokenizer.EncodePlain] and each next one with [Tokenizer.EncodeAfter] after the last id before
// it, which encodes it as it is inside the whole string: for SentencePiece-style BPE, no "▁"
// before text that continues plain text, and Hugging Face's rule for a new piece after an added
// token. The ids are then those of the whole string, with a token boundary at every junction,
// unless a merge would join the end of one piece to the start of the next.
//
// A [Tokenizer] is loaded from a directory holding tokenizer.json (or tokenizer.json.gz) and
// tokenizer_config.json with [Load], or from the Qwen3 files built into the package with [Qwen3].
//
// [Tokenizer.RenderChat] renders a conversation with the directory's own chat template
// (chat_template.jinja, or tokenizer_config.json's chat_template; Qwen3's for the built-in files)
// as transformers' apply_chat_template does, through package chattemplate, thinking disabled.
//
// Building with -tags hftokenizers adds HF, the same [Encoder] backed by Hugging Face's Rust
// library through cgo (github.com/daulet/tokenizers, which needs libtokenizers.a).
package tokenizer
