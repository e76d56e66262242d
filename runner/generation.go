package runner

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"time"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/scores"
	"github.com/sftlab/sftlab/tokenizer"
	"github.com/sftlab/sftlab/train"
)

// batchGenerateFunc continues several prompts greedily at once: the new tokens of each,
// without the stop token.
type batchGenerateFunc func(prompts [][]int32, maxNewTokens int, stop int32) ([][]int32, error)

// scorer completes a run's first eval.samples held-out prompts greedily and scores the
// completions against the references (package scores): after training, and every
// eval.generate_every steps during it. Each time is a row of generation.arrow.
type scorer struct {
	cfg      configs.Config
	split    string    // whose prompts: valid, or train when nothing is held out
	prompts  [][]int32 // in the model's vocabulary
	texts    []string  // the prompts as text, for samples.jsonl
	refs     []string  // the references
	stop     int32     // EOS in the model's vocabulary
	vocab    *model.CompactVocab
	decode   func([]int) string
	generate batchGenerateFunc
	rows     []metrics.Generation // one per scoring, in step order
}

// newScorer prepares the prompts of p (the held-out ones, or the training ones when nothing is
// held out) for a model over vocab (nil: the tokenizer's ids). GPT runs generate with the
// trainer's batched generation, in batches of eval.batch_size; a pretrained run with its own
// generate (the key/value-cached one), one prompt at a time.
func newScorer(cfg configs.Config, p *prepared, vocab *model.CompactVocab, trainer *train.Trainer, own generateFunc) (*scorer, error) {
	s := &scorer{cfg: cfg, split: metrics.SplitValid, vocab: vocab, decode: p.tok.Decode}
	exs, recs := p.valid, p.validRecs
	if len(exs) == 0 {
		s.split, exs, recs = metrics.SplitTrain, p.train, p.trainRecs
	}
	n := min(cfg.Eval.Samples, len(exs))
	stop := []int32{int32(p.tok.EOS())}
	if vocab != nil {
		var err error
		if stop, err = vocab.ToDense(stop); err != nil {
			return nil, fmt.Errorf("sample completions: end token: %w", err)
		}
	}
	s.stop = stop[0]
	for i := range n {
		prompt := exs[i].IDs[:exs[i].PromptLen]
		s.texts = append(s.texts, promptText(p.tok, prompt))
		if vocab != nil {
			var err error
			if prompt, err = vocab.ToDense(prompt); err != nil {
				return nil, fmt.Errorf("sample completions: prompt %d: %w", i, err)
			}
		}
		s.prompts = append(s.prompts, prompt)
		s.refs = append(s.refs, reference(recs, i))
	}
	if own != nil {
		s.generate = func(prompts [][]int32, maxNew int, stop int32) ([][]int32, error) {
			out := make([][]int32, len(prompts))
			for i, pr := range prompts {
				var err error
				if out[i], err = own(pr, maxNew, stop); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
	} else {
		bs := cfg.Eval.BatchSize
		s.generate = func(prompts [][]int32, maxNew int, stop int32) ([][]int32, error) {
			var out [][]int32
			for i := 0; i < len(prompts); i += bs {
				gen, err := trainer.GenerateBatch(prompts[i:min(i+bs, len(prompts))], maxNew, stop)
				if err != nil {
					return nil, err
				}
				out = append(out, gen...)
			}
			return out, nil
		}
	}
	return s, nil
}

// promptText is the text of prompt as `sftlab generate --format raw --prompt` takes it, so that
// encoding it gives prompt again: the ids the tokenizer's post-processor puts first (a BOS such
// as <s> or <|begin_of_text|>) are left out, since encoding adds them back. Decoded with them, a
// Llama 2-style prompt reads "<s> 问题…" (the piece after <s> starts with ▁), which re-encodes
// to a second BOS and a different first piece.
func promptText(tok *tokenizer.Tokenizer, prompt []int32) string {
	ids := tokenizer.IDs(prompt)
	if prefix, _ := tok.Affixes(); len(prefix) > 0 && len(ids) >= len(prefix) && slices.Equal(ids[:len(prefix)], prefix) {
		ids = ids[len(prefix):]
	}
	return tok.Decode(ids)
}

// reference is the expected answer of record i: its output, or the last assistant message of
// a chat record.
func reference(recs []datasets.Record, i int) string {
	if i >= len(recs) {
		return ""
	}
	r := recs[i]
	if r.Output == "" {
		for j := len(r.Messages) - 1; j >= 0; j-- {
			if r.Messages[j].Role == "assistant" {
				return r.Messages[j].Content
			}
		}
	}
	return r.Output
}

// due reports whether the prompts are scored during training after step (the end of training
// is scored separately, by final).
func (s *scorer) due(step int) bool {
	every := s.cfg.Eval.GenerateEvery
	return len(s.prompts) > 0 && every > 0 && step%every == 0 && step < s.cfg.Train.MaxSteps
}

// score completes and scores the prompts at step, adds the row and returns the samples.
func (s *scorer) score(step int) ([]metrics.Sample, error) {
	start := time.Now()
	// Called from the recipe's train and save stages, which turn GoMLX panics into errors.
	gens, err := s.generate(s.prompts, s.cfg.Eval.MaxNewTokens, s.stop)
	if err != nil {
		return nil, fmt.Errorf("sample completions at step %d: %w", step, err)
	}
	seconds := time.Since(start).Seconds()
	samples := make([]metrics.Sample, len(gens))
	completions := make([]string, len(gens))
	var newTokens int64
	for i, gen := range gens {
		newTokens += int64(len(gen))
		if s.vocab != nil {
			if gen, err = s.vocab.ToFull(gen); err != nil {
				return nil, fmt.Errorf("sample completions at step %d: %w", step, err)
			}
		}
		completions[i] = s.decode(tokenizer.IDs(gen))
		samples[i] = metrics.Sample{Prompt: s.texts[i], Completion: completions[i], Reference: s.refs[i], Format: s.cfg.Data.Format,
			Scores: &metrics.SampleScores{
				ExactMatch: scores.ExactMatch(completions[i], s.refs[i]),
				RougeL:     scores.RougeL(completions[i], s.refs[i]).F1,
				ChrF:       scores.ChrF(completions[i], s.refs[i]),
			}}
	}
	t := scores.Score(completions, s.refs)
	s.rows = append(s.rows, metrics.Generation{Step: int64(step), Split: s.split, Prompts: int64(t.N),
		ExactMatch: t.ExactMatch, RougeL: t.RougeL, ChrF: t.ChrF, NewTokens: newTokens, Seconds: seconds})
	return samples, nil
}

// final scores the prompts after training (step is the last one) and writes samples.jsonl.
func (s *scorer) final(dir string, step int) error {
	if len(s.prompts) == 0 {
		return nil
	}
	samples, err := s.score(step)
	if err != nil {
		return err
	}
	return metrics.WriteSamples(filepath.Join(dir, metrics.SamplesFile), samples)
}

// write writes generation.arrow when any scoring happened.
func (s *scorer) write(dir string) error {
	if s == nil || len(s.rows) == 0 {
		return nil
	}
	return metrics.WriteGenerations(filepath.Join(dir, metrics.GenerationsFile), s.rows)
}

// resume keeps the rows of an interrupted run scored during training up to step, read from its
// generation.arrow; the row of the end of training, which final adds, is not kept (a run killed
// after writing it resumes at its last step and scores it again). A missing file holds no rows;
// an unreadable one is an error.
func (s *scorer) resume(dir string, step int64) error {
	s.rows = nil
	all, err := metrics.ReadGenerations(filepath.Join(dir, metrics.GenerationsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, g := range all {
		if g.Step <= step && g.Step < int64(s.cfg.Train.MaxSteps) {
			s.rows = append(s.rows, g)
		}
	}
	return nil
}

// paddingShare is the padding share of the run's training batches with and without packing
// (train.BatchFill); the error says why they could not be laid out.
func paddingShare(trainSet []train.Example, tcfg train.Config, context int) (*metrics.PaddingShare, error) {
	fill, err := train.BatchFill(trainSet, tcfg, context)
	if err != nil {
		return nil, err
	}
	unpacked, packed := fill.PaddingShare()
	return &metrics.PaddingShare{Unpacked: unpacked, Packed: packed}, nil
}
