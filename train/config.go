package train

import (
	"errors"
	"fmt"
	"math"
)

// Padding strategies for batches.
const (
	PadLongest   = "longest"    // pad each batch to its longest example
	PadMaxLength = "max_length" // pad every batch to Config.MaxLength
)

// Config holds the training hyperparameters. Its zero value is not usable: the defaults live
// with the rest of sftlab's configuration, and Validate reports what is missing.
type Config struct {
	MaxSteps        int     // optimizer steps to run
	LR              float64 // peak learning rate
	WarmupSteps     int     // linear warmup from 0 over this many steps
	WeightDecay     float64 // decoupled AdamW weight decay (0 = none)
	MaxGradNorm     float64 // global gradient-norm clip; 0 disables clipping
	BatchSize       int     // training examples per micro-batch (per step when GradAccum ≤ 1)
	GradAccum       int     // micro-batches accumulated per optimizer step; 0 or 1 = none
	EvalBatchSize   int     // examples per eval batch; 0 means BatchSize
	EvalLossAverage string  // AverageTokens ("" too) or AverageBatches: how eval losses are averaged
	Seed            uint64  // drives initialisation and data order
	Padding         string  // PadLongest or PadMaxLength
	MaxLength       int     // batch length for PadMaxLength; examples longer than it are an error
	EvalEvery       int     // evaluate every N steps (and at the end); 0 = only at the end
	CheckpointEvery int     // checkpoint every N steps (and at the end) when CheckpointDir is set
	CheckpointDir   string  // where checkpoints go; "" = no checkpoints
	// Pack places several examples per row, up to MaxLength tokens (the model must be a
	// PackedModel). Batches still hold BatchSize examples, so every step sees the same examples
	// as unpacked and its loss is the same up to float rounding; only the padding shrinks.
	Pack bool
	// DivergenceFactor ends training as diverged when a step's loss exceeds this multiple of
	// the first step's loss; 0 disables the check (a NaN or infinite loss always ends it).
	DivergenceFactor float64
}

// Validate reports every problem of c at once.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("train: key %q: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.MaxSteps <= 0 {
		bad("max_steps", "must be > 0, got %d", c.MaxSteps)
	}
	if c.LR <= 0 {
		bad("lr", "must be > 0, got %g", c.LR)
	}
	if c.WarmupSteps < 0 {
		bad("warmup_steps", "must be ≥ 0, got %d", c.WarmupSteps)
	}
	if c.WeightDecay < 0 {
		bad("weight_decay", "must be ≥ 0, got %g", c.WeightDecay)
	}
	if c.MaxGradNorm < 0 {
		bad("max_grad_norm", "must be ≥ 0 (0 disables clipping), got %g", c.MaxGradNorm)
	}
	if c.BatchSize <= 0 {
		bad("batch_size", "must be > 0, got %d", c.BatchSize)
	}
	if c.GradAccum < 0 {
		bad("grad_accum", "must be ≥ 0 (0 or 1 = no accumulation), got %d", c.GradAccum)
	}
	if c.EvalBatchSize < 0 {
		bad("eval_batch_size", "must be ≥ 0, got %d", c.EvalBatchSize)
	}
	switch c.Padding {
	case PadLongest:
	case PadMaxLength:
		if c.MaxLength <= 0 {
			bad("max_length", "must be > 0 with padding %q, got %d", PadMaxLength, c.MaxLength)
		}
	default:
		bad("padding", "must be %q or %q, got %q", PadLongest, PadMaxLength, c.Padding)
	}
	if !(c.DivergenceFactor >= 0) || math.IsInf(c.DivergenceFactor, 0) {
		bad("divergence_factor", "must be a finite number ≥ 0 (0 disables the check), got %g", c.DivergenceFactor)
	}
	switch c.EvalLossAverage {
	case "", AverageTokens, AverageBatches:
	default:
		bad("eval_loss_average", "must be %q or %q, got %q", AverageTokens, AverageBatches, c.EvalLossAverage)
	}
	if c.EvalEvery < 0 {
		bad("eval_every", "must be ≥ 0, got %d", c.EvalEvery)
	}
	if c.Pack && c.MaxLength <= 0 {
		bad("max_length", "must be > 0 with packing (it is the length of a packed row), got %d", c.MaxLength)
	}
	if c.CheckpointEvery < 0 {
		bad("checkpoint_every", "must be ≥ 0, got %d", c.CheckpointEvery)
	}
	return errors.Join(errs...)
}

func (c Config) evalBatchSize() int {
	if c.EvalBatchSize > 0 {
		return c.EvalBatchSize
	}
	return c.BatchSize
}

// microBatches is the number of micro-batches per optimizer step (at least 1).
func (c Config) microBatches() int { return max(1, c.GradAccum) }

// EvalDue reports whether Run evaluates after step: every EvalEvery steps and at the last.
func (c Config) EvalDue(step int) bool { return c.due(step, c.EvalEvery) }

// CheckpointDue reports whether Run checkpoints after step (with a CheckpointDir): every
// CheckpointEvery steps and at the last.
func (c Config) CheckpointDue(step int) bool { return c.due(step, c.CheckpointEvery) }

// due reports whether step is the last or a multiple of every (> 0).
func (c Config) due(step, every int) bool {
	return step == c.MaxSteps || (every > 0 && step%every == 0)
}
