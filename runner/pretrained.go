package runner

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/safetensors"
	"github.com/sftlab/sftlab/tokenizer"
	"github.com/sftlab/sftlab/train"
)

// Files of a Hugging Face model directory that the runner reads or copies.
const (
	hfConfigFile     = "config.json"
	hfTokenizerFile  = "tokenizer.json"
	hfTokenizerGz    = "tokenizer.json.gz" // sftlab's own tokenizer folders store it gzipped
	hfGenerationFile = "generation_config.json"
)

// tokenizerCompanions are the tokenizer files besides tokenizer.json that are copied next to a
// fine-tuned model when the tokenizer's directory has them; tokenizer_config.json is required.
var tokenizerCompanions = []string{"tokenizer_config.json", "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt"}

// pretrainedKind is a pretrained Hugging Face model (model.pretrained, a local directory of a
// Llama, Qwen2 or Qwen3 model) fine-tuned over the tokenizer's whole vocabulary, in full or,
// with model.lora.rank > 0, through LoRA adapters (lora.go). After training its run folder
// keeps model/, a Hugging Face model directory with the fine-tuned weights (in model.dtype), its
// config.json and the tokenizer files, or for a LoRA run adapter/ in PEFT's layout; samples are
// decoded with the key/value cache.
type pretrainedKind struct{}

// tokenizerDir is data.tokenizer when set; else the model directory itself when it holds
// tokenizer.json (as Hugging Face model repositories do); else "", the built-in Qwen3 tokenizer.
func (pretrainedKind) tokenizerDir(cfg configs.Config) string {
	if cfg.Data.Tokenizer == "" && hasTokenizer(cfg.Model.Pretrained) {
		return cfg.Model.Pretrained
	}
	return cfg.Data.Tokenizer
}

// hasTokenizer reports whether dir holds tokenizer.json (or sftlab's gzipped form of it).
func hasTokenizer(dir string) bool {
	for _, name := range []string{hfTokenizerFile, hfTokenizerGz} {
		if info, err := os.Stat(filepath.Join(dir, name)); err == nil && info.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// check reads the model directory's config.json, checks the headers of its weight files
// against it (decoder.CheckDir, so that a bad model.safetensors stops the sweep before any
// training starts), and checks that the tokenizer and the lengths fit the model.
func (pretrainedKind) check(d dataConfig, tok *tokenizer.Tokenizer) error {
	dir := d.pretrained
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return fmt.Errorf("model.pretrained: %q is not a directory: give a local Hugging Face model directory of a Llama, Qwen2 or Qwen3 model (config.json, *.safetensors, tokenizer.json), e.g. --set model.pretrained=/models/Qwen3-4B, downloaded with `huggingface-cli download Qwen/Qwen3-4B --local-dir /models/Qwen3-4B`", dir)
	}
	qc, err := decoder.CheckDir(dir)
	if err != nil {
		return fmt.Errorf("model.pretrained: %w", err)
	}
	var errs []error
	if tok.VocabSize() > qc.VocabSize {
		src := "the built-in Qwen3 tokenizer"
		if d.tokenizerDir != "" {
			src = d.tokenizerDir
		}
		errs = append(errs, fmt.Errorf("model.pretrained %s: config.json vocab_size %d is smaller than the %d tokens of the tokenizer (data.tokenizer %q, loaded from %s): use the model's own tokenizer (data.tokenizer: \"\" with tokenizer.json in the model directory, or the directory it came from)",
			dir, qc.VocabSize, tok.VocabSize(), d.tokenizer, src))
	}
	if d.maxLength > qc.MaxPositionEmbeddings {
		errs = append(errs, fmt.Errorf("data.max_length: %d exceeds max_position_embeddings %d of model.pretrained %s: lower data.max_length",
			d.maxLength, qc.MaxPositionEmbeddings, dir))
	}
	return errors.Join(errs...)
}

// savedDType is the dtype the fine-tuned weights are written in, from model.dtype.
//
// Qwen3 models always train in float32: bf16 or f16 weights on disk are converted to float32
// parameters when loaded, and AdamW's moments are float32 too (the pure-Go backend has no fast
// bf16 matmul). model.dtype therefore chooses only how the fine-tuned weights are stored:
// "bfloat16" halves the saved model's size, "float32" keeps every trained bit.
func savedDType(dtype string) (safetensors.DType, error) {
	switch dtype {
	case "float32":
		return safetensors.F32, nil
	case "bfloat16":
		return safetensors.BF16, nil
	}
	return "", fmt.Errorf("model.dtype: %q is not supported for pretrained models: want float32 or bfloat16", dtype)
}

// storeModel is a Qwen3 model that remembers the store Init filled (the trainer's), so that the
// cached generator reads the trained weights.
type storeModel struct {
	*decoder.Model
	store *mlmodel.Store
}

// Init fills store with the pretrained weights and remembers it.
func (s *storeModel) Init(store *mlmodel.Store, seed uint64) error {
	s.store = store
	return s.Model.Init(store, seed)
}

// numParams counts the parameters of model.pretrained from its config.json, and those a run
// trains: all of them, or with LoRA the adapters' (whose own parameters the total leaves out).
func (pretrainedKind) numParams(cfg configs.Config, _ *prepared) (total, trained int, err error) {
	c, err := decoder.LoadConfig(filepath.Join(cfg.Model.Pretrained, hfConfigFile))
	if err != nil {
		return 0, 0, fmt.Errorf("model.pretrained: %w", err)
	}
	if usesLoRA(cfg) {
		return c.NumParams(), c.NumLoRAParams(loraOf(cfg)), nil
	}
	return c.NumParams(), c.NumParams(), nil
}

// build loads the model of model.pretrained. Its vocabulary is the tokenizer's whole one
// (model.vocab and the size keys are not used); save writes model/ after training.
func (k pretrainedKind) build(cfg configs.Config, p *prepared, be compute.Backend) (*builtModel, error) {
	dir := cfg.Model.Pretrained
	dtype, err := savedDType(cfg.Model.DType)
	if err != nil {
		return nil, err
	}
	m, err := decoder.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model.pretrained: %w", err)
	}
	if err := addLoRA(cfg, m); err != nil {
		m.Close()
		return nil, err
	}
	sm := &storeModel{Model: m}
	tokDir := k.tokenizerDir(cfg)
	var gen *decoder.Generator
	return &builtModel{
		model: sm,
		close: m.Close,
		save: func(trainer *train.Trainer, out string) error {
			if usesLoRA(cfg) {
				return saveAdapter(cfg, m, trainer, p.dir) // runDir/adapter instead of out
			}
			if err := m.SaveAs(trainer.Store(), out, dtype); err != nil {
				return err
			}
			return copyModelFiles(tokDir, dir, out)
		},
		generate: func(prompt []int32, maxNewTokens int, stop int32) ([]int32, error) {
			if sm.store == nil {
				return nil, fmt.Errorf("model.pretrained %s: generate before the trainer initialised the model", dir)
			}
			if gen == nil {
				gen = decoder.NewGenerator(be, sm.store, m)
			}
			return gen.Generate(prompt, maxNewTokens, int(stop))
		},
	}, nil
}

// loadTrained loads the fine-tuned model that the run saved in runDir/model, with the
// tokenizer files there (or the run's configured tokenizer when there are none).
func (k pretrainedKind) loadTrained(runDir string, cfg configs.Config, be compute.Backend) (*Trained, error) {
	if usesLoRA(cfg) {
		return loadTrainedLoRA(runDir, cfg, be)
	}
	dir := filepath.Join(runDir, modelDir)
	if _, err := os.Stat(filepath.Join(dir, hfConfigFile)); err != nil {
		return nil, fmt.Errorf("no fine-tuned model in %s (the run saves it when training finishes; see run.json): %w", dir, err)
	}
	tokDir := k.tokenizerDir(cfg)
	if hasTokenizer(dir) {
		tokDir = dir
	}
	tok, err := newInputCache().tokenizer(tokDir)
	if err != nil {
		return nil, err
	}
	m, err := decoder.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	store := mlmodel.NewStore()
	err = m.Init(store, uint64(cfg.Train.Seed))
	if cerr := m.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return decoderTrained(cfg, tok, be, store, m), nil
}

// intact checks that the finished run in runDir holds its saved weights with whole headers:
// the adapter of a LoRA run, else the fine-tuned model directory.
func (pretrainedKind) intact(runDir string, cfg configs.Config) error {
	if usesLoRA(cfg) {
		f, err := safetensors.Open(filepath.Join(runDir, adapterDir, decoder.AdapterWeightsFile))
		if err != nil {
			return err
		}
		return f.Close()
	}
	set, err := safetensors.OpenDir(filepath.Join(runDir, modelDir))
	if err != nil {
		return err
	}
	return set.Close()
}

// decoderTrained is a Trained that decodes with the key/value cache of m's weights in store.
func decoderTrained(cfg configs.Config, tok *tokenizer.Tokenizer, be compute.Backend, store *mlmodel.Store, m *decoder.Model) *Trained {
	gen := decoder.NewGenerator(be, store, m)
	return &Trained{
		Config:    cfg,
		Tokenizer: tok,
		context:   m.Context(),
		generate: func(prompt []int32, maxNewTokens int, stop int32) ([]int32, error) {
			return gen.Generate(prompt, maxNewTokens, int(stop))
		},
	}
}

// copyModelFiles completes the fine-tuned model directory out: the tokenizer files of tokDir
// (tokenizer.json written uncompressed, so that Hugging Face tools read it) and the pretrained
// directory's generation_config.json. The built-in tokenizer (tokDir "") has no directory to
// copy from; the run's config.yaml then names it.
func copyModelFiles(tokDir, pretrained, out string) error {
	if tokDir != "" {
		data, err := os.ReadFile(filepath.Join(tokDir, hfTokenizerFile))
		if errors.Is(err, fs.ErrNotExist) {
			data, err = gunzipFile(filepath.Join(tokDir, hfTokenizerGz))
		}
		if err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
		if err := atomicfile.WriteFile(filepath.Join(out, hfTokenizerFile), data); err != nil {
			return fmt.Errorf("copy tokenizer: %w", err)
		}
		for _, name := range tokenizerCompanions {
			if err := copyIfExists(filepath.Join(tokDir, name), filepath.Join(out, name)); err != nil {
				return fmt.Errorf("copy tokenizer: %w", err)
			}
		}
	}
	if err := copyIfExists(filepath.Join(pretrained, hfGenerationFile), filepath.Join(out, hfGenerationFile)); err != nil {
		return fmt.Errorf("copy generation config: %w", err)
	}
	return nil
}

// copyIfExists copies the file src to dst atomically; a missing src is not an error.
func copyIfExists(src, dst string) error {
	data, err := os.ReadFile(src)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(dst, data)
}

// gunzipFile reads and decompresses the gzip file path.
func gunzipFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, zr); err != nil {
		return nil, fmt.Errorf("%s: %w (the file is damaged or truncated)", path, err)
	}
	return buf.Bytes(), nil
}
