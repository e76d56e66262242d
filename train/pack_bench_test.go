package train

import (
	"testing"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/tokenizer"
)

// builtinTrainSet is the built-in teaching set in the instruction format with eos_safe masking,
// on a compact vocabulary, as a tiny-preset run trains on it; and the vocabulary's size.
func builtinTrainSet(b *testing.B) ([]Example, int) {
	b.Helper()
	tok, err := tokenizer.Qwen3()
	if err != nil {
		b.Fatal(err)
	}
	recs, err := datasets.Load("builtin:teaching_zh")
	if err != nil {
		b.Fatal(err)
	}
	exs, _, err := datasets.EncodeAll(tok, recs, datasets.EncodeOptions{Format: "instruction", Masking: "eos_safe", MaxLength: 512})
	if err != nil {
		b.Fatal(err)
	}
	seqs := make([][]int32, len(exs))
	for i, ex := range exs {
		seqs[i] = ex.IDs
	}
	vocab, err := model.NewCompactVocab(tok.VocabSize(), append(tok.SpecialIDs(), tok.EOS(), tok.Pad()), seqs...)
	if err != nil {
		b.Fatal(err)
	}
	out := make([]Example, len(exs))
	for i, ex := range exs {
		ids, err := vocab.ToDense(ex.IDs)
		if err != nil {
			b.Fatal(err)
		}
		labels, err := vocab.ToDense(ex.Labels)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = Example{IDs: ids, Labels: labels}
	}
	return out, vocab.Size()
}

// BenchmarkPacking trains the tiny preset (d_model 128, 2 layers, context 512) on the built-in
// teaching set, batch 8, with and without packing, under both padding modes, and reports the
// non-padding tokens trained per second and the padding share of the batches. Each iteration is
// one optimizer step on the next batch, in the order a run draws them.
//
//	go test -run '^$' -bench Packing -benchtime 40x ./train/
func BenchmarkPacking(b *testing.B) {
	data, vocabSize := builtinTrainSet(b)
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		b.Fatal(err)
	}
	for _, padding := range []string{PadLongest, PadMaxLength} {
		for _, pack := range []bool{false, true} {
			name := padding + "/unpacked"
			if pack {
				name = padding + "/packed"
			}
			b.Run(name, func(b *testing.B) {
				gpt, err := model.NewGPT(model.Config{Vocab: vocabSize, DModel: 128, Heads: 4, Layers: 2, MLP: 512, Context: 512})
				if err != nil {
					b.Fatal(err)
				}
				cfg := Config{MaxSteps: 1 << 30, LR: 3e-3, WarmupSteps: 1, MaxGradNorm: 1, BatchSize: 8, Seed: 1,
					Padding: padding, MaxLength: 512, Pack: pack}
				tr, err := New(be, gpt, cfg)
				if err != nil {
					b.Fatal(err)
				}
				// The batches of one epoch in a run's order, and their padding share as laid out;
				// each batch shape is compiled before the timing starts.
				var batches [][]Example
				var pos position
				var order []int
				var tokens, cells int
				for pos.Epoch == 0 {
					var micros [][]Example
					micros, pos, order = cfg.stepExamples(data, pos, order)
					batches = append(batches, micros...)
				}
				for _, bt := range batches {
					lb, err := cfg.newBatch(bt, gpt.Context(), false)
					if err != nil {
						b.Fatal(err)
					}
					tokens, cells = tokens+lb.tokens, cells+lb.size*lb.length
					if _, _, err := tr.TrainStep(bt); err != nil {
						b.Fatal(err)
					}
				}
				share := 1 - float64(tokens)/float64(cells)
				tokens = 0
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					bt := batches[i%len(batches)]
					if _, _, err := tr.TrainStep(bt); err != nil {
						b.Fatal(err)
					}
					for _, ex := range bt {
						tokens += len(ex.IDs)
					}
				}
				b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
				b.ReportMetric(100*share, "%padding")
			})
		}
	}
}
