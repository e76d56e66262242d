// Package decoder runs and fine-tunes the Llama-style decoder-only language models (Llama,
// Qwen2, Qwen3) from a local Hugging Face model directory, fully or with LoRA adapters.
//
// [LoadDir] reads config.json and the safetensors weights (one file or a sharded set);
// config.json's model_type picks the family, and an unsupported model_type or rope_scaling is
// refused by name before any weight is read. One [Model] serves every family, the differences
// being configuration: per-head q/k RMSNorm (qwen3), q/k/v biases (qwen2, or attention_bias,
// which also biases o_proj), and llama3 rope scaling (Llama 3.1/3.2). The forward pass reads top
// to bottom like Hugging Face's modeling_llama.py: [RMSNorm], [Rotary], [Attention]
// (grouped-query, causal), [MLP] (SwiGLU), [Block], then [Model.Hidden] and [Model.Head] (tied to
// the token embedding when tie_word_embeddings). Every projection goes through [Pass.Project].
// [Model] satisfies train.Model, [Model.Save] writes the weights back in Hugging Face's names
// and layout, and [Generator] decodes greedily with a key/value cache that runs on the pure-Go
// backend.
//
// LoRA follows PEFT: [Model.AddLoRA] freezes the base weights (Init creates them as
// non-trainable variables, so a trainer computes no gradient and keeps no optimizer state for
// them) and adds trainable A (kaiming-uniform, a = √5) and B (zero) matrices to the targeted
// projections, whose output gains (alpha/r)·dropout(x)·Aᵀ·Bᵀ; dropout acts in training graphs
// only ([Model.HiddenTraining]). [Model.SaveAdapter] and [Model.LoadAdapter] read and write
// PEFT's adapter directory (adapter_config.json, adapter_model.safetensors), and
// [Model.SaveMerged] folds the adapters into a plain model directory.
//
// Variables live in the store under Hugging Face's tensor names with "/" for ".", e.g.
// "/model/layers/0/self_attn/q_proj/weight" and ".../q_proj/lora_A/weight". Linear weights and
// adapters are stored transposed, [in, out], so that projections hit the backend's fast matmul
// layout; loading and saving transpose them.
package decoder
