//go:build hftokenizers

package tokenizer

import (
	"slices"
	"testing"
)

// TestAgreeWithHF checks that Tokenizer and Hugging Face's Rust tokenizers (through cgo) give the
// same ids and decodings on the reference strings.
func TestAgreeWithHF(t *testing.T) {
	tok := loadQwen3(t)
	hf, err := Qwen3HF()
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	if tok.VocabSize() != hf.VocabSize() {
		t.Errorf("VocabSize: %d, Hugging Face %d", tok.VocabSize(), hf.VocabSize())
	}
	var texts []string
	for _, c := range append(readCases(t, "testdata/qwen3_tokenizer_ids.json"), readCases(t, "testdata/reference_ids.json.gz")...) {
		texts = append(texts, c.Text)
	}
	agreeWithHF(t, tok, hf, texts)
}

// TestAgreeWithHFSentencePiece does the same for Mistral's SentencePiece-style tokenizer.
func TestAgreeWithHFSentencePiece(t *testing.T) {
	tok := loadMistral(t)
	hf, err := LoadHF(mistralDir)
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	var texts []string
	for _, c := range readSPReference(t).Cases {
		texts = append(texts, c.Text)
	}
	agreeWithHF(t, tok, hf, texts)
}

// agreeWithHF checks that tok and hf encode every text alike and decode the ids alike.
func agreeWithHF(t *testing.T, tok *Tokenizer, hf *HF, texts []string) {
	t.Helper()
	mismatches := 0
	for i, text := range texts {
		got, want := tok.Encode(text), hf.Encode(text)
		if !slices.Equal(got, want) {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("case %d: Encode(%q)\n got %v\n  HF %v", i, text, got, want)
			}
			continue
		}
		if got, want := tok.Decode(got), hf.Decode(want); got != want {
			t.Errorf("case %d: Decode = %q, Hugging Face %q", i, got, want)
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d cases differ from Hugging Face", mismatches, len(texts))
	}
}
