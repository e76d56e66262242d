// Package model builds the GPT-style causal language model that sftlab trains from scratch.
//
// The code reads top to bottom like nanoGPT's model.py: [Attention], [MLP], [Block], then the
// [GPT] type that assembles token and positional embeddings, the blocks, the final LayerNorm
// and the LM head. [GPT] satisfies train.Model.
//
// The building blocks [LastAxisSoftmax], [Gelu], [Normalize] and [CrossEntropy] compute the
// usual math with gradients written out, avoiding the Go backend's slow Exp op (see ops.go);
// other models (such as model/decoder) can use them too.
//
// [CompactVocab] maps the token ids that occur in an experiment's data (plus special tokens)
// onto a dense range, so that a tiny model does not pay for a 151k-entry embedding and head.
package model
