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
	cases := append(readCases(t, "testdata/qwen3_tokenizer_ids.json"), readCases(t, "testdata/reference_ids.json.gz")...)
	mismatches := 0
	for i, c := range cases {
		got, want := tok.Encode(c.Text), hf.Encode(c.Text)
		if !slices.Equal(got, want) {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("case %d: Encode(%q)\n got %v\n  HF %v", i, c.Text, got, want)
			}
			continue
		}
		if got, want := tok.Decode(got), hf.Decode(want); got != want {
			t.Errorf("case %d: Decode = %q, Hugging Face %q", i, got, want)
		}
	}
	if mismatches > 0 {
		t.Errorf("%d of %d cases differ from Hugging Face", mismatches, len(cases))
	}
}

// TestAgreeWithHFSentencePiece does the same for Mistral's SentencePiece-style tokenizer.
func TestAgreeWithHFSentencePiece(t *testing.T) {
	tok := loadMistral(t)
	hf, err := LoadHF(mistralDir)
	if err != nil {
		t.Fatal(err)
	}
	defer hf.Close()
	mismatches := 0
	for i, c := range readSPReference(t).Cases {
		got, want := tok.Encode(c.Text), hf.Encode(c.Text)
		if !slices.Equal(got, want) {
			mismatches++
			if mismatches <= 5 {
				t.Errorf("case %d: Encode(%q)\n got %v\n  HF %v", i, c.Text, got, want)
			}
			continue
		}
		if got, want := tok.Decode(got), hf.Decode(want); got != want {
			t.Errorf("case %d: Decode = %q, Hugging Face %q", i, got, want)
		}
	}
	if mismatches > 0 {
		t.Errorf("cases differ from Hugging Face: %d", mismatches)
	}
}
