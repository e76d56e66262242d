package train_test

import (
	"context"
	"fmt"
	"log"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/train"
)

// Example trains a tiny GPT for a few steps, evaluates it, and generates greedily.
func Example() {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		log.Fatal(err)
	}
	gpt, err := model.NewGPT(model.Config{Vocab: 16, DModel: 16, Heads: 2, Layers: 1, MLP: 32, Context: 8})
	if err != nil {
		log.Fatal(err)
	}
	data := []train.Example{
		{IDs: []int32{1, 2, 3, 4}, Labels: []int32{train.IgnoreLabel, 2, 3, 4}},
		{IDs: []int32{5, 6, 7}, Labels: []int32{train.IgnoreLabel, 6, 7}},
	}
	cfg := train.Config{MaxSteps: 4, LR: 1e-3, WarmupSteps: 1, MaxGradNorm: 1, BatchSize: 2,
		Seed: 1, Padding: train.PadLongest}
	tr, err := train.New(be, gpt, cfg)
	if err != nil {
		log.Fatal(err)
	}
	res, err := tr.Run(context.Background(), data, map[string][]train.Example{"valid": data}, train.Hooks{
		OnStep: func(m train.StepMetrics) error { fmt.Printf("step %d lr %.4f\n", m.Step, m.LR); return nil },
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("eval tokens:", res.Evals["valid"].Tokens)
	next, err := tr.Generate([]int32{1, 2}, 3, -1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("generated:", len(next))
	// Output:
	// step 1 lr 0.0000
	// step 2 lr 0.0010
	// step 3 lr 0.0007
	// step 4 lr 0.0003
	// eval tokens: 5
	// generated: 3
}
