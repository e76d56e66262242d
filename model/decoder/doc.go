// Package decoder runs and fine-tunes the Qwen3 decoder-only architecture from a local Hugging Face
// model directory.
//
// [LoadDir] reads config.json and the safetensors weights (one file or a sharded set); [Model]
// builds the forward pass in GoMLX, reading top to bottom like Hugging Face's modeling_qwen3.py:
// [RMSNorm], [Rotary], [Attention] (per-head q/k RMSNorm, rotary embeddings, grouped-query
// attention), [MLP] (SwiGLU), [Block], then [Model.Hidden] and [Model.Head] (tied to the token
// embedding when tie_word_embeddings). [Model] satisfies train.Model, [Model.Save] writes the
// weights back in Hugging Face's names and layout, and [Generator] decodes greedily with a
// key/value cache that runs on the pure-Go backend.
//
// Variables live in the store under Hugging Face's tensor names with "/" for ".", e.g.
// "/model/layers/0/self_attn/q_proj/weight". Linear weights are stored transposed, [in, out], so
// that projections hit the backend's fast matmul layout; loading and saving transpose them.
package decoder
