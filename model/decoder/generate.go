package decoder

import (
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // model code reads like the math
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// cacheBlock is the granularity of the key/value cache capacity: generations whose prompt plus
// new tokens round up to the same multiple share one compiled decoding graph.
const cacheBlock = 64

// promptBlock is the granularity of prompt lengths in the prefill graphs.
const promptBlock = 16

// Generator decodes greedily from a model whose variables are in a store.
//
// The pure-Go backend has no DynamicSlice/DynamicUpdateSlice, so the key/value cache has a fixed
// capacity C (a multiple of 64 covering prompt + new tokens) and a decoding step writes the new
// key and value with a Where on a position iota, then attends to the positions ≤ the current one.
// One prefill graph per (prompt length rounded up to 16, C) fills the cache; one step graph per C
// runs every following token, so a generation compiles at most two graphs. A Generator is not
// safe for concurrent use.
type Generator struct {
	m       *Model
	backend compute.Backend
	store   *mlmodel.Store
	prefill map[int]*mlmodel.Exec // by capacity
	step    *mlmodel.Exec
	full    *mlmodel.Exec
}

// NewGenerator returns a Generator for m, whose variables Init has put in store.
func NewGenerator(backend compute.Backend, store *mlmodel.Store, m *Model) *Generator {
	return &Generator{m: m, backend: backend, store: store, prefill: map[int]*mlmodel.Exec{}}
}

// plan checks prompt and returns the number of tokens to generate (maxNew, cut where the
// sequence would outgrow max_position_embeddings) and the cache capacity.
func (gen *Generator) plan(prompt []int32, maxNew int) (n, capacity int, err error) {
	promptLen := len(prompt)
	for i, id := range prompt {
		if id < 0 || int(id) >= gen.m.cfg.VocabSize {
			return 0, 0, fmt.Errorf("generate: prompt token %d at position %d is outside the vocabulary [0, %d)", id, i, gen.m.cfg.VocabSize)
		}
	}
	if promptLen == 0 {
		return 0, 0, fmt.Errorf("generate: empty prompt")
	}
	if maxNew <= 0 {
		return 0, 0, fmt.Errorf("generate: maxNew must be > 0, got %d", maxNew)
	}
	if promptLen >= gen.m.Context() {
		return 0, 0, fmt.Errorf("generate: the prompt's %d tokens leave no room under max_position_embeddings=%d", promptLen, gen.m.Context())
	}
	n = min(maxNew, gen.m.Context()-promptLen)
	need := promptLen + n
	return n, min((need+cacheBlock-1)/cacheBlock*cacheBlock, gen.m.Context()), nil
}

// Generate continues prompt with up to maxNew greedily chosen (argmax) tokens, using the
// key/value cache, and returns the new tokens. It stops when the model emits eos, which is not
// returned (eos < 0 never stops), or when the sequence reaches max_position_embeddings.
func (gen *Generator) Generate(prompt []int32, maxNew, eos int) ([]int32, error) {
	maxNew, c, err := gen.plan(prompt, maxNew)
	if err != nil {
		return nil, err
	}
	layers := gen.m.cfg.NumHiddenLayers
	pre, ok := gen.prefill[c]
	if !ok {
		pre, err = mlmodel.NewExec(gen.backend, gen.store, func(scope *mlmodel.Scope, ids, last *Node) []*Node {
			caches := make([]*KVCache, layers)
			for i := range caches {
				caches[i] = &KVCache{Capacity: c}
			}
			t := ids.Shape().Dimensions[1]
			h := gen.m.body(scope, gen.m.pass(nil), ids, Iota(ids.Graph(), shapes.Make(dtypes.Int32, t), 0), caches)
			row := Gather(Reshape(h, t, -1), Reshape(last, 1, 1)) // [1, hidden]
			return append([]*Node{gen.m.Head(scope, row)}, flatten(caches)...)
		})
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		gen.prefill[c] = pre
	}
	if gen.step == nil {
		gen.step, err = mlmodel.NewExec(gen.backend, gen.store, func(scope *mlmodel.Scope, in []*Node) []*Node {
			token, pos := in[0], in[1]
			caches := make([]*KVCache, layers)
			for i := range caches {
				k := in[2+2*i]
				caches[i] = &KVCache{K: k, V: in[3+2*i], Pos: pos, Capacity: k.Shape().Dimensions[2]}
			}
			h := gen.m.body(scope, gen.m.pass(nil), token, Reshape(pos, 1), caches)
			return append([]*Node{gen.m.Head(scope, Reshape(h, 1, -1))}, flatten(caches)...)
		})
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
	}

	// The prompt is right-padded to a multiple of promptBlock so that prompts of similar length
	// share a compiled prefill graph. The padding's keys and values land in the cache at
	// positions ≥ len(prompt), each of which a decoding step overwrites before it becomes visible.
	padded := make([]int32, min((len(prompt)+promptBlock-1)/promptBlock*promptBlock, c))
	copy(padded, prompt)
	outs, err := pre.Call(tensors.FromFlatDataAndDimensions(padded, 1, len(padded)), int32(len(prompt)-1))
	if err != nil {
		return nil, fmt.Errorf("generate: prefill of %d tokens: %w", len(prompt), err)
	}
	var generated []int32
	for pos := len(prompt); ; pos++ {
		next, err := argmaxRow(outs[0])
		if err != nil {
			return nil, err
		}
		if int(next) == eos {
			finalize(outs)
			return generated, nil
		}
		generated = append(generated, next)
		if len(generated) == maxNew {
			finalize(outs)
			return generated, nil
		}
		args := []any{tensors.FromFlatDataAndDimensions([]int32{next}, 1, 1), int32(pos)}
		for _, t := range outs[1:] {
			args = append(args, t)
		}
		newOuts, err := gen.step.Call(args...)
		finalize(outs)
		if err != nil {
			return nil, fmt.Errorf("generate: step at position %d: %w", pos, err)
		}
		outs = newOuts
	}
}

// GenerateNoCache is Generate without the key/value cache: every step runs the whole sequence
// (padded to the cache capacity; causality makes the padding harmless). It is the reference that
// the cached decoder is checked against.
func (gen *Generator) GenerateNoCache(prompt []int32, maxNew, eos int) ([]int32, error) {
	maxNew, c, err := gen.plan(prompt, maxNew)
	if err != nil {
		return nil, err
	}
	if gen.full == nil {
		gen.full, err = mlmodel.NewExec(gen.backend, gen.store, func(scope *mlmodel.Scope, ids, last *Node) *Node {
			h := gen.m.Hidden(scope, ids, nil)                                          // [1, C, hidden]
			row := Gather(Reshape(h, h.Shape().Dimensions[1], -1), Reshape(last, 1, 1)) // [1, hidden]
			return gen.m.Head(scope, row)
		})
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
	}
	seq := make([]int32, c)
	copy(seq, prompt)
	n := len(prompt)
	var generated []int32
	for len(generated) < maxNew {
		logits, err := gen.full.Call(tensors.FromFlatDataAndDimensions(seq, 1, c), int32(n-1))
		if err != nil {
			return nil, fmt.Errorf("generate: position %d: %w", n, err)
		}
		next, err := argmaxRow(logits[0])
		finalize(logits)
		if err != nil {
			return nil, err
		}
		if int(next) == eos {
			break
		}
		generated = append(generated, next)
		if len(generated) == maxNew {
			break
		}
		seq[n] = next
		n++
	}
	return generated, nil
}

func flatten(caches []*KVCache) []*Node {
	out := make([]*Node, 0, 2*len(caches))
	for _, c := range caches {
		out = append(out, c.K, c.V)
	}
	return out
}

func finalize(ts []*tensors.Tensor) {
	for _, t := range ts {
		t.FinalizeAll()
	}
}

// argmaxRow returns the index of the largest of the logits [1, V] (the first on ties).
func argmaxRow(logits *tensors.Tensor) (int32, error) {
	var best int32
	err := tensors.ConstFlatData(logits, func(flat []float32) {
		for i, v := range flat {
			if v > flat[best] {
				best = int32(i)
			}
		}
	})
	if err != nil {
		return 0, fmt.Errorf("generate: logits: %w", err)
	}
	return best, nil
}
