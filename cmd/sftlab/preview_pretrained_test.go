package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/tokenizer"
)

// TestPreviewUsesPretrainedTokenizer previews data for a pretrained model directory that brings
// its own tokenizer (testdata/tinytok, 261 ids): the ids shown must be that tokenizer's, as a
// run of the same config trains on, not the built-in Qwen3 tokenizer's.
func TestPreviewUsesPretrainedTokenizer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "model")
	cfg := decoder.Config{
		ModelType: "qwen3", VocabSize: 512, HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1,
		NumAttentionHeads: 2, NumKeyValueHeads: 1, HeadDim: 8, RMSNormEps: 1e-6, RopeTheta: 1e6,
		MaxPositionEmbeddings: 512, TieWordEmbeddings: true, TorchDtype: "float32",
	}
	if err := decoder.WriteRandom(dir, cfg, 1); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "tinytok", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join("testdata", "preview", "alpaca.jsonl")
	code, out, errOut := runPreview(t, "--data", data, "-n", "1", "--json", "--set", "model.pretrained="+dir,
		"--set", "data.format=sft", "--set", "data.max_length=512")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var ex struct {
		Text string `json:"text"`
		IDs  []int  `json:"ids"`
	}
	if err := json.NewDecoder(strings.NewReader(out)).Decode(&ex); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	own, err := tokenizer.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	qwen, err := tokenizer.Qwen3()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Max(ex.IDs) >= own.VocabSize() {
		t.Errorf("ids up to %d: not the model's %d-id tokenizer", slices.Max(ex.IDs), own.VocabSize())
	}
	if want := own.Encode(strings.TrimSuffix(ex.Text, "<|end|>")); !slices.Equal(ex.IDs[:len(want)], want) {
		t.Errorf("ids %v, want the model tokenizer's %v", ex.IDs, want)
	}
	if q := qwen.Encode(ex.Text); slices.Equal(q, ex.IDs) {
		t.Errorf("ids %v are the built-in Qwen3 tokenizer's", ex.IDs)
	}
}
