package train

import (
	"fmt"
	"math/rand/v2"
)

// IgnoreLabel marks a label that the loss skips (Hugging Face's -100).
const IgnoreLabel = -100

// Example is one tokenized training sequence. Labels has the length of IDs and holds, at each
// position, the token id the loss should see there (usually IDs itself) or IgnoreLabel. As in
// Hugging Face causal LMs, the model's output at position t is scored against Labels[t+1].
type Example struct {
	IDs    []int32
	Labels []int32
}

// rowBucket rounds the number of labelled positions up, so that batches with slightly
// different label counts share one compiled graph.
const rowBucket = 64

// batch is a padded batch plus the positions the loss reads.
type batch struct {
	size, length int
	ids, mask    []int32 // [size·length], right-padded with id 0 / mask 0
	rows         []int32 // [n]: flat positions b·length+t whose next label is scored
	targets      []int32 // [n]: the label at t+1 (0 on filler rows)
	weights      []float32
	labelled     int // positions with a label (rows before filler)
	tokens       int // non-padding input tokens
}

// makeBatch pads examples to one length (the longest, or maxLength) and lists the shifted
// targets. Filler rows (weight 0) round the row count up to a multiple of rowBucket.
func makeBatch(examples []Example, padding string, maxLength, context int) (*batch, error) {
	length := 0
	for _, ex := range examples {
		length = max(length, len(ex.IDs))
	}
	if padding == PadMaxLength {
		if length > maxLength {
			return nil, fmt.Errorf("example of %d tokens is longer than max_length %d: truncate the data or raise max_length", length, maxLength)
		}
		length = maxLength
	}
	if length > context {
		return nil, fmt.Errorf("batch length %d exceeds the model context %d: raise the model's context or lower max_length", length, context)
	}
	if length == 0 {
		return nil, fmt.Errorf("batch of %d empty examples", len(examples))
	}
	b := &batch{size: len(examples), length: length}
	b.ids = make([]int32, b.size*length)
	b.mask = make([]int32, b.size*length)
	for i, ex := range examples {
		if len(ex.Labels) != len(ex.IDs) {
			return nil, fmt.Errorf("example has %d ids but %d labels", len(ex.IDs), len(ex.Labels))
		}
		copy(b.ids[i*length:], ex.IDs)
		for t := range ex.IDs {
			b.mask[i*length+t] = 1
		}
		b.tokens += len(ex.IDs)
		for t := 0; t+1 < len(ex.Labels); t++ {
			if l := ex.Labels[t+1]; l != IgnoreLabel {
				if l < 0 {
					return nil, fmt.Errorf("label %d at position %d: labels are token ids or %d", l, t+1, IgnoreLabel)
				}
				b.rows = append(b.rows, int32(i*length+t))
				b.targets = append(b.targets, l)
			}
		}
	}
	b.labelled = len(b.rows)
	n := min(b.size*length, (b.labelled+rowBucket-1)/rowBucket*rowBucket)
	n = max(n, 1)
	b.weights = make([]float32, n)
	for i := range b.labelled {
		b.weights[i] = 1
	}
	for len(b.rows) < n {
		b.rows = append(b.rows, 0)
		b.targets = append(b.targets, 0)
	}
	return b, nil
}

// epochOrder is the order of the training examples in epoch (0-based): a permutation drawn
// from a PCG generator seeded by (seed, epoch), so any epoch's order is known without
// replaying the ones before it.
func epochOrder(seed uint64, epoch, n int) []int {
	return rand.New(rand.NewPCG(seed, 0x646174615f6f7264^uint64(epoch))).Perm(n) // "data_ord"
}

// position is where the data loader stands: the epoch and the index of its next example.
type position struct {
	Epoch int `json:"epoch"`
	Next  int `json:"next"`
}

// nextBatch returns the examples of the batch at pos and the position after it. As with
// Hugging Face's default data loader, the last batch of an epoch may be smaller.
func nextBatch(data []Example, seed uint64, batchSize int, pos position, order []int) ([]Example, position, []int) {
	if order == nil {
		order = epochOrder(seed, pos.Epoch, len(data))
	}
	end := min(pos.Next+batchSize, len(data))
	out := make([]Example, 0, end-pos.Next)
	for _, i := range order[pos.Next:end] {
		out = append(out, data[i])
	}
	pos.Next = end
	if pos.Next >= len(data) {
		pos = position{Epoch: pos.Epoch + 1}
		order = nil
	}
	return out, pos, order
}
