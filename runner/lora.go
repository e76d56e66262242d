package runner

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/train"
)

// adapterDir is the folder of a LoRA run that holds its trained adapters, in PEFT's layout
// (adapter_config.json, adapter_model.safetensors); such a run has no model/ folder.
const adapterDir = "adapter"

// loraOf is the decoder's LoRA of the run's model.lora settings.
func loraOf(cfg configs.Config) decoder.LoRA {
	l := cfg.Model.LoRA
	return decoder.LoRA{Rank: l.Rank, Alpha: l.Alpha, Dropout: l.Dropout, Targets: l.Targets}
}

// usesLoRA reports whether the run trains LoRA adapters rather than every weight.
func usesLoRA(cfg configs.Config) bool { return cfg.Model.Pretrained != "" && cfg.Model.LoRA.Rank > 0 }

// addLoRA puts the run's fresh adapters on the pretrained model m (a no-op without LoRA).
func addLoRA(cfg configs.Config, m *decoder.Model) error {
	if !usesLoRA(cfg) {
		return nil
	}
	if err := m.AddLoRA(loraOf(cfg)); err != nil {
		return fmt.Errorf("model.lora: %w", err)
	}
	return nil
}

// saveAdapter writes the trained adapters of a LoRA run into runDir/adapter, naming the
// pretrained directory (as an absolute path, which PEFT can load) as their base.
func saveAdapter(cfg configs.Config, m *decoder.Model, trainer *train.Trainer, runDir string) error {
	base, err := filepath.Abs(cfg.Model.Pretrained)
	if err != nil {
		base = cfg.Model.Pretrained
	}
	return m.SaveAdapter(trainer.Store(), filepath.Join(runDir, adapterDir), base)
}

// loadBaseWithAdapter loads the pretrained model of a LoRA run with the adapters it trained
// (runDir/adapter) into a new store, and closes the weight files.
func loadBaseWithAdapter(runDir string, cfg configs.Config) (*decoder.Model, *mlmodel.Store, error) {
	dir := filepath.Join(runDir, adapterDir)
	if _, err := os.Stat(filepath.Join(dir, decoder.AdapterConfigFile)); err != nil {
		return nil, nil, fmt.Errorf("no trained adapter in %s (a LoRA run saves it when training finishes; see run.json): %w", dir, err)
	}
	m, err := decoder.LoadDir(cfg.Model.Pretrained)
	if err != nil {
		return nil, nil, fmt.Errorf("model.pretrained (the adapter's base): %w", err)
	}
	if _, err := m.LoadAdapter(dir); err != nil {
		m.Close()
		return nil, nil, err
	}
	store := mlmodel.NewStore()
	err = m.Init(store, uint64(cfg.Train.Seed))
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, nil, err
	}
	return m, store, nil
}

// loadTrainedLoRA loads a LoRA run for generation: its pretrained base (model.pretrained of its
// config.yaml) with the adapters of runDir/adapter, and the base's tokenizer.
func loadTrainedLoRA(runDir string, cfg configs.Config, be compute.Backend) (*Trained, error) {
	tok, err := LoadTokenizer(cfg)
	if err != nil {
		return nil, err
	}
	m, store, err := loadBaseWithAdapter(runDir, cfg)
	if err != nil {
		return nil, err
	}
	return decoderTrained(cfg, tok, be, store, m), nil
}

// Merge writes the model a LoRA run trained as a plain Hugging Face model directory outDir: the
// pretrained weights with the adapters folded in (W + (alpha/r)·B·A, as PEFT's
// merge_and_unload), in model.dtype, with config.json, the tokenizer files and
// generation_config.json, so that tools that know nothing of adapters load it.
func Merge(runDir, outDir string) (err error) {
	cfg, err := runConfig(runDir)
	if err != nil {
		return err
	}
	if !usesLoRA(cfg) {
		if cfg.Model.Pretrained != "" {
			return fmt.Errorf("run %s fine-tuned every weight (model.lora.rank is 0): its %s folder is already a plain model directory", runDir, filepath.Join(runDir, modelDir))
		}
		return fmt.Errorf("run %s trained a model from scratch, without adapters: there is nothing to merge", runDir)
	}
	dtype, err := savedDType(cfg.Model.DType)
	if err != nil {
		return err
	}
	// catch keeps the closure's error: TryCatch's own result (nil without a panic) would
	// overwrite it, and a failed merge would report success.
	err = catch(func() error {
		m, store, err := loadBaseWithAdapter(runDir, cfg)
		if err != nil {
			return err
		}
		if err := m.SaveMerged(store, outDir, dtype); err != nil {
			return err
		}
		return copyModelFiles(TokenizerDir(cfg), cfg.Model.Pretrained, outDir)
	})
	if err != nil {
		return fmt.Errorf("merge run %s: %w", runDir, err)
	}
	return nil
}

// runConfig reads the one resolved config of the run folder runDir.
func runConfig(runDir string) (configs.Config, error) {
	exp, err := configs.Load(filepath.Join(runDir, "config.yaml"), nil)
	if err != nil {
		return configs.Config{}, fmt.Errorf("run %s: %w", runDir, err)
	}
	if len(exp.Runs) != 1 {
		return configs.Config{}, fmt.Errorf("run %s: config.yaml expands to %d runs, want the one resolved run", runDir, len(exp.Runs))
	}
	return exp.Runs[0].Config, nil
}
