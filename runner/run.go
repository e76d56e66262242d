package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/train"
)

// Files a run folder holds besides the metrics package's.
const (
	vocabFile      = "vocab.json"  // the compact vocabulary: dense id → tokenizer id
	checkpointsDir = "checkpoints" // the trainer's checkpoints
	modelDir       = "model"       // a fine-tuned pretrained model, in Hugging Face's layout
)

// runOne trains one prepared run into its folder and returns what happened. It never returns
// early without recording the run's status in run.json.
func (r *Runner) runOne(ctx context.Context, exp *configs.Experiment, p *prepared, index, total int) Outcome {
	out := Outcome{Run: p.run, Dir: p.dir}
	log := r.opts.Logger.With("run", p.run.Name, "id", p.run.ID)
	infoPath := filepath.Join(p.dir, metrics.RunInfoFile)
	previous, prevErr := metrics.ReadRunInfo(infoPath)
	if prevErr == nil && previous.Status == metrics.StatusOK {
		if r.opts.Reuse == nil || r.opts.Reuse(previous) {
			log.Info("finished run found, skipped", "eval_loss", previous.Summary.EvalLoss)
			out.Info, out.Skipped = previous, true
			return out
		}
		log.Info("finished run found but produced by other code: training it again", "commit", previous.Provenance.GitCommit)
		if err := os.RemoveAll(p.dir); err != nil {
			out.Err = fmt.Errorf("remove stale run %s: %w", p.dir, err)
			out.Info = metrics.RunInfo{Name: p.run.Name, ID: p.run.ID, Experiment: exp.Name, Status: metrics.StatusFailed, Error: out.Err.Error(), Summary: metrics.EmptySummary()}
			return out
		}
	}

	cfg := p.run.Config
	info := metrics.RunInfo{
		Name:       p.run.Name,
		ID:         p.run.ID,
		Experiment: exp.Name,
		Status:     metrics.StatusRunning,
		Params:     params(p.run),
		Summary:    metrics.EmptySummary(),
		Data: metrics.DataStats{
			TrainExamples: len(p.train),
			ValidExamples: len(p.valid),
			Truncated:     p.stats.Truncated,
			MaxTokens:     p.stats.MaxLen,
			TrainedTokens: p.stats.TrainedTokens,
			MaskedTokens:  p.stats.MaskedTokens,
		},
		Provenance: metrics.Provenance{
			GitCommit:     r.opts.Code.Commit,
			GitDirty:      r.opts.Code.Dirty,
			GoVersion:     goVersion(),
			GoMLXVersion:  moduleVersion("github.com/gomlx/gomlx"),
			Backend:       cfg.Backend.Name,
			Host:          hostname(),
			DatasetHash:   p.datasetHash,
			TokenizerHash: p.tok.Hash(),
			StartTime:     now(),
		},
	}
	var steps []metrics.Step
	var evals []metrics.Eval
	var earlierWallS float64 // wall time of the attempts a resumed run continues
	finish := func(err error) Outcome {
		info.Provenance.EndTime = now()
		info.Provenance.WallS = earlierWallS + info.Provenance.EndTime.Sub(info.Provenance.StartTime).Seconds()
		info.Summary = summarize(steps, evals, cfg.Data.EvalOn)
		switch {
		case err == nil:
			info.Status = metrics.StatusOK
		case errors.Is(err, train.ErrDiverged):
			info.Status, info.Error = metrics.StatusDiverged, err.Error()
		case errors.Is(err, context.Canceled):
			info.Status, info.Error = metrics.StatusInterrupted, err.Error()
		default:
			info.Status, info.Error = metrics.StatusFailed, err.Error()
		}
		if werr := r.writeMetrics(p.dir, steps, evals); werr != nil && err == nil {
			info.Status, info.Error, err = metrics.StatusFailed, werr.Error(), werr
		}
		if werr := metrics.WriteRunInfo(infoPath, info); werr != nil && err == nil {
			err = werr
		}
		out.Info, out.Err = info, err
		switch info.Status {
		case metrics.StatusOK:
			log.Info("run finished", "train_loss", info.Summary.FinalTrainLoss, "eval_loss", info.Summary.EvalLoss, "wall_s", round(info.Provenance.WallS))
		default:
			log.Error("run "+string(info.Status), "err", err)
		}
		return out
	}

	if p.stats.Truncated > 0 {
		log.Warn("examples truncated at data.max_length", "truncated", p.stats.Truncated, "of", p.stats.N, "max_length", cfg.Data.MaxLength, "longest", p.stats.MaxLen)
	}
	cfgYAML, err := cfg.YAML()
	if err == nil {
		err = atomicfile.WriteFile(filepath.Join(p.dir, metrics.ConfigFile), cfgYAML)
	}
	if err == nil {
		err = metrics.WriteRunInfo(infoPath, info)
	}
	if err != nil {
		return finish(err)
	}

	be, err := backend.New(backend.Config{Name: cfg.Backend.Name, Plugin: cfg.Backend.Plugin})
	if err != nil {
		return finish(fmt.Errorf("backend: %w", err))
	}
	info.Provenance.Device = backend.Describe(be)

	built, err := buildModel(cfg, p, be)
	if err != nil {
		return finish(err)
	}
	if built.close != nil {
		defer built.close()
	}
	m, vocab := built.model, built.vocab
	if vocab != nil {
		data, err := json.Marshal(vocab)
		if err == nil {
			err = atomicfile.WriteFile(filepath.Join(p.dir, vocabFile), data)
		}
		if err != nil {
			return finish(fmt.Errorf("write vocabulary: %w", err))
		}
	}
	trainSet, err := toTrainExamples(p.train, vocab)
	if err != nil {
		return finish(err)
	}
	validSet, err := toTrainExamples(p.valid, vocab)
	if err != nil {
		return finish(err)
	}
	evalSets := map[string][]train.Example{metrics.SplitTrain: trainSet}
	if len(validSet) > 0 {
		evalSets[metrics.SplitValid] = validSet
	}

	tcfg := trainConfig(cfg, filepath.Join(p.dir, checkpointsDir))
	var trainer *train.Trainer
	err = catch(func() (err error) {
		trainer, err = train.New(be, m, tcfg)
		return err
	})
	if err != nil {
		return finish(err)
	}
	resumed, err := trainer.LoadLatestCheckpoint()
	if err != nil {
		return finish(fmt.Errorf("resume: %w", err))
	}
	if resumed > 0 {
		if prevErr == nil {
			earlierWallS = previous.Provenance.WallS
		}
		// Keep the metrics rows up to the checkpoint; the steps after it are trained again.
		steps, evals = readUpTo(p.dir, int64(resumed))
		log.Info("resuming from checkpoint", "step", resumed)
	}

	bar := r.newBar(p.run.Name, index, total, cfg.Train.MaxSteps, resumed)
	hooks := train.Hooks{
		OnStep: func(s train.StepMetrics) error {
			steps = append(steps, metrics.Step{
				Step: int64(s.Step), Epoch: s.Epoch, TrainLoss: s.TrainLoss, LR: s.LR, GradNorm: s.GradNorm,
				Tokens: s.Tokens, TokensPerS: s.TokensPerS, ElapsedS: s.ElapsedS,
			})
			bar.step(s)
			if r.opts.AfterStep != nil {
				r.opts.AfterStep(p.run, s.Step)
			}
			if cfg.Train.CheckpointEvery > 0 && s.Step%cfg.Train.CheckpointEvery == 0 {
				// The checkpoint of this step is written right after; keep metrics in step with it.
				return r.writeMetrics(p.dir, steps, evals)
			}
			return nil
		},
		OnEval: func(e train.EvalMetrics) error {
			evals = append(evals, metrics.Eval{Step: int64(e.Step), Split: e.Split, Loss: e.Loss, TokenAccuracy: e.TokenAccuracy, Tokens: e.Tokens})
			return nil
		},
	}
	err = catch(func() error {
		_, err := trainer.Run(ctx, trainSet, evalSets, hooks)
		return err
	})
	bar.finish()
	if err != nil {
		return finish(err)
	}
	if built.save != nil {
		if err := built.save(trainer, filepath.Join(p.dir, modelDir)); err != nil {
			return finish(fmt.Errorf("save fine-tuned model: %w", err))
		}
		// model/ now holds the trained weights; the final checkpoint (weights plus AdamW state,
		// three times their size) is only needed to resume an unfinished run.
		if err := os.RemoveAll(filepath.Join(p.dir, checkpointsDir)); err != nil {
			return finish(fmt.Errorf("remove checkpoints after saving the model: %w", err))
		}
	}
	if cfg.Eval.Samples > 0 {
		gen := built.generate
		if gen == nil {
			gen = trainer.Generate
		}
		samples, err := generateSamples(gen, p, vocab, cfg)
		if err != nil {
			return finish(fmt.Errorf("sample completions: %w", err))
		}
		if err := metrics.WriteSamples(filepath.Join(p.dir, metrics.SamplesFile), samples); err != nil {
			return finish(err)
		}
	}
	return finish(nil)
}

// catch runs f and returns its error, or the panic GoMLX raised while building or running a
// graph, as an error.
func catch(f func() error) error {
	var err error
	if perr := exceptions.TryCatch[error](func() { err = f() }); perr != nil {
		return perr
	}
	return err
}

// writeMetrics writes metrics.arrow and eval.arrow.
func (r *Runner) writeMetrics(dir string, steps []metrics.Step, evals []metrics.Eval) error {
	if err := metrics.WriteSteps(filepath.Join(dir, metrics.StepsFile), steps); err != nil {
		return err
	}
	return metrics.WriteEvals(filepath.Join(dir, metrics.EvalsFile), evals)
}

// readUpTo reads the metrics rows of an interrupted run up to step.
func readUpTo(dir string, step int64) ([]metrics.Step, []metrics.Eval) {
	var steps []metrics.Step
	var evals []metrics.Eval
	if all, err := metrics.ReadSteps(filepath.Join(dir, metrics.StepsFile)); err == nil {
		for _, s := range all {
			if s.Step <= step {
				steps = append(steps, s)
			}
		}
	}
	if all, err := metrics.ReadEvals(filepath.Join(dir, metrics.EvalsFile)); err == nil {
		for _, e := range all {
			if e.Step <= step {
				evals = append(evals, e)
			}
		}
	}
	return steps, evals
}

// params converts the run's swept parameters for run.json.
func params(run configs.Run) []metrics.Param {
	out := make([]metrics.Param, len(run.Params))
	for i, p := range run.Params {
		out[i] = metrics.Param{Key: p.Key, Value: p.Value}
	}
	return out
}

// trainConfig maps the experiment's settings onto the trainer's.
func trainConfig(cfg configs.Config, checkpointDir string) train.Config {
	return train.Config{
		MaxSteps:        cfg.Train.MaxSteps,
		LR:              cfg.Train.LearningRate,
		WarmupSteps:     cfg.Train.WarmupSteps,
		WeightDecay:     cfg.Train.WeightDecay,
		MaxGradNorm:     cfg.Train.MaxGradNorm,
		BatchSize:       cfg.Train.BatchSize,
		GradAccum:       cfg.Train.GradAccum,
		EvalBatchSize:   cfg.Eval.BatchSize,
		Seed:            uint64(cfg.Train.Seed),
		Padding:         cfg.Data.Padding,
		MaxLength:       cfg.Data.MaxLength,
		EvalEvery:       cfg.Eval.Every,
		CheckpointEvery: cfg.Train.CheckpointEvery,
		CheckpointDir:   checkpointDir,

		DivergenceFactor: cfg.Train.DivergenceFactor,
	}
}

// generateFunc continues a prompt greedily: the new tokens, without the stop token.
type generateFunc func(prompt []int32, maxNewTokens int, stop int32) ([]int32, error)

// builtModel is a run's model with what the runner needs around it.
type builtModel struct {
	model train.Model
	vocab *model.CompactVocab // non-nil when ids are mapped onto a compact vocabulary
	// close releases what the model holds (memory-mapped weights); nil when nothing.
	close func() error
	// save writes the trained weights to dir after training; nil when the run keeps only
	// its checkpoints.
	save func(trainer *train.Trainer, dir string) error
	// generate replaces the trainer's full-recompute generation; nil uses the trainer's.
	generate generateFunc
}

// buildModel builds the run's model: a pretrained one when model.pretrained is set, else the
// GPT of cfg.Model, over a compact vocabulary of the run's data when model.vocab is compact.
func buildModel(cfg configs.Config, p *prepared, be compute.Backend) (*builtModel, error) {
	if cfg.Model.Pretrained != "" {
		return buildPretrained(cfg, p, be)
	}
	m, vocab, err := buildGPT(cfg, p)
	if err != nil {
		return nil, err
	}
	return &builtModel{model: m, vocab: vocab}, nil
}

// buildGPT builds the GPT of cfg.Model, over a compact vocabulary of the run's data when
// model.vocab is compact (vocab is then non-nil).
func buildGPT(cfg configs.Config, p *prepared) (train.Model, *model.CompactVocab, error) {
	size := p.tok.VocabSize()
	var vocab *model.CompactVocab
	if cfg.Model.Vocab == "compact" {
		seqs := make([][]int32, 0, len(p.train)+len(p.valid))
		for _, ex := range p.train {
			seqs = append(seqs, ex.IDs)
		}
		for _, ex := range p.valid {
			seqs = append(seqs, ex.IDs)
		}
		special := append(p.tok.SpecialIDs(), p.tok.EOS(), datasets.PadID(p.tok, cfg.Data.Masking))
		var err error
		if vocab, err = model.NewCompactVocab(size, special, seqs...); err != nil {
			return nil, nil, fmt.Errorf("model.vocab: %w", err)
		}
		size = vocab.Size()
	}
	mc := gptConfig(cfg, size)
	if mc.Context < cfg.Data.MaxLength {
		return nil, nil, fmt.Errorf("model.context: %d is shorter than data.max_length %d: raise model.context or lower data.max_length", mc.Context, cfg.Data.MaxLength)
	}
	m, err := model.NewGPT(mc)
	if err != nil {
		return nil, nil, fmt.Errorf("model: %w", err)
	}
	return m, vocab, nil
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

// toTrainExamples maps encoded examples onto the model's vocabulary.
func toTrainExamples(exs []datasets.Example, vocab *model.CompactVocab) ([]train.Example, error) {
	out := make([]train.Example, len(exs))
	for i, ex := range exs {
		ids, labels := ex.IDs, ex.Labels
		if vocab != nil {
			var err error
			if ids, err = vocab.ToDense(ids); err != nil {
				return nil, fmt.Errorf("example %d: %w", i, err)
			}
			if labels, err = vocab.ToDense(labels); err != nil {
				return nil, fmt.Errorf("example %d: %w", i, err)
			}
		}
		out[i] = train.Example{IDs: ids, Labels: labels}
	}
	return out, nil
}

// generateSamples completes the first held-out prompts greedily with the trained model.
func generateSamples(generate generateFunc, p *prepared, vocab *model.CompactVocab, cfg configs.Config) ([]metrics.Sample, error) {
	exs, recs := p.valid, p.validRecs
	if len(exs) == 0 {
		exs = p.train // eval_on: train with nothing held out
	}
	n := min(cfg.Eval.Samples, len(exs))
	stop := int32(p.tok.EOS())
	if vocab != nil {
		dense, err := vocab.ToDense([]int32{stop})
		if err != nil {
			return nil, err
		}
		stop = dense[0]
	}
	samples := make([]metrics.Sample, 0, n)
	for i := range n {
		ex := exs[i]
		prompt := ex.IDs[:ex.PromptLen]
		if vocab != nil {
			var err error
			if prompt, err = vocab.ToDense(prompt); err != nil {
				return nil, err
			}
		}
		var gen []int32
		err := catch(func() (err error) {
			gen, err = generate(prompt, cfg.Eval.MaxNewTokens, stop)
			return err
		})
		if err != nil {
			return nil, err
		}
		if vocab != nil {
			if gen, err = vocab.ToFull(gen); err != nil {
				return nil, err
			}
		}
		ref := ""
		if i < len(recs) && len(p.valid) > 0 {
			ref = recs[i].Output
		}
		samples = append(samples, metrics.Sample{
			Prompt:     p.tok.Decode(ints(ex.IDs[:ex.PromptLen])),
			Completion: p.tok.Decode(ints(gen)),
			Reference:  ref,
			Format:     cfg.Data.Format,
		})
	}
	return samples, nil
}

func ints(ids []int32) []int {
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	return out
}

func round(x float64) float64 { return math.Round(x*10) / 10 }

// summarize derives the run's headline numbers; eval_loss and token accuracy come from the
// split named by data.eval_on ("valid", or "train" as the classroom script did).
func summarize(steps []metrics.Step, evals []metrics.Eval, evalOn string) metrics.Summary {
	s := metrics.Summarize(steps, evals)
	if evalOn == metrics.SplitTrain {
		if e, ok := metrics.LastEval(evals, metrics.SplitTrain); ok {
			s.EvalLoss, s.TokenAccuracy = e.Loss, e.TokenAccuracy
		}
	}
	return s
}
