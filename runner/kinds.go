package runner

import (
	"github.com/gomlx/compute"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/tokenizer"
	"github.com/sftlab/sftlab/train"
)

// modelKind is one kind of model a run can train: it decides which tokenizer the run uses, what
// the model must be checked against before training, how it is built, what is kept after
// training and how a finished run is loaded back. Adding a kind means one file implementing it
// and one line in kindOf.
type modelKind interface {
	// tokenizerDir is the directory of the run's tokenizer, "" for the built-in Qwen3 one.
	tokenizerDir(cfg configs.Config) string
	// check reports every setting of the data configuration d that the model cannot honour
	// with the tokenizer tok. It runs once per data configuration while the sweep is prepared,
	// so that such problems stop the sweep before any run trains; it reads only d, so a setting
	// it needs belongs in dataConfig.
	check(d dataConfig, tok *tokenizer.Tokenizer) error
	// numParams is the number of parameters of the run's model and of those it trains (with
	// LoRA, the adapters'), known before anything is built: they pick the backend's schedule
	// (scheduleOf) and the collector's target (backend.LimitHeapGrowth).
	numParams(cfg configs.Config, p *prepared) (total, trained int, err error)
	// build builds the run's model on be; check has passed.
	build(cfg configs.Config, p *prepared, be compute.Backend) (*builtModel, error)
	// loadTrained loads what a run of this kind left in its folder runDir, with its tokenizer.
	loadTrained(runDir string, cfg configs.Config, be compute.Backend) (*Trained, error)
	// intact checks, without loading the weights, that a finished run in runDir holds what
	// loadTrained needs, whole: a finished run found damaged trains again.
	intact(runDir string, cfg configs.Config) error
}

// kindOf returns the model kind of a run.
func kindOf(cfg configs.Config) modelKind {
	if cfg.Model.Pretrained != "" {
		return pretrainedKind{}
	}
	return gptKind{}
}

// TokenizerDir is the directory of the tokenizer a run with cfg uses ("" = the built-in Qwen3
// tokenizer): data.tokenizer when set, else what the model kind brings (a pretrained model's
// own tokenizer.json). Everything that tokenizes for a run (training, preview) asks here.
func TokenizerDir(cfg configs.Config) string {
	return kindOf(cfg).tokenizerDir(cfg)
}

// LoadTokenizer loads the tokenizer a run with cfg uses (see [TokenizerDir]).
func LoadTokenizer(cfg configs.Config) (*tokenizer.Tokenizer, error) {
	return newInputCache().tokenizer(TokenizerDir(cfg))
}

// scheduleOf is the cpu backend's schedule for a run that trains trained parameters:
// backend.schedule, with "auto" decided by that number (backend.AutoSchedule): gradients and
// AdamW's moments are what the sequential schedule keeps from piling up, so a LoRA run of a
// large model, which trains a few million, stays on the faster parallel one.
func scheduleOf(cfg configs.Config, trained int) backend.Schedule {
	switch cfg.Backend.Schedule {
	case "parallel":
		return backend.SchedulePar
	case "sequential":
		return backend.ScheduleSeq
	}
	return backend.AutoSchedule(trained)
}

// generateFunc continues a prompt greedily: the new tokens, without the stop token.
type generateFunc func(prompt []int32, maxNewTokens int, stop int32) ([]int32, error)

// builtModel is a run's model with what the runner needs around it.
type builtModel struct {
	model train.Model
	vocab *model.CompactVocab // non-nil when ids are mapped onto a compact vocabulary
	// close releases what the model holds (memory-mapped weights); nil when nothing.
	close func() error
	// save writes what the run keeps after training into dir; nil when the run keeps only its
	// checkpoints.
	save func(trainer *train.Trainer, dir string) error
	// generate replaces the trainer's full-recompute generation; nil uses the trainer's.
	generate generateFunc
}
