package runner

import (
	"fmt"
	"strings"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/tokenizer"
)

// inputCache holds what the runs of a sweep share: tokenizers by directory and datasets by spec.
type inputCache struct {
	tokenizers map[string]*tokenizer.Tokenizer
	datasets   map[string][]datasets.Record
	vocabs     map[string]*model.CompactVocab // by dataset and tokenizer hash, see sharedVocab
	noted      map[string]bool                // tokenizer hashes whose missing pad token was logged
}

func newInputCache() *inputCache {
	return &inputCache{tokenizers: map[string]*tokenizer.Tokenizer{}, datasets: map[string][]datasets.Record{}, vocabs: map[string]*model.CompactVocab{}, noted: map[string]bool{}}
}

// tokenizer loads the tokenizer in dir ("" = the built-in Qwen3 one) once.
func (c *inputCache) tokenizer(dir string) (*tokenizer.Tokenizer, error) {
	if tok, ok := c.tokenizers[dir]; ok {
		return tok, nil
	}
	tok, err := tokenizer.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("data.tokenizer: %w", err)
	}
	c.tokenizers[dir] = tok
	return tok, nil
}

// dataset loads the records of spec once.
func (c *inputCache) dataset(spec string) ([]datasets.Record, error) {
	if recs, ok := c.datasets[spec]; ok {
		return recs, nil
	}
	recs, err := datasets.Load(spec)
	if err != nil {
		return nil, fmt.Errorf("data.dataset: %w", err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("data.dataset: %s holds no examples: add at least one record", spec)
	}
	c.datasets[spec] = recs
	return recs, nil
}

// prepared is a run with its inputs loaded and encoded.
type prepared struct {
	run         configs.Run
	dir         string
	tok         *tokenizer.Tokenizer
	train       []datasets.Example
	valid       []datasets.Example
	trainRecs   []datasets.Record
	validRecs   []datasets.Record
	stats       datasets.Stats // of train and valid together
	datasetHash string
	// vocab is the compact vocabulary of the dataset and tokenizer (see sharedVocab); nil
	// unless a GPT is trained from scratch with model.vocab: compact.
	vocab *model.CompactVocab
	// scored describes the label positions of the split eval_loss is measured on.
	scored datasets.Scored
}

// prepare loads and encodes a run's data and checks that its outputs can be written.
func (r *Runner) prepare(exp *configs.Experiment, run configs.Run) (*prepared, error) {
	cfg := run.Config
	p := &prepared{run: run, dir: RunDir(exp, run)}
	if err := checkWritable(p.dir); err != nil {
		return nil, err
	}
	kind := kindOf(cfg)
	tok, err := r.cache.tokenizer(kind.tokenizerDir(cfg))
	if err != nil {
		return nil, err
	}
	if err := kind.check(cfg, tok); err != nil {
		return nil, err
	}
	p.tok = tok
	r.notePadFallback(tok, kind.tokenizerDir(cfg))
	recs, err := r.cache.dataset(cfg.Data.Dataset)
	if err != nil {
		return nil, err
	}
	p.datasetHash = datasets.Hash(recs)
	trainRecs, validRecs := datasets.Split(recs, cfg.Data.ValidFraction, uint64(cfg.Data.SplitSeed))
	if len(trainRecs) == 0 {
		return nil, fmt.Errorf("data.valid_fraction: %g leaves no training example of the %d in %s: lower it", cfg.Data.ValidFraction, len(recs), cfg.Data.Dataset)
	}
	if cfg.Data.EvalOn == "valid" && len(validRecs) == 0 {
		return nil, fmt.Errorf("data.valid_fraction: %g holds out no example of the %d in %s: raise it, or set data.eval_on: train", cfg.Data.ValidFraction, len(recs), cfg.Data.Dataset)
	}
	p.trainRecs, p.validRecs = trainRecs, validRecs
	opts := datasets.EncodeOptions{Format: cfg.Data.Format, Masking: cfg.Data.Masking, MaxLength: cfg.Data.MaxLength}
	if p.train, err = encode(tok, trainRecs, opts, cfg); err != nil {
		return nil, err
	}
	if p.valid, err = encode(tok, validRecs, opts, cfg); err != nil {
		return nil, err
	}
	p.stats = datasets.Summarize(append(append([]datasets.Example(nil), p.train...), p.valid...))
	evaluated := p.valid
	if cfg.Data.EvalOn == "train" {
		evaluated = p.train
	}
	p.scored = datasets.CountScored(p.train, evaluated)
	if cfg.Model.Pretrained == "" && cfg.Model.Vocab == "compact" {
		if p.vocab, err = r.cache.sharedVocab(tok, recs, p.datasetHash); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// encode encodes recs and applies the truncation policy: an example longer than max_length is
// an error unless data.truncate is set, so that no example silently loses its end (and its EOS).
func encode(tok *tokenizer.Tokenizer, recs []datasets.Record, opts datasets.EncodeOptions, cfg configs.Config) ([]datasets.Example, error) {
	exs, st, err := datasets.EncodeAll(tok, recs, opts)
	if err != nil {
		return nil, fmt.Errorf("data.dataset %s: %w", cfg.Data.Dataset, err)
	}
	if st.Truncated > 0 && !cfg.Data.Truncate {
		var long []string
		for i, ex := range exs {
			if ex.Truncated && len(long) < 3 {
				long = append(long, fmt.Sprintf("example %q… has %d tokens", preview(recs[i]), ex.FullLen))
			}
		}
		return nil, fmt.Errorf("data.max_length: %d examples of %s are longer than %d tokens (%s): raise data.max_length to at least %d, or set data.truncate: true to cut them",
			st.Truncated, cfg.Data.Dataset, cfg.Data.MaxLength, strings.Join(long, "; "), st.MaxLen)
	}
	return exs, nil
}

// preview is the start of a record, to name it in errors.
func preview(r datasets.Record) string {
	s := r.Input
	if s == "" {
		s = r.Instruction
	}
	if s == "" && len(r.Messages) > 0 {
		s = r.Messages[0].Content
	}
	runes := []rune(s)
	if len(runes) > 20 {
		runes = runes[:20]
	}
	return string(runes)
}
