package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/tokenizer"
)

// committed is the model directory this tool wrote into the repository.
var committed = filepath.Join("..", "..", "experiments", "models", "qwen3-tiny-zh")

// TestReducedTokenizer rebuilds the reduced tokenizer and compares it with the committed files
// byte for byte, then checks that it splits the built-in data as Qwen3's tokenizer does and
// still encodes text outside it.
func TestReducedTokenizer(t *testing.T) {
	qwen3Dir := filepath.Join("..", "..", "tokenizer", "qwen3")
	full, err := tokenizer.Load(qwen3Dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := datasets.Load(dataset)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := renderAll(full, recs)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if err := writeReducedTokenizer(qwen3Dir, out, full, texts); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"tokenizer.json", "tokenizer_config.json"} {
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the committed one: rebuild the model with sftlab-tinybase", name)
		}
	}
	reduced, err := tokenizer.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := sameTokens(full, reduced, texts); err != nil {
		t.Fatal(err)
	}
	if reduced.TokenText(reduced.EOS()) != "<|im_end|>" || reduced.TokenText(reduced.Pad()) != "<|endoftext|>" {
		t.Errorf("eos %q, pad %q", reduced.TokenText(reduced.EOS()), reduced.TokenText(reduced.Pad()))
	}
	for _, text := range []string{"Hello, world! ✓", "完全不在数据里的句子：量子纠缠。"} {
		if got := reduced.Decode(reduced.Encode(text)); got != text {
			t.Errorf("round trip of %q gives %q", text, got)
		}
	}
}
