package train

import "fmt"

// stepExamples returns the examples of the optimizer step at pos, one slice per micro-batch
// (GradAccum of them, or one), with the position after them. A step does not cross epochs, so
// the last step of an epoch may have fewer micro-batches and examples.
func (c Config) stepExamples(data []Example, pos position, order []int) ([][]Example, position, []int) {
	start := pos.Epoch
	var micros [][]Example
	for len(micros) < c.microBatches() {
		var examples []Example
		examples, pos, order = nextBatch(data, c.Seed, c.BatchSize, pos, order)
		micros = append(micros, examples)
		if pos.Epoch != start {
			break
		}
	}
	return micros, pos, order
}

// Fill counts the positions of the training batches of a run: those holding tokens, and all
// of them, with one example per row and packed (Config.Pack).
type Fill struct {
	Tokens      int64 // non-padding tokens
	Cells       int64 // batch positions (rows × length) with one example per row
	PackedCells int64 // batch positions with the examples packed
}

// PaddingShare is the share of the batch positions that are padding, with one example per row
// and packed; 0 when there are no positions.
func (f Fill) PaddingShare() (unpacked, packed float64) {
	share := func(cells int64) float64 {
		if cells == 0 {
			return 0
		}
		return 1 - float64(f.Tokens)/float64(cells)
	}
	return share(f.Cells), share(f.PackedCells)
}

// BatchFill lays out the training batches that Run draws from trainSet under cfg (MaxSteps
// steps from the start, each of GradAccum micro-batches of BatchSize examples, in the same
// order), one example per row and packed, for a model of the given context, and counts their
// positions. It trains nothing; cfg.Pack does not matter.
func BatchFill(trainSet []Example, cfg Config, context int) (Fill, error) {
	var f Fill
	if err := cfg.Validate(); err != nil {
		return f, err
	}
	if len(trainSet) == 0 {
		return f, fmt.Errorf("train: empty training set")
	}
	plain, packed := cfg, cfg
	plain.Pack, packed.Pack = false, true
	var pos position
	var order []int
	for step := 1; step <= cfg.MaxSteps; step++ {
		var micros [][]Example
		micros, pos, order = cfg.stepExamples(trainSet, pos, order)
		for _, examples := range micros {
			a, err := plain.newBatch(examples, context, false)
			if err != nil {
				return f, fmt.Errorf("train: step %d: %w", step, err)
			}
			b, err := packed.newBatch(examples, context, false)
			if err != nil {
				return f, fmt.Errorf("train: step %d, packed: %w", step, err)
			}
			f.Tokens += int64(a.tokens)
			f.Cells += int64(a.size * a.length)
			f.PackedCells += int64(b.size * b.length)
		}
	}
	return f, nil
}
