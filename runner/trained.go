package runner

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/tokenizer"
)

// Trained is the model that a run trained, loaded back from the run's folder to continue
// prompts. It is not safe for concurrent use.
type Trained struct {
	// Config is the run's resolved configuration, read from its config.yaml.
	Config configs.Config
	// Tokenizer is the tokenizer the run was trained with.
	Tokenizer *tokenizer.Tokenizer

	context  int                 // longest sequence the model accepts
	vocab    *model.CompactVocab // non-nil when the model's ids are a compact vocabulary
	generate generateFunc
}

// LoadTrained loads the model trained into the run folder runDir (output.dir/NAME/RUN_ID) on
// the backend named backendName ("" = the run's own backend.name and backend.plugin). A
// pretrained run is loaded from the Hugging Face directory runDir/model that it saved, with the
// tokenizer files there (or the run's configured tokenizer when there are none); a GPT trained
// from scratch is rebuilt from config.yaml (and vocab.json for a compact vocabulary) and gets
// the weights of the latest checkpoint in runDir/checkpoints.
func LoadTrained(runDir, backendName string) (*Trained, error) {
	exp, err := configs.Load(filepath.Join(runDir, metrics.ConfigFile), nil)
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runDir, err)
	}
	if len(exp.Runs) != 1 {
		return nil, fmt.Errorf("run %s: config.yaml expands to %d runs, want the one resolved run", runDir, len(exp.Runs))
	}
	cfg := exp.Runs[0].Config
	bc := backend.Config{Name: cfg.Backend.Name, Plugin: cfg.Backend.Plugin}
	if backendName != "" && backendName != bc.Name {
		bc = backend.Config{Name: backendName}
	}
	be, err := backend.New(bc)
	if err != nil {
		return nil, fmt.Errorf("backend: %w", err)
	}
	var trained *Trained
	err = catch(func() (err error) {
		trained, err = kindOf(cfg).loadTrained(runDir, cfg, be)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", runDir, err)
	}
	return trained, nil
}

// Context is the longest sequence (prompt and new tokens) the model accepts.
func (t *Trained) Context() int { return t.context }

// Generate continues prompt, token ids of the tokenizer's full vocabulary, greedily with up to
// maxNewTokens tokens, stopping when the model emits the tokenizer's EOS (not returned) or the
// context is full. It returns the new ids in the full vocabulary.
func (t *Trained) Generate(prompt []int32, maxNewTokens int) (out []int32, err error) {
	if len(prompt) == 0 {
		return nil, errors.New("generate: empty prompt")
	}
	if len(prompt) >= t.context {
		return nil, fmt.Errorf("generate: the prompt's %d tokens leave no room in the model's context of %d", len(prompt), t.context)
	}
	if maxNewTokens <= 0 {
		return nil, fmt.Errorf("generate: max new tokens must be > 0, got %d", maxNewTokens)
	}
	stop := []int32{int32(t.Tokenizer.EOS())}
	if t.vocab != nil {
		for i, id := range prompt {
			if _, err := t.vocab.ToDense([]int32{id}); err != nil {
				return nil, fmt.Errorf("generate: prompt token %d %q (id %d) is not in the run's compact vocabulary, the %d tokens of its data (model.vocab: compact): use text made of the data's tokens, or train with model.vocab: full",
					i, t.Tokenizer.TokenText(int(id)), id, t.vocab.Size())
			}
		}
		if prompt, err = t.vocab.ToDense(prompt); err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		if stop, err = t.vocab.ToDense(stop); err != nil {
			return nil, fmt.Errorf("generate: end token: %w", err)
		}
	}
	err = catch(func() (err error) {
		out, err = t.generate(prompt, min(maxNewTokens, t.context-len(prompt)), stop[0])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if t.vocab != nil {
		return t.vocab.ToFull(out)
	}
	return out, nil
}
