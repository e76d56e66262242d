package train

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/core/tensors"
)

// GenerateBatch continues several prompts greedily at once, as Generate continues one: each
// for up to maxNewTokens tokens, stopping after it emits stop or fills the context. The prompts
// are the rows of one batch (right-padded; attention is causal, so padding never reaches a
// real position). A row that has stopped stays in the batch, its output ignored, so that the
// batch keeps its shape: only the length changes, in steps of genBucket, and each shape is
// compiled once. It returns the new tokens of each prompt, without the stop token.
func (t *Trainer) GenerateBatch(prompts [][]int32, maxNewTokens int, stop int32) ([][]int32, error) {
	ctx := t.model.Context()
	seqs := make([][]int32, len(prompts))
	out := make([][]int32, len(prompts))
	done := make([]bool, len(prompts))
	for i, p := range prompts {
		if len(p) == 0 || len(p) > ctx {
			return nil, fmt.Errorf("train: generate: prompt %d has %d tokens, want 1 to %d (the model's context)", i, len(p), ctx)
		}
		seqs[i] = slices.Clone(p)
	}
	n := len(prompts)
	for range maxNewTokens {
		longest := 0
		for i := range seqs {
			if len(seqs[i]) > ctx {
				done[i] = true
			}
			if !done[i] {
				longest = max(longest, len(seqs[i]))
			}
		}
		if longest == 0 {
			break
		}
		length := min(ctx, (longest+genBucket-1)/genBucket*genBucket)
		ids := make([]int32, n*length)
		mask := make([]int32, n*length)
		rows := make([]int32, n)
		for r, seq := range seqs {
			if done[r] {
				seq = seq[:min(len(seq), length)] // its output is ignored
			}
			copy(ids[r*length:], seq)
			for j := range seq {
				mask[r*length+j] = 1
			}
			rows[r] = int32(r*length + len(seq) - 1)
		}
		res, err := call(t.genExec,
			tensors.FromFlatDataAndDimensions(ids, n, length),
			tensors.FromFlatDataAndDimensions(mask, n, length),
			tensors.FromFlatDataAndDimensions(rows, n))
		if err != nil {
			return out, fmt.Errorf("train: generate %d rows at length %d: %w", n, length, err)
		}
		next := tensors.MustCopyFlatData[int32](res[0])
		for r := range seqs {
			if done[r] {
				continue
			}
			if next[r] == stop {
				done[r] = true
				continue
			}
			out[r] = append(out[r], next[r])
			seqs[r] = append(seqs[r], next[r])
		}
	}
	return out, nil
}
