package decoder

import (
	"testing"

	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/backend"
)

// benchConfig is a small but not tiny Qwen3 shape for timing generation.
var benchConfig = Config{ModelType: "qwen3",
	VocabSize: 8192, HiddenSize: 256, IntermediateSize: 768, NumHiddenLayers: 4,
	NumAttentionHeads: 8, NumKeyValueHeads: 4, HeadDim: 32, RMSNormEps: 1e-6, RopeTheta: 1e6,
	MaxPositionEmbeddings: 512, TieWordEmbeddings: true,
}

// BenchmarkGenerate times 48 greedy tokens after a 16-token prompt, with and without the cache;
// ns/op is per generation, and tokens/s is reported.
func BenchmarkGenerate(b *testing.B) {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	m, err := New(benchConfig)
	if err != nil {
		b.Fatal(err)
	}
	store := mlmodel.NewStore()
	if err := m.Init(store, 1); err != nil {
		b.Fatal(err)
	}
	prompt := make([]int32, 16)
	for i := range prompt {
		prompt[i] = int32(i * 37 % benchConfig.VocabSize)
	}
	const newTokens = 48
	for _, bc := range []struct {
		name string
		fn   func(*Generator) ([]int32, error)
	}{
		{"cache", func(g *Generator) ([]int32, error) { return g.Generate(prompt, newTokens, -1) }},
		{"recompute", func(g *Generator) ([]int32, error) { return g.GenerateNoCache(prompt, newTokens, -1) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			gen := NewGenerator(be, store, m)
			if _, err := bc.fn(gen); err != nil { // compile outside the timing
				b.Fatal(err)
			}
			b.ResetTimer()
			for b.Loop() {
				if _, err := bc.fn(gen); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(newTokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
