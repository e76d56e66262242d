//go:build !hftokenizers

package tokenizer

import "testing"

// TestAgreeWithHF needs Hugging Face's Rust tokenizers through cgo.
func TestAgreeWithHF(t *testing.T) {
	t.Skip("built without -tags hftokenizers (needs libtokenizers.a from github.com/daulet/tokenizers releases)")
}

// TestAgreeWithHFSentencePiece needs Hugging Face's Rust tokenizers through cgo.
func TestAgreeWithHFSentencePiece(t *testing.T) {
	t.Skip("built without -tags hftokenizers (needs libtokenizers.a from github.com/daulet/tokenizers releases)")
}
