package metrics_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/sftlab/sftlab/metrics"
)

// A run writes one row per step to metrics.arrow and reads it back.
func ExampleWriteSteps() {
	dir, _ := os.MkdirTemp("", "run")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, metrics.StepsFile)
	steps := []metrics.Step{
		{Step: 1, TrainLoss: 9.5, LR: 1e-3, Tokens: 800},
		{Step: 2, TrainLoss: 8.25, LR: 1e-3, Tokens: 790},
	}
	if err := metrics.WriteSteps(path, steps); err != nil {
		fmt.Println(err)
		return
	}
	got, err := metrics.ReadSteps(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range got {
		fmt.Printf("step %d: train_loss %.2f\n", s.Step, s.TrainLoss)
	}
	// Output:
	// step 1: train_loss 9.50
	// step 2: train_loss 8.25
}
