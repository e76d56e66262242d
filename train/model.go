package train

import (
	"github.com/gomlx/gomlx/core/graph"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// Model is a causal language model that the trainer can train, evaluate and sample from.
//
// The trainer builds every graph (train step, eval, generation) from these methods, under the
// root scope of the store that Init filled:
//
//	h := m.Hidden(scope, ids, mask)      // [B, T, D]
//	logits := m.Head(scope, rows)        // rows [N, D] gathered from h → [N, V]
//
// Splitting the body from the head lets the trainer compute logits only on the positions that
// carry a label (and never on padding).
type Model interface {
	// Init creates all of the model's variables in store, with values: random ones drawn from
	// seed for a fresh model, or loaded weights for a pretrained one. The trainer calls it once,
	// before any graph is built; graph code later finds the variables by name
	// (Scope.VariableWithShape returns the existing variable).
	Init(store *mlmodel.Store, seed uint64) error

	// Hidden builds the final hidden states [B, T, D] (after the final norm) for token ids
	// [B, T] (Int32). mask [B, T] (Int32) is 1 on real tokens and 0 on padding; padding is always
	// at the end of a row, so a causal model may ignore it.
	Hidden(scope *mlmodel.Scope, ids, mask *graph.Node) *graph.Node

	// Head builds the logits [N, V] for hidden-state rows [N, D].
	Head(scope *mlmodel.Scope, h *graph.Node) *graph.Node

	// Decay reports whether AdamW's weight decay applies to the variable at path (its full
	// store path, e.g. "/layer_0/attn/qkv/weights"). Biases, norm gains and embeddings get none.
	Decay(path string) bool

	// Context is the longest sequence the model accepts (T ≤ Context).
	Context() int
}

// PackedModel is a Model that can also run packed rows, several sequences one after another
// in each row; the trainer needs it with Config.Pack.
type PackedModel interface {
	Model

	// HiddenPacked is Hidden for packed rows: segments [B, T] (Int32) numbers the sequences of
	// each row 1, 2, … and is 0 on the padding after them. Each position must attend only to
	// positions of its own sequence up to itself, with positions counted from the start of its
	// sequence, so that every sequence gets the hidden states that Hidden gives it alone.
	HiddenPacked(scope *mlmodel.Scope, ids, segments *graph.Node) *graph.Node
}

// TrainingModel is a Model whose training forward pass draws random numbers, such as LoRA's
// dropout. In the graphs of a training step the trainer builds the hidden states with
// HiddenTraining instead of Hidden, passing rng, a random-number-generator state
// (graph.RNGStateShape) that it derives from Config.Seed, the step and the micro-batch: a
// resumed run draws the same numbers, and no random state is checkpointed. Evaluation and
// generation use Hidden.
type TrainingModel interface {
	Model
	HiddenTraining(scope *mlmodel.Scope, ids, mask, rng *graph.Node) *graph.Node
}
