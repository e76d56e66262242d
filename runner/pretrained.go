package runner

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/model/qwen3"
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

// tokenizerDir is the directory of a run's tokenizer: data.tokenizer when set; otherwise, for a
// pretrained run, the model directory itself when it holds tokenizer.json (as Hugging Face model
// repositories do); otherwise "", the built-in Qwen3 tokenizer.
func tokenizerDir(cfg configs.Config) string {
	if cfg.Data.Tokenizer != "" || cfg.Model.Pretrained == "" {
		return cfg.Data.Tokenizer
	}
	if hasTokenizer(cfg.Model.Pretrained) {
		return cfg.Model.Pretrained
	}
	return ""
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

// modelTokenizer checks the model settings of a run that no model can honour or that the
// pretrained directory contradicts, then loads the run's tokenizer (see tokenizerDir). It runs
// while the sweep is prepared, so these problems stop the sweep before any training starts.
func (r *Runner) modelTokenizer(cfg configs.Config) (*tokenizer.Tokenizer, error) {
	var errs []error
	var qc qwen3.Config
	if dir := cfg.Model.Pretrained; dir != "" {
		var err error
		if qc, err = pretrainedConfig(dir); err != nil {
			return nil, errors.Join(append(errs, err)...)
		}
	}
	tok, err := r.cache.tokenizer(tokenizerDir(cfg))
	if err != nil {
		return nil, errors.Join(append(errs, err)...)
	}
	if cfg.Model.Pretrained != "" {
		if err := checkPretrained(cfg, qc, tok); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return tok, nil
}

// pretrainedConfig checks that dir is a model directory, reads its config.json and checks the
// headers of its weight files against it (qwen3.CheckDir), so that a bad model.safetensors
// stops the sweep before any training starts.
func pretrainedConfig(dir string) (qwen3.Config, error) {
	info, err := os.Stat(dir)
	if err != nil || !info.IsDir() {
		return qwen3.Config{}, fmt.Errorf("model.pretrained: %q is not a directory: give a local Hugging Face Qwen3 model directory (config.json, *.safetensors, tokenizer.json), e.g. --set model.pretrained=/models/Qwen3-4B, downloaded with `huggingface-cli download Qwen/Qwen3-4B --local-dir /models/Qwen3-4B`", dir)
	}
	qc, err := qwen3.CheckDir(dir)
	if err != nil {
		return qwen3.Config{}, fmt.Errorf("model.pretrained: %w", err)
	}
	return qc, nil
}

// checkPretrained checks that the run's tokenizer and lengths fit the pretrained model.
func checkPretrained(cfg configs.Config, qc qwen3.Config, tok *tokenizer.Tokenizer) error {
	var errs []error
	if tok.VocabSize() > qc.VocabSize {
		src := "the built-in Qwen3 tokenizer"
		if dir := tokenizerDir(cfg); dir != "" {
			src = dir
		}
		errs = append(errs, fmt.Errorf("model.pretrained %s: config.json vocab_size %d is smaller than the %d tokens of the tokenizer (data.tokenizer %q, loaded from %s): use the model's own tokenizer (data.tokenizer: \"\" with tokenizer.json in the model directory, or the directory it came from)",
			cfg.Model.Pretrained, qc.VocabSize, tok.VocabSize(), cfg.Data.Tokenizer, src))
	}
	if cfg.Data.MaxLength > qc.MaxPositionEmbeddings {
		errs = append(errs, fmt.Errorf("data.max_length: %d exceeds max_position_embeddings %d of model.pretrained %s: lower data.max_length",
			cfg.Data.MaxLength, qc.MaxPositionEmbeddings, cfg.Model.Pretrained))
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
	*qwen3.Model
	store *mlmodel.Store
}

// Init fills store with the pretrained weights and remembers it.
func (s *storeModel) Init(store *mlmodel.Store, seed uint64) error {
	s.store = store
	return s.Model.Init(store, seed)
}

// buildPretrained loads the Qwen3 model of model.pretrained. Its vocabulary is the tokenizer's
// whole one (model.vocab and the size keys are not used); after training, save writes the
// fine-tuned weights (in model.dtype) with config.json and the tokenizer files into the run's
// model/ folder, a Hugging Face model directory; samples are decoded with the key/value cache.
func buildPretrained(cfg configs.Config, p *prepared, be compute.Backend) (*builtModel, error) {
	dir := cfg.Model.Pretrained
	dtype, err := savedDType(cfg.Model.DType)
	if err != nil {
		return nil, err
	}
	m, err := qwen3.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("model.pretrained: %w", err)
	}
	if err := checkPretrained(cfg, m.Config(), p.tok); err != nil {
		m.Close()
		return nil, err
	}
	sm := &storeModel{Model: m}
	tokDir := tokenizerDir(cfg)
	var gen *qwen3.Generator
	return &builtModel{
		model: sm,
		close: m.Close,
		save: func(trainer *train.Trainer, out string) error {
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
				gen = qwen3.NewGenerator(be, sm.store, m)
			}
			return gen.Generate(prompt, maxNewTokens, int(stop))
		},
	}, nil
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
func LoadTrained(runDir, backendName string) (trained *Trained, err error) {
	exp, err := configs.Load(filepath.Join(runDir, "config.yaml"), nil)
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
	// The loaders' own error is kept apart from TryCatch's result (a panic), which would
	// otherwise overwrite it with nil and return no model and no error.
	var loadErr error
	if perr := exceptions.TryCatch[error](func() {
		if cfg.Model.Pretrained != "" {
			trained, loadErr = loadTrainedQwen3(runDir, cfg, be)
		} else {
			trained, loadErr = loadTrainedGPT(runDir, cfg, be)
		}
	}); perr != nil {
		loadErr = perr
	}
	if err = loadErr; err != nil {
		return nil, fmt.Errorf("run %s: %w", runDir, err)
	}
	return trained, nil
}

// loadTrainedQwen3 loads the fine-tuned model that a pretrained run saved in runDir/model.
func loadTrainedQwen3(runDir string, cfg configs.Config, be compute.Backend) (*Trained, error) {
	dir := filepath.Join(runDir, modelDir)
	if _, err := os.Stat(filepath.Join(dir, hfConfigFile)); err != nil {
		return nil, fmt.Errorf("no fine-tuned model in %s (the run saves it when training finishes; see run.json): %w", dir, err)
	}
	tokDir := tokenizerDir(cfg)
	if hasTokenizer(dir) {
		tokDir = dir
	}
	tok, err := newInputCache().tokenizer(tokDir)
	if err != nil {
		return nil, err
	}
	m, err := qwen3.LoadDir(dir)
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
	gen := qwen3.NewGenerator(be, store, m)
	return &Trained{
		Config:    cfg,
		Tokenizer: tok,
		context:   m.Context(),
		generate: func(prompt []int32, maxNewTokens int, stop int32) ([]int32, error) {
			return gen.Generate(prompt, maxNewTokens, int(stop))
		},
	}, nil
}

// loadTrainedGPT rebuilds the GPT of a run trained from scratch and loads its latest checkpoint.
func loadTrainedGPT(runDir string, cfg configs.Config, be compute.Backend) (*Trained, error) {
	tok, err := newInputCache().tokenizer(tokenizerDir(cfg))
	if err != nil {
		return nil, err
	}
	size := tok.VocabSize()
	var vocab *model.CompactVocab
	vocabPath := filepath.Join(runDir, vocabFile)
	data, err := os.ReadFile(vocabPath)
	switch {
	case err == nil:
		vocab = new(model.CompactVocab)
		if err := json.Unmarshal(data, vocab); err != nil {
			return nil, fmt.Errorf("%s: %w", vocabPath, err)
		}
		if vocab.FullSize() != size {
			return nil, fmt.Errorf("%s: maps ids of a %d-token vocabulary, but the run's tokenizer has %d tokens", vocabPath, vocab.FullSize(), size)
		}
		size = vocab.Size()
	case errors.Is(err, fs.ErrNotExist) && cfg.Model.Vocab != "compact":
	default:
		return nil, fmt.Errorf("model.vocab is %q but the vocabulary cannot be read: %w", cfg.Model.Vocab, err)
	}
	// The same dimensions as buildGPT gives the run's model; a checkpoint of another shape is
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
	var genErr error
	if perr := exceptions.TryCatch[error](func() {
		out, genErr = t.generate(prompt, min(maxNewTokens, t.context-len(prompt)), stop[0])
	}); perr != nil {
		genErr = perr
	}
	if err = genErr; err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	if t.vocab != nil {
		return t.vocab.ToFull(out)
	}
	return out, nil
}
