package train

import (
	"fmt"
	"slices"

	"github.com/gomlx/gomlx/core/tensors"
)

// GenerateBatch continues several prompts greedily at once, as Generate continues one: each
// for up to maxNewTokens tokens, stopping after it emits stop or fills the context. The prompts
// are run together as the rows of one batch (right-padded; attention is causal, so padding
// never reaches a real position), and a row leaves the batch when it stops. It returns the new
// tokens of each prompt, without the stop token.
func (t *Trainer) GenerateBatch(prompts [][]int32, maxNewTokens int, stop int32) ([][]int32, error) {
	ctx := t.model.Context()
	seqs := make([][]int32, len(prompts))
	out := make([][]int32, len(prompts))
	active := make([]int, 0, len(prompts))
	for i, p := range prompts {
		if len(p) == 0 || len(p) > ctx {
			return nil, fmt.Errorf("train: generate: prompt %d has %d tokens, want 1 to %d (the model's context)", i, len(p), ctx)
		}
		seqs[i] = slices.Clone(p)
		active = append(active, i)
	}
	for range maxNewTokens {
		active = slices.DeleteFunc(active, func(i int) bool { return len(seqs[i]) > ctx })
		if len(active) == 0 {
			break
		}
		longest := 0
		for _, i := range active {
			longest = max(longest, len(seqs[i]))
		}
		length := min(ctx, (longest+genBucket-1)/genBucket*genBucket)
		ids := make([]int32, len(active)*length)
		mask := make([]int32, len(active)*length)
		rows := make([]int32, len(active))
		for r, i := range active {
			copy(ids[r*length:], seqs[i])
			for j := range seqs[i] {
				mask[r*length+j] = 1
			}
			rows[r] = int32(r*length + len(seqs[i]) - 1)
		}
		res, err := call(t.genExec,
			tensors.FromFlatDataAndDimensions(ids, len(active), length),
			tensors.FromFlatDataAndDimensions(mask, len(active), length),
			tensors.FromFlatDataAndDimensions(rows, len(rows)))
		if err != nil {
			return out, fmt.Errorf("train: generate %d rows at length %d: %w", len(active), length, err)
		}
		next := tensors.MustCopyFlatData[int32](res[0])
		still := active[:0]
		for r, i := range active {
			if next[r] == stop {
				continue
			}
			out[i] = append(out[i], next[r])
			seqs[i] = append(seqs[i], next[r])
			still = append(still, i)
		}
		active = still
	}
	return out, nil
}
