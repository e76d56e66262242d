package train_test

import (
	"math/rand/v2"
	"testing"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/train"
)

// BenchmarkTrainStepT1 times one training step of the benchmark's T1 configuration
// (vocab 512, d 128, 4 heads, 2 layers, mlp 512, batch 8×128).
func BenchmarkTrainStepT1(b *testing.B) {
	cfg := model.Config{Vocab: 512, DModel: 128, Heads: 4, Layers: 2, MLP: 512, Context: 128}
	gpt, err := model.NewGPT(cfg)
	if err != nil {
		b.Fatal(err)
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := train.New(be, gpt, train.Config{MaxSteps: 1 << 30, LR: 1e-3, WarmupSteps: 1, MaxGradNorm: 1,
		BatchSize: 8, Padding: train.PadLongest, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	batch := make([]train.Example, 8)
	for i := range batch {
		ids := make([]int32, cfg.Context)
		for j := range ids {
			ids[j] = int32(rng.IntN(cfg.Vocab))
		}
		batch[i] = train.Example{IDs: ids, Labels: ids}
	}
	if _, _, err := tr.TrainStep(batch); err != nil { // compile
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := tr.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
	}
}
