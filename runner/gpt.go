package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/tokenizer"
	"github.com/sftlab/sftlab/train"
)

// gptKind is the GPT of model/ trained from scratch, over the tokenizer's whole vocabulary or
// a compact vocabulary of the data (model.vocab). Its run folder keeps the trainer's checkpoints
// and, for a compact vocabulary, vocab.json.
type gptKind struct{}

// tokenizerDir is data.tokenizer ("" = the built-in Qwen3 tokenizer).
func (gptKind) tokenizerDir(cfg configs.Config) string { return cfg.Data.Tokenizer }

// check has nothing to add: configs already refuses a context shorter than data.max_length.
func (gptKind) check(dataConfig, *tokenizer.Tokenizer) error { return nil }

// numParams counts the parameters of the GPT that build builds, all of them trained.
func (gptKind) numParams(cfg configs.Config, p *prepared) (total, trained int, err error) {
	size, _ := gptVocab(cfg, p)
	n, _ := gptConfig(cfg, size).NumParams()
	return n, n, nil
}

// gptVocab is the vocabulary a run's GPT is built over: the compact vocabulary of the dataset
// and tokenizer (p.vocab, see sharedVocab) when model.vocab is compact, else the tokenizer's
// whole one (nil), with its size.
func gptVocab(cfg configs.Config, p *prepared) (int, *model.CompactVocab) {
	if cfg.Model.Vocab == "compact" {
		return p.vocab.Size(), p.vocab
	}
	return p.tok.VocabSize(), nil
}

// build builds the GPT of cfg.Model over its vocabulary (see gptVocab).
func (gptKind) build(cfg configs.Config, p *prepared, _ compute.Backend) (*builtModel, error) {
	size, vocab := gptVocab(cfg, p)
	m, err := model.NewGPT(gptConfig(cfg, size))
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return &builtModel{model: m, vocab: vocab}, nil
}

// loadTrained rebuilds the GPT of a finished run from its config (and vocab.json for a compact
// vocabulary) and loads its latest checkpoint.
func (k gptKind) loadTrained(runDir string, cfg configs.Config, be compute.Backend) (*Trained, error) {
	tok, err := LoadTokenizer(cfg)
	if err != nil {
		return nil, err
	}
	size := tok.VocabSize()
	vocab, err := readVocab(runDir, cfg)
	if err != nil {
		return nil, err
	}
	if vocab != nil {
		if vocab.FullSize() != size {
			return nil, fmt.Errorf("%s: maps ids of a %d-token vocabulary, but the run's tokenizer has %d tokens", filepath.Join(runDir, vocabFile), vocab.FullSize(), size)
		}
		size = vocab.Size()
	}
	// The same dimensions as build gives the run's model; a checkpoint of another shape is
	// refused by LoadCheckpoint, naming the variable.
	m, err := model.NewGPT(gptConfig(cfg, size))
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	ckpt := filepath.Join(runDir, checkpointsDir)
	trainer, err := train.New(be, m, trainConfig(cfg, ckpt))
	if err != nil {
		return nil, err
	}
	step, err := trainer.LoadLatestCheckpoint()
	if err != nil {
		return nil, err
	}
	if step == 0 {
		return nil, fmt.Errorf("no checkpoint in %s: the run has not finished a step (see run.json)", ckpt)
	}
	return &Trained{Config: cfg, Tokenizer: tok, context: m.Context(), vocab: vocab, generate: trainer.Generate}, nil
}

// readVocab reads the compact vocabulary of the run in runDir (vocab.json): nil when the run has
// none and needs none (model.vocab is not compact).
func readVocab(runDir string, cfg configs.Config) (*model.CompactVocab, error) {
	path := filepath.Join(runDir, vocabFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && cfg.Model.Vocab != "compact" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("model.vocab is %q but the vocabulary cannot be read: %w", cfg.Model.Vocab, err)
	}
	vocab := new(model.CompactVocab)
	if err := json.Unmarshal(data, vocab); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vocab, nil
}

// intact checks that the finished run in runDir holds a readable vocabulary (with a compact
// one) and a whole checkpoint of its last step.
func (gptKind) intact(runDir string, cfg configs.Config) error {
	if _, err := readVocab(runDir, cfg); err != nil {
		return err
	}
	step, err := train.LatestCheckpointStep(filepath.Join(runDir, checkpointsDir))
	if err != nil {
		return err
	}
	if step != cfg.Train.MaxSteps {
		return fmt.Errorf("its latest checkpoint is of step %d, not the last (%d)", step, cfg.Train.MaxSteps)
	}
	return nil
}

// gptConfig is the GPT of cfg.Model over a vocabulary of vocabSize ids.
func gptConfig(cfg configs.Config, vocabSize int) model.Config {
	return model.Config{
		Vocab:   vocabSize,
		DModel:  cfg.Model.DModel,
		Heads:   cfg.Model.NHeads,
		Layers:  cfg.Model.NLayers,
		MLP:     cfg.Model.DMLP,
		Context: cfg.Model.Context,
		Tied:    cfg.Model.TieEmbeddings,
	}
}
