package runner

import (
	"fmt"

	"github.com/schollz/progressbar/v3"

	"github.com/sftlab/sftlab/train"
)

// progress shows one run's training progress: a bar in a terminal (step, loss, tokens/s, ETA),
// nothing otherwise.
type progress struct {
	bar   *progressbar.ProgressBar
	title string
}

// newBar starts the progress bar of run index (0-based) of total, which trains maxSteps steps
// and starts at step from.
func (r *Runner) newBar(name string, index, total, maxSteps, from int) *progress {
	w := r.opts.Progress
	if r.opts.Quiet || w == nil {
		return &progress{}
	}
	title := fmt.Sprintf("[%d/%d] %s", index+1, total, name)
	bar := progressbar.NewOptions(maxSteps,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(title),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionSetWidth(24),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
	if from > 0 {
		bar.Set(from)
	}
	return &progress{bar: bar, title: title}
}

// step advances the bar to s.Step and shows the loss and speed.
func (p *progress) step(s train.StepMetrics) {
	if p.bar == nil {
		return
	}
	p.bar.Describe(fmt.Sprintf("%s loss %.4f %6.0f tok/s", p.title, s.TrainLoss, s.TokensPerS))
	p.bar.Set(s.Step)
}

// finish removes the bar.
func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
}
