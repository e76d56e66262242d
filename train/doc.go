// Package train trains a causal language model with Hugging Face Trainer semantics.
//
// It reproduces what the Trainer does for a causal LM: shifted next-token cross-entropy
// averaged over the labels that are not -100, AdamW (betas 0.9/0.999, eps 1e-8, decoupled
// weight decay that skips biases, norm gains and embeddings), the linear warmup and decay of
// get_linear_schedule_with_warmup, and global gradient-norm clipping; batches are padded on the
// right and reshuffled every epoch from a seed. Gradient accumulation (Config.GradAccum) splits
// each optimizer step into micro-batches and weights their losses by labelled tokens, so a step
// trains like one large batch that would not fit in memory. Runs are deterministic (same seed,
// same bits, whatever GOMAXPROCS), checkpoint atomically, and resume bit-identically.
//
// On a backend whose buffers are Go memory (the cpu backend) the step graph ends at the
// gradients and the AdamW update runs on the host, in place, in one pass over each weight
// split across the cores, instead of a dozen element-wise passes inside the graph; it computes
// the same float32 operations in the same order, so the weights are bit-identical either way.
//
// Use [New] and [Trainer.Run], or the one-call [Run]; [Trainer.Evaluate] and
// [Trainer.Generate] work on the trained weights.
package train
