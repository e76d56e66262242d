package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/tokenizer"
)

// inputCache holds what the runs of a sweep share: tokenizers by directory, datasets by spec,
// compact vocabularies by content, and prepared data by data configuration.
type inputCache struct {
	tokenizers map[string]*tokenizer.Tokenizer
	datasets   map[string][]datasets.Record
	vocabs     map[string]*model.CompactVocab // by dataset and tokenizer hash, see sharedVocab
	data       map[dataConfig]*preparedData
	noted      map[string]bool // tokenizer hashes whose missing pad token was logged
}

func newInputCache() *inputCache {
	return &inputCache{
		tokenizers: map[string]*tokenizer.Tokenizer{},
		datasets:   map[string][]datasets.Record{},
		vocabs:     map[string]*model.CompactVocab{},
		data:       map[dataConfig]*preparedData{},
		noted:      map[string]bool{},
	}
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

// dataConfig is every setting that a run's prepared data depends on: all that prepareData and
// the model kind's check read, and nothing else. Runs with equal dataConfigs share one
// preparedData, so a sweep over seeds or learning rates loads, checks and encodes its data once
// however many runs it has. dataConfigOf is the one place that takes these settings from a
// run's config.
type dataConfig struct {
	kind         modelKind // from model.pretrained (kindOf)
	pretrained   string    // model.pretrained, which the kind's check reads
	tokenizer    string    // data.tokenizer as written, for messages
	tokenizerDir string    // the tokenizer the run uses (TokenizerDir)
	// compactVocab is true for a GPT trained from scratch over the compact vocabulary of its
	// data (model.vocab: compact), built while the data is prepared.
	compactVocab bool

	dataset       string
	format        string
	masking       string
	maxLength     int
	truncate      bool
	validFraction float64
	splitSeed     int
	evalOn        string
}

// dataConfigOf returns the data configuration of a run's config.
func dataConfigOf(cfg configs.Config) dataConfig {
	kind := kindOf(cfg)
	return dataConfig{
		kind:          kind,
		pretrained:    cfg.Model.Pretrained,
		tokenizer:     cfg.Data.Tokenizer,
		tokenizerDir:  kind.tokenizerDir(cfg),
		compactVocab:  cfg.Model.Pretrained == "" && cfg.Model.Vocab == "compact",
		dataset:       cfg.Data.Dataset,
		format:        cfg.Data.Format,
		masking:       cfg.Data.Masking,
		maxLength:     cfg.Data.MaxLength,
		truncate:      cfg.Data.Truncate,
		validFraction: cfg.Data.ValidFraction,
		splitSeed:     cfg.Data.SplitSeed,
		evalOn:        cfg.Data.EvalOn,
	}
}

// preparedData is the data of one data configuration, loaded, checked against the model kind,
// split and encoded: what its runs train and are evaluated on. It is built once, shared by
// every run with that configuration and never modified.
type preparedData struct {
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

// prepared is a run with the prepared data of its data configuration. It holds nothing of its
// own but the run and its folder, and is made just before the run trains.
type prepared struct {
	run configs.Run
	dir string
	*preparedData
}

// prepare returns the prepared run: its folder (not created) and its configuration's data,
// prepared now unless the cache has it.
func (r *Runner) prepare(ctx context.Context, exp *configs.Experiment, run configs.Run) (*prepared, error) {
	data, err := r.data(ctx, dataConfigOf(run.Config))
	if err != nil {
		return nil, err
	}
	return &prepared{run: run, dir: RunDir(exp, run), preparedData: data}, nil
}

// data returns the prepared data of d, preparing it once.
func (r *Runner) data(ctx context.Context, d dataConfig) (*preparedData, error) {
	if pd, ok := r.cache.data[d]; ok {
		return pd, nil
	}
	pd, err := r.prepareData(ctx, d)
	if err != nil {
		return nil, err
	}
	r.cache.data[d] = pd
	return pd, nil
}

// prepareData loads the tokenizer and the dataset of d, runs the model kind's check, splits and
// encodes the records and, for a compact vocabulary, builds it. It reads nothing but d, and
// stops with ctx's error when ctx is done.
func (r *Runner) prepareData(ctx context.Context, d dataConfig) (*preparedData, error) {
	tok, err := r.cache.tokenizer(d.tokenizerDir)
	if err != nil {
		return nil, err
	}
	if err := d.kind.check(d, tok); err != nil {
		return nil, err
	}
	pd := &preparedData{tok: tok}
	r.notePadFallback(tok, d.tokenizerDir)
	recs, err := r.cache.dataset(d.dataset)
	if err != nil {
		return nil, err
	}
	pd.datasetHash = datasets.Hash(recs)
	trainRecs, validRecs := datasets.Split(recs, d.validFraction, uint64(d.splitSeed))
	if len(trainRecs) == 0 {
		return nil, fmt.Errorf("data.valid_fraction: %g leaves no training example of the %d in %s: lower it", d.validFraction, len(recs), d.dataset)
	}
	if d.evalOn == "valid" && len(validRecs) == 0 {
		return nil, fmt.Errorf("data.valid_fraction: %g holds out no example of the %d in %s: raise it, or set data.eval_on: train", d.validFraction, len(recs), d.dataset)
	}
	pd.trainRecs, pd.validRecs = trainRecs, validRecs
	if pd.train, err = encode(ctx, tok, trainRecs, d); err != nil {
		return nil, err
	}
	if pd.valid, err = encode(ctx, tok, validRecs, d); err != nil {
		return nil, err
	}
	pd.stats = datasets.Summarize(append(append([]datasets.Example(nil), pd.train...), pd.valid...))
	evaluated := pd.valid
	if d.evalOn == "train" {
		evaluated = pd.train
	}
	pd.scored = datasets.CountScored(pd.train, evaluated)
	if d.compactVocab {
		if pd.vocab, err = r.cache.sharedVocab(ctx, tok, recs, pd.datasetHash); err != nil {
			return nil, err
		}
	}
	return pd, nil
}

// encode encodes recs as d says and applies the truncation policy: an example longer than
// max_length is an error unless data.truncate is set, so that no example silently loses its end
// (and its EOS).
func encode(ctx context.Context, tok *tokenizer.Tokenizer, recs []datasets.Record, d dataConfig) ([]datasets.Example, error) {
	opts := datasets.EncodeOptions{Format: d.format, Masking: d.masking, MaxLength: d.maxLength}
	exs, st, err := datasets.EncodeAllContext(ctx, tok, recs, opts)
	if err != nil {
		return nil, fmt.Errorf("data.dataset %s: %w", d.dataset, err)
	}
	if st.Truncated > 0 && !d.truncate {
		var long []string
		for i, ex := range exs {
			if ex.Truncated && len(long) < 3 {
				long = append(long, fmt.Sprintf("example %q… has %d tokens", preview(recs[i]), ex.FullLen))
			}
		}
		return nil, fmt.Errorf("data.max_length: %d examples of %s are longer than %d tokens (%s): raise data.max_length to at least %d, or set data.truncate: true to cut them",
			st.Truncated, d.dataset, d.maxLength, strings.Join(long, "; "), st.MaxLen)
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
