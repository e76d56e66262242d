package decoder_test

import (
	"testing"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/train"
)

// BenchmarkTrainStep times one optimizer step through the train package on a Qwen3 model the size
// of the GPT benchmark T1 (vocab 512, hidden 128, 2 layers, 4 heads / 2 kv heads, MLP 512,
// batch 8 × 128 tokens, every position labelled).
func BenchmarkTrainStep(b *testing.B) {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	cfg := decoder.Config{ModelType: "qwen3",
		VocabSize: 512, HiddenSize: 128, IntermediateSize: 512, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 32, RMSNormEps: 1e-6, RopeTheta: 1e6,
		MaxPositionEmbeddings: 128,
	}
	m, err := decoder.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	tr, err := train.New(be, m, train.Config{MaxSteps: 1 << 20, LR: 1e-3, MaxGradNorm: 1, BatchSize: 8, Seed: 1, Padding: train.PadLongest})
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]train.Example, 8)
	for i := range batch {
		ids := make([]int32, 128)
		for j := range ids {
			ids[j] = int32((i*131 + j*17) % cfg.VocabSize)
		}
		batch[i] = train.Example{IDs: ids, Labels: ids}
	}
	if _, _, err := tr.TrainStep(batch); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := tr.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(8*128*b.N)/b.Elapsed().Seconds(), "tokens/s")
}
