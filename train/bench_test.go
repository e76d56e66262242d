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
	tr := benchTrainer(b, cfg, train.Config{MaxSteps: 1 << 30, LR: 1e-3, WarmupSteps: 1, MaxGradNorm: 1,
		BatchSize: 8, Padding: train.PadLongest, Seed: 1})
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

// BenchmarkOptimizerStep times a training step whose cost is mostly the AdamW update: a GPT of
// 50 M parameters (d 1024, 4 layers, mlp 4096) on one row of 8 tokens, with the update on the
// host (the cpu backend's default) and in the step graph.
func BenchmarkOptimizerStep(b *testing.B) {
	cfg := model.Config{Vocab: 512, DModel: 1024, Heads: 8, Layers: 4, MLP: 4096, Context: 8}
	for _, mode := range []string{"host", "graph"} {
		b.Run(mode, func(b *testing.B) {
			tr := benchTrainer(b, cfg, train.Config{MaxSteps: 1 << 30, LR: 1e-4, WarmupSteps: 1, WeightDecay: 0.01,
				MaxGradNorm: 1, BatchSize: 1, Padding: train.PadLongest, Seed: 1})
			if mode == "graph" {
				train.UseGraphUpdate(tr)
			}
			ids := []int32{1, 2, 3, 4, 5, 6, 7, 8}
			batch := []train.Example{{IDs: ids, Labels: ids}}
			if _, _, err := tr.TrainStep(batch); err != nil { // compile
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := tr.TrainStep(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(tr.ParamCount())/1e6, "Mparams")
		})
	}
}

// benchTrainer is a trainer of the GPT cfg with tc on the cpu backend.
func benchTrainer(b *testing.B, cfg model.Config, tc train.Config) *train.Trainer {
	b.Helper()
	gpt, err := model.NewGPT(cfg)
	if err != nil {
		b.Fatal(err)
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	tr, err := train.New(be, gpt, tc)
	if err != nil {
		b.Fatal(err)
	}
	return tr
}
