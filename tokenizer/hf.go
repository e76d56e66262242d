//go:build hftokenizers

package tokenizer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/daulet/tokenizers"
)

// HF is an Encoder backed by Hugging Face's Rust tokenizers through cgo
// (github.com/daulet/tokenizers). It exists to cross-check Tokenizer and is built only with
// -tags hftokenizers, which needs libtokenizers.a from that project's releases on the linker path
// (for example CGO_LDFLAGS=-L/path/to/lib).
type HF struct {
	tk *tokenizers.Tokenizer
}

var _ Encoder = (*HF)(nil)

// LoadHF loads tokenizer.json (or tokenizer.json.gz) from dir into Hugging Face's tokenizers.
func LoadHF(dir string) (*HF, error) {
	fsys := os.DirFS(dir)
	path := filepath.Join(dir, tokenizerFile)
	data, err := fs.ReadFile(fsys, tokenizerFile)
	if errors.Is(err, fs.ErrNotExist) {
		path = filepath.Join(dir, tokenizerGzFile)
		data, err = readGzip(fsys, tokenizerGzFile)
	}
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: %w", path, err)
	}
	return newHF(data, path)
}

// Qwen3HF loads the embedded Qwen3 tokenizer.json into Hugging Face's tokenizers.
func Qwen3HF() (*HF, error) {
	data, err := readGzip(qwen3Files, "qwen3/"+tokenizerGzFile)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: embedded Qwen3 files: %w", err)
	}
	return newHF(data, "qwen3 (embedded)")
}

func newHF(data []byte, name string) (*HF, error) {
	tk, err := tokenizers.FromBytes(data)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %s: Hugging Face tokenizers: %w", name, err)
	}
	return &HF{tk: tk}, nil
}

// Encode returns the ids of text as encode(text, add_special_tokens=True).
func (h *HF) Encode(text string) []int {
	ids, _ := h.tk.Encode(text, true)
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

// Decode returns the text of ids, special tokens included.
func (h *HF) Decode(ids []int) string {
	u := make([]uint32, len(ids))
	for i, id := range ids {
		u[i] = uint32(id)
	}
	return h.tk.Decode(u, false)
}

// VocabSize returns the vocabulary size, added tokens included.
func (h *HF) VocabSize() int { return int(h.tk.VocabSize()) }

// Close frees the Rust tokenizer.
func (h *HF) Close() error { return h.tk.Close() }
