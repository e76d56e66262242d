package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/tokenizer"
)

// spVocab is the vocabulary of the SentencePiece-style tokenizer in tokenizer/testdata/mistral
// (Llama 2, TinyLlama and Mistral v0.1 all have 32,000 pieces).
const spVocab = 32000

// writeTinyLlamaSP writes a random 2-layer Llama model with a SentencePiece-style BPE tokenizer
// with byte fallback (tokenizer/testdata/mistral), as TinyLlama's directory is laid out.
func writeTinyLlamaSP(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "llama-sp-tiny")
	cfg := decoder.Config{ModelType: "llama",
		VocabSize: spVocab, HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 2,
		NumAttentionHeads: 4, NumKeyValueHeads: 2, HeadDim: 8, RMSNormEps: 1e-5, RopeTheta: 10000,
		MaxPositionEmbeddings: 2048, TorchDtype: "bfloat16",
	}
	if err := decoder.WriteRandom(dir, cfg, 5); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tokenizer.json.gz", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "tokenizer", "testdata", "mistral", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestLlamaSentencePieceEndToEnd fine-tunes a tiny random Llama checkpoint whose tokenizer is
// SentencePiece-style BPE with byte fallback (untied head, no q/k norm) through `sftlab run` on
// the classroom comparison, then checks the runs' metrics, that the saved directory reloads with
// the same tokenizer, and that `sftlab generate` reproduces each run's own sample completion
// (decoding byte-fallback pieces and ▁ back to text).
func TestLlamaSentencePieceEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("fine-tunes a model")
	}
	pretrained := writeTinyLlamaSP(t)
	for dir, r := range runClassroomOn(t, pretrained, 2, 6) {
		t.Run(r.Info.Name, func(t *testing.T) {
			if first, uniform := r.Steps[0].TrainLoss, math.Log(spVocab); math.Abs(first-uniform) > 0.5 {
				t.Errorf("first train loss %.4f, want about ln(%d) = %.4f", first, spVocab, uniform)
			}
			saved := filepath.Join(dir, "model")
			m, err := decoder.LoadDir(saved)
			if err != nil {
				t.Fatalf("the fine-tuned model does not reload: %v", err)
			}
			if c := m.Config(); c.ModelType != "llama" || c.VocabSize != spVocab {
				t.Errorf("saved config: model_type %q, vocab %d; want llama, %d", c.ModelType, c.VocabSize, spVocab)
			}
			m.Close()
			orig, err := tokenizer.Load(pretrained)
			if err != nil {
				t.Fatal(err)
			}
			tok, err := tokenizer.Load(saved)
			if err != nil {
				t.Fatalf("the tokenizer next to the model does not load: %v", err)
			}
			const text = "指令：把下面的句子翻译成英文。\n输入：今天天气很好。 Hello 🤖"
			if got, want := tok.Encode(text), orig.Encode(text); !slices.Equal(got, want) {
				t.Errorf("saved tokenizer encodes %q as %v, the model's own as %v", text, got, want)
			}
			checkSampleReproduces(t, dir, r.Samples[0])
		})
	}
}
