package train

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// IgnoreLabel marks a label that the loss skips (Hugging Face's -100).
const IgnoreLabel = -100

// Example is one tokenized training sequence. Labels has the length of IDs and holds, at each
// position, the token id the loss should see there (usually IDs itself) or IgnoreLabel. As in
// Hugging Face causal LMs, the model's output at position t is scored against Labels[t+1].
//
// AnswerLabels, when set, has the same shape and marks the positions answer_loss scores (the
// response tokens and their end token); evaluation scores them beside Labels, training ignores
// them.
type Example struct {
	IDs          []int32
	Labels       []int32
	AnswerLabels []int32
}

// rowBucket rounds the number of labelled positions up, so that batches with slightly
// different label counts share one compiled graph.
const rowBucket = 64

// batch is a padded batch plus the positions the loss reads.
type batch struct {
	size, length  int
	ids           []int32 // [size·length], right-padded with id 0
	mask          []int32 // [size·length]: the example's number in its row (1, 2, …; always 1 unpacked), 0 on padding
	rows          []int32 // [n]: flat positions b·length+t whose next label is scored
	targets       []int32 // [n]: the label at t+1 (0 on filler rows)
	weights       []float32
	answerWeights []float32 // [n], only with answers: 1 on the rows answer_loss scores
	labelled      int       // rows with a label (weight 1)
	answered      int       // rows with an answer label (answer weight 1)
	tokens        int       // non-padding input tokens
}

// makeBatch pads examples to one length (the longest, or maxLength) and lists the shifted
// targets. With answers, the rows also cover the positions of AnswerLabels, weighted by
// answerWeights. Filler rows (weight 0) round the row count up to a multiple of rowBucket.
func makeBatch(examples []Example, padding string, maxLength, context int, answers bool) (*batch, error) {
	rows := make([][]Example, len(examples))
	for i := range examples {
		rows[i] = examples[i : i+1]
	}
	return layoutBatch(rows, padding, maxLength, context, answers)
}

// packBatch is makeBatch with several examples per row: the examples are packed into rows of
// at most maxLength tokens (see packRows), and mask numbers each row's examples 1, 2, … (0 on
// padding) for the model's HiddenPacked. The scored (position, target) pairs are those of
// makeBatch, at other positions, so the loss is the same up to float rounding.
func packBatch(examples []Example, padding string, maxLength, context int, answers bool) (*batch, error) {
	rows, err := packRows(examples, maxLength)
	if err != nil {
		return nil, err
	}
	return layoutBatch(rows, padding, maxLength, context, answers)
}

// packRows places examples into as few rows of at most capacity tokens as first-fit
// decreasing finds: longest first (ties in input order), each into the first row with room.
// It is deterministic, and fast for the few examples of a batch.
func packRows(examples []Example, capacity int) ([][]Example, error) {
	order := make([]int, len(examples))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(examples[b].IDs) - len(examples[a].IDs) })
	var rows [][]Example
	var used []int
	for _, i := range order {
		n := len(examples[i].IDs)
		if n > capacity {
			return nil, fmt.Errorf("example of %d tokens is longer than max_length %d, the length of a packed row: truncate the data or raise max_length", n, capacity)
		}
		placed := false
		for r := range rows {
			if used[r]+n <= capacity {
				rows[r], used[r], placed = append(rows[r], examples[i]), used[r]+n, true
				break
			}
		}
		if !placed {
			rows, used = append(rows, []Example{examples[i]}), append(used, n)
		}
	}
	return rows, nil
}

// layoutBatch lays rows of examples out as a batch: each row's examples one after another,
// padded to one length (the longest row, or maxLength), mask holding each example's number in
// its row (1, 2, …) and 0 on padding. It lists the shifted targets within each example, and
// with answers also the positions of AnswerLabels (weighted by answerWeights); filler rows
// (weight 0) round their count up to a multiple of rowBucket.
func layoutBatch(rows [][]Example, padding string, maxLength, context int, answers bool) (*batch, error) {
	length := 0
	for _, row := range rows {
		n := 0
		for _, ex := range row {
			n += len(ex.IDs)
		}
		length = max(length, n)
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
		return nil, fmt.Errorf("batch of %d empty examples", len(rows))
	}
	b := &batch{size: len(rows), length: length}
	b.ids = make([]int32, b.size*length)
	b.mask = make([]int32, b.size*length)
	for i, row := range rows {
		start := i * length
		for seg, ex := range row {
			if err := b.add(ex, start, int32(seg+1), answers); err != nil {
				return nil, err
			}
			start += len(ex.IDs)
		}
	}
	n := min(b.size*length, (len(b.rows)+rowBucket-1)/rowBucket*rowBucket)
	n = max(n, 1)
	for len(b.rows) < n {
		b.rows = append(b.rows, 0)
		b.targets = append(b.targets, 0)
		b.weights = append(b.weights, 0)
		b.answerWeights = append(b.answerWeights, 0)
	}
	if !answers {
		b.answerWeights = nil
	}
	return b, nil
}

// add places one example at the flat position start, numbered seg in its row, and lists its
// scored rows.
func (b *batch) add(ex Example, start int, seg int32, answers bool) error {
	if len(ex.Labels) != len(ex.IDs) {
		return fmt.Errorf("example has %d ids but %d labels", len(ex.IDs), len(ex.Labels))
	}
	copy(b.ids[start:], ex.IDs)
	for t := range ex.IDs {
		b.mask[start+t] = seg
	}
	b.tokens += len(ex.IDs)
	answer := ex.AnswerLabels
	if !answers {
		answer = nil
	} else if answer != nil && len(answer) != len(ex.IDs) {
		return fmt.Errorf("example has %d ids but %d answer labels", len(ex.IDs), len(answer))
	}
	for t := 0; t+1 < len(ex.Labels); t++ {
		l, a := ex.Labels[t+1], int32(IgnoreLabel)
		if answer != nil {
			a = answer[t+1]
		}
		for _, x := range []int32{l, a} {
			if x != IgnoreLabel && x < 0 {
				return fmt.Errorf("label %d at position %d: labels are token ids or %d", x, t+1, IgnoreLabel)
			}
		}
		if l != IgnoreLabel && a != IgnoreLabel && l != a {
			return fmt.Errorf("position %d: label %d and answer label %d differ: both are the token there", t+1, l, a)
		}
		if l == IgnoreLabel && a == IgnoreLabel {
			continue
		}
		target := l
		if target == IgnoreLabel {
			target = a
		}
		b.rows = append(b.rows, int32(start+t))
		b.targets = append(b.targets, target)
		b.weights = append(b.weights, weight(l != IgnoreLabel))
		b.answerWeights = append(b.answerWeights, weight(a != IgnoreLabel))
		if l != IgnoreLabel {
			b.labelled++
		}
		if a != IgnoreLabel {
			b.answered++
		}
	}
	return nil
}

// weight is 1 for a scored row, 0 for one that is not.
func weight(scored bool) float32 {
	if scored {
		return 1
	}
	return 0
}

// newBatch lays examples out as c says: packed (Pack) or one per row; with answers, the
// answer_loss rows too.
func (c Config) newBatch(examples []Example, context int, answers bool) (*batch, error) {
	if c.Pack {
		return packBatch(examples, c.Padding, c.MaxLength, context, answers)
	}
	return makeBatch(examples, c.Padding, c.MaxLength, context, answers)
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
