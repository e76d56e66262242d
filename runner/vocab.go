package runner

import (
	"context"
	"fmt"
	"math"

	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/tokenizer"
)

// sharedVocab returns the compact vocabulary of a dataset and a tokenizer: every token id that
// encoding any record of recs in any format produces, plus the tokenizer's special ids, its eos
// and its pad id. It depends on nothing else (not on the run's format, masking, split, seed or
// on the other runs of the sweep), so every run on the same data and tokenizer gets the same
// vocabulary, and two runs that differ only in their format start from the same weights at the
// same seed: a paired comparison is paired. A record that a format cannot render adds nothing for
// that format (a run in that format fails while it is prepared, with the reason). The vocabulary
// is built once per dataset and tokenizer, keyed by their content hashes. It stops with ctx's
// error when ctx is done.
func (c *inputCache) sharedVocab(ctx context.Context, tok *tokenizer.Tokenizer, recs []datasets.Record, datasetHash string) (*model.CompactVocab, error) {
	key := datasetHash + "/" + tok.Hash()
	if v, ok := c.vocabs[key]; ok {
		return v, nil
	}
	var seqs [][]int32
	for _, format := range datasets.Formats() {
		opts := datasets.EncodeOptions{Format: format, Masking: datasets.MaskEOSSafe, MaxLength: math.MaxInt32}
		for _, r := range recs {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("model.vocab: stopped building the compact vocabulary: %w", err)
			}
			if ex, err := datasets.Encode(tok, r, opts); err == nil {
				seqs = append(seqs, ex.IDs)
			}
		}
	}
	special := append(tok.SpecialIDs(), tok.EOS(), datasets.PadID(tok, datasets.MaskEOSSafe))
	v, err := model.NewCompactVocab(tok.VocabSize(), special, seqs...)
	if err != nil {
		return nil, fmt.Errorf("model.vocab: %w", err)
	}
	c.vocabs[key] = v
	return v, nil
}

// notePadFallback logs, once per tokenizer, that a tokenizer without a pad_token pads with its
// eos token (see datasets.PadID), as transformers users set tokenizer.pad_token =
// tokenizer.eos_token. Padding positions are never scored, so this changes no loss.
func (r *Runner) notePadFallback(tok *tokenizer.Tokenizer, dir string) {
	if tok.Pad() >= 0 || r.cache.noted[tok.Hash()] {
		return
	}
	r.cache.noted[tok.Hash()] = true
	if dir == "" {
		dir = "the built-in tokenizer"
	}
	r.opts.Logger.Info("tokenizer has no pad_token: padding with its eos token, as tokenizer.pad_token = tokenizer.eos_token does in transformers",
		"tokenizer", dir, "eos", tok.TokenText(tok.EOS()))
}
