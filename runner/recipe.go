package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/train"
)

// Files a run folder holds besides the metrics package's.
const (
	vocabFile      = "vocab.json"  // the compact vocabulary: dense id → tokenizer id
	checkpointsDir = "checkpoints" // the trainer's checkpoints
	modelDir       = "model"       // a fine-tuned pretrained model, in Hugging Face's layout
)

// recipe trains one prepared run into its folder. Its stages run in order (see runOne) and
// share the run's state through its fields; record turns whatever happened into run.json.
type recipe struct {
	r   *Runner
	exp *configs.Experiment
	p   *prepared
	cfg configs.Config
	log *slog.Logger

	index, total int // the run's place in the sweep, for progress bars

	infoPath string
	previous *metrics.RunInfo // what an earlier attempt recorded, nil when unreadable
	info     metrics.RunInfo
	steps    []metrics.Step
	evals    []metrics.Eval
	earlierS float64 // wall time of the attempts a resumed run continues

	restoreGC func() // undoes backend.LimitHeapGrowth; nil until setUp
	built     *builtModel
	trainer   *train.Trainer
	sc        *scorer // scores sample completions (generation.arrow); nil until the model exists
	trainSet  []train.Example
	evalSets  map[string][]train.Example
}

// runOne trains one prepared run into its folder and returns what happened. Every path through
// it ends in record, which writes the run's status to run.json.
func (r *Runner) runOne(ctx context.Context, exp *configs.Experiment, p *prepared, index, total int) Outcome {
	rc := &recipe{
		r: r, exp: exp, p: p, cfg: p.run.Config, index: index, total: total,
		log:      r.opts.Logger.With("run", p.run.Name, "id", p.run.ID),
		infoPath: filepath.Join(p.dir, metrics.RunInfoFile),
	}
	if out, reused := rc.reuse(); reused {
		return out
	}
	defer rc.close()
	for _, stage := range []func(context.Context) error{rc.begin, rc.setUp, rc.train, rc.save} {
		if err := catch(func() error { return stage(ctx) }); err != nil {
			return rc.record(err)
		}
	}
	return rc.record(nil)
}

// reuse keeps a finished run found on disk, unless Options.Reuse refuses it or its files are
// damaged, in which case the folder is emptied so that the run trains afresh; so is a folder
// without a readable run.json. It reports true when the returned outcome is final.
func (rc *recipe) reuse() (Outcome, bool) {
	out := Outcome{Run: rc.p.run, Dir: rc.p.dir}
	// discard empties the folder of a run that must train afresh.
	discard := func() (Outcome, bool) {
		if err := os.RemoveAll(rc.p.dir); err != nil {
			out.Err = fmt.Errorf("remove stale run %s: %w", rc.p.dir, err)
			out.Info = metrics.RunInfo{Name: rc.p.run.Name, ID: rc.p.run.ID, Experiment: rc.exp.Name,
				Status: metrics.StatusFailed, Error: out.Err.Error(), Summary: metrics.EmptySummary()}
			return out, true
		}
		return out, false
	}
	previous, err := metrics.ReadRunInfo(rc.infoPath)
	if err != nil {
		// Without run.json nothing says what the folder's files were trained on, nor how far:
		// they are not resumed from.
		if entries, derr := os.ReadDir(rc.p.dir); derr == nil && len(entries) > 0 {
			rc.log.Warn("run folder without a readable run.json: training it again", "err", err)
			return discard()
		}
		return out, false
	}
	if why := staleInputs(previous, rc.p); why != "" {
		// Neither its results nor its checkpoints belong to the data as it is now.
		rc.log.Info("run found but "+why+": training it again", "status", previous.Status)
		return discard()
	}
	if previous.Status != metrics.StatusOK {
		rc.previous = &previous // an unfinished run resumes
		return out, false
	}
	if err := rc.intact(); err != nil {
		rc.log.Warn("finished run found but damaged: training it again", "err", err)
		return discard()
	}
	if rc.r.opts.Reuse == nil || rc.r.opts.Reuse(previous) {
		rc.log.Info("finished run found, skipped", "eval_loss", previous.Summary.EvalLoss)
		out.Info, out.Skipped = previous, true
		return out, true
	}
	rc.log.Info("finished run found but produced by other code: training it again", "commit", previous.Provenance.GitCommit)
	return discard()
}

// intact checks that the finished run in the folder is whole: every file readable, every
// metrics row there once, and the model kind's saved weights.
func (rc *recipe) intact() error {
	r, err := metrics.ReadRunDir(rc.p.dir)
	if err != nil {
		return err
	}
	if r.Err != nil {
		return r.Err
	}
	if why := rc.rowsMissing(rc.cfg.Train.MaxSteps, r.Steps, r.Evals, false, nil); why != "" {
		return errors.New(why)
	}
	return kindOf(rc.cfg).intact(rc.p.dir, rc.cfg)
}

// splits are the splits the run evaluates (the map setUp builds): the training split, and the
// held-out one when there is one.
func (rc *recipe) splits() []string {
	if len(rc.p.valid) > 0 {
		return []string{metrics.SplitTrain, metrics.SplitValid}
	}
	return []string{metrics.SplitTrain}
}

// checkpointed reports whether the trainer writes a checkpoint after step.
func (rc *recipe) checkpointed(step int) bool { return trainConfig(rc.cfg, "").CheckpointDue(step) }

// evalDue reports whether the trainer evaluates after step.
func (rc *recipe) evalDue(step int) bool { return trainConfig(rc.cfg, "").EvalDue(step) }

// rowsMissing says what is wrong with the metrics rows of steps 1 to step: every step once, in
// order, one evaluation row per split at each step due, and, when checkGens, one generation row
// (of gens) at each step the scorer is due; "" when nothing is.
func (rc *recipe) rowsMissing(step int, steps []metrics.Step, evals []metrics.Eval, checkGens bool, gens []metrics.Generation) string {
	if len(steps) != step {
		return fmt.Sprintf("%s holds %d rows up to step %d, want %d", metrics.StepsFile, len(steps), step, step)
	}
	for i, s := range steps {
		if s.Step != int64(i+1) {
			return fmt.Sprintf("%s: row %d is of step %d, want %d", metrics.StepsFile, i+1, s.Step, i+1)
		}
	}
	type key struct {
		step  int64
		split string
	}
	seen := map[key]int{}
	for _, e := range evals {
		if e.Step <= int64(step) {
			seen[key{e.Step, e.Split}]++
		}
	}
	want := 0
	for s := 1; s <= step; s++ {
		if !rc.evalDue(s) {
			continue
		}
		for _, split := range rc.splits() {
			want++
			if n := seen[key{int64(s), split}]; n != 1 {
				return fmt.Sprintf("%s holds %d rows of step %d, split %s, want 1", metrics.EvalsFile, n, s, split)
			}
		}
	}
	if len(seen) != want {
		return fmt.Sprintf("%s holds rows of steps that are not evaluated", metrics.EvalsFile)
	}
	if !checkGens {
		return ""
	}
	count := map[int64]int{}
	for _, g := range gens {
		count[g.Step]++
	}
	for s := 1; s <= step; s++ {
		if n := count[int64(s)]; rc.sc.due(s) && n != 1 {
			return fmt.Sprintf("%s holds %d rows of step %d, want 1", metrics.GenerationsFile, n, s)
		}
	}
	return ""
}

// begin creates the run's folder and records the run as running: its resolved config.yaml and
// a run.json with its provenance and data statistics, after removing temporary files a killed
// writer left.
func (rc *recipe) begin(context.Context) error {
	p, cfg := rc.p, rc.cfg
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return fmt.Errorf("create the run folder: %w (set output.dir to a writable folder)", err)
	}
	// Temporary files of a writer killed before its rename: this process holds the run's claim,
	// so no live writer owns them.
	if n, err := atomicfile.RemoveStale(p.dir); err != nil {
		return fmt.Errorf("clean up %s: %w", p.dir, err)
	} else if n > 0 {
		rc.log.Info("removed temporary files a killed writer left", "files", n)
	}
	rc.info = metrics.RunInfo{
		Name:       p.run.Name,
		ID:         p.run.ID,
		Experiment: rc.exp.Name,
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
			Eval:          scoredTokens(p),
		},
		Provenance: metrics.Provenance{
			GitCommit:     rc.r.opts.Code.Commit,
			GitDirty:      rc.r.opts.Code.Dirty,
			GoVersion:     goVersion(),
			GoMLXVersion:  moduleVersion("github.com/gomlx/gomlx"),
			Backend:       cfg.Backend.Name,
			Host:          hostname(),
			DatasetHash:   p.datasetHash,
			TokenizerHash: p.tok.Hash(),
			StartTime:     now(),
		},
	}
	if p.stats.Truncated > 0 {
		rc.log.Warn("examples truncated at data.max_length", "truncated", p.stats.Truncated, "of", p.stats.N, "max_length", cfg.Data.MaxLength, "longest", p.stats.MaxLen)
	}
	cfgYAML, err := cfg.YAML()
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(p.dir, metrics.ConfigFile), cfgYAML); err != nil {
		return err
	}
	return metrics.WriteRunInfo(rc.infoPath, rc.info)
}

// setUp creates the backend and the run's model, writes its vocabulary, maps the examples onto
// it and creates the trainer.
func (rc *recipe) setUp(context.Context) error {
	cfg := rc.cfg
	total, trained, err := kindOf(cfg).numParams(cfg, rc.p)
	if err != nil {
		return err
	}
	be, err := backend.New(backend.Config{Name: cfg.Backend.Name, Plugin: cfg.Backend.Plugin, Schedule: scheduleOf(cfg, trained)})
	if err != nil {
		return fmt.Errorf("backend: %w", err)
	}
	rc.info.Provenance.Device = backend.Describe(be)
	rc.restoreGC = backend.LimitHeapGrowth(total)
	if rc.built, err = kindOf(cfg).build(cfg, rc.p, be); err != nil {
		return err
	}
	vocab := rc.built.vocab
	if vocab != nil {
		data, err := json.Marshal(vocab)
		if err == nil {
			err = atomicfile.WriteFile(filepath.Join(rc.p.dir, vocabFile), data)
		}
		if err != nil {
			return fmt.Errorf("write vocabulary: %w", err)
		}
	}
	if rc.trainSet, err = toTrainExamples(rc.p.train, vocab); err != nil {
		return err
	}
	validSet, err := toTrainExamples(rc.p.valid, vocab)
	if err != nil {
		return err
	}
	rc.evalSets = map[string][]train.Example{metrics.SplitTrain: rc.trainSet}
	if len(validSet) > 0 {
		rc.evalSets[metrics.SplitValid] = validSet
	}
	tcfg := trainConfig(cfg, filepath.Join(rc.p.dir, checkpointsDir))
	if rc.info.Data.PaddingShare, err = paddingShare(rc.trainSet, tcfg, rc.built.model.Context()); err != nil {
		rc.log.Warn("padding share not recorded", "err", err)
	}
	if rc.trainer, err = train.New(be, rc.built.model, tcfg); err != nil {
		return err
	}
	// Before a checkpoint is loaded: the weights the run starts from.
	if rc.info.Model, err = modelStats(rc.trainer, rc.built.model, rc.p.tok); err != nil {
		return err
	}
	rc.sc, err = newScorer(cfg, rc.p, vocab, rc.trainer, rc.built.generate)
	return err
}

// train resumes from the latest checkpoint, if any, and trains to the last step, collecting the
// metrics rows and writing them whenever a checkpoint is written.
func (rc *recipe) train(ctx context.Context) error {
	cfg := rc.cfg
	resumed, err := rc.resume()
	if err != nil {
		return fmt.Errorf("resume: %w", err)
	}
	bar := rc.r.newBar(rc.p.run.Name, rc.index, rc.total, cfg.Train.MaxSteps, resumed)
	defer bar.finish()
	// The trainer checkpoints after a step's evaluation; the files must hold every row up to a
	// checkpoint before it is written, so that a run killed at any moment resumes with all of
	// them (resume drops the rows after the checkpoint it resumes from).
	checkpointed, evalDue, splits := rc.checkpointed, rc.evalDue, rc.splits()
	keep := func() error {
		if err := rc.sc.write(rc.p.dir); err != nil {
			return err
		}
		return writeMetrics(rc.p.dir, rc.steps, rc.evals)
	}
	hooks := train.Hooks{
		OnStep: func(s train.StepMetrics) error {
			rc.steps = append(rc.steps, metrics.Step{
				Step: int64(s.Step), Epoch: s.Epoch, TrainLoss: s.TrainLoss, LR: s.LR, GradNorm: s.GradNorm,
				Tokens: s.Tokens, TokensPerS: s.TokensPerS, ElapsedS: s.ElapsedS,
			})
			bar.step(s)
			if rc.r.opts.AfterStep != nil {
				rc.r.opts.AfterStep(rc.p.run, s.Step)
			}
			if rc.sc.due(s.Step) {
				if _, err := rc.sc.score(s.Step); err != nil {
					return err
				}
			}
			if checkpointed(s.Step) && !evalDue(s.Step) {
				return keep() // the checkpoint of this step is written right after
			}
			return nil
		},
		OnEval: func(e train.EvalMetrics) error {
			rc.evals = append(rc.evals, metrics.Eval{Step: int64(e.Step), Split: e.Split, Loss: e.Loss, TokenAccuracy: e.TokenAccuracy, Tokens: e.Tokens,
				AnswerLoss: e.AnswerLoss, AnswerTokens: e.AnswerTokens})
			if checkpointed(e.Step) && e.Split == splits[len(splits)-1] {
				return keep() // after the step's last split (the trainer evaluates them in order)
			}
			return nil
		},
	}
	_, err = rc.trainer.Run(ctx, rc.trainSet, rc.evalSets, hooks)
	return err
}

// resume restores the run's latest checkpoint, with the metrics rows up to it, and returns its
// step. It returns 0, the run starting from the first step, when there is no checkpoint, and
// when there is one that cannot be resumed from: damaged (a kill or a bad disk truncated it),
// or with rows up to it missing from the metrics files (damaged in turn). Such a checkpoint is
// removed. The error is one of removing it.
func (rc *recipe) resume() (int, error) {
	dir := filepath.Join(rc.p.dir, checkpointsDir)
	fresh := func(err error) (int, error) {
		rc.log.Warn("checkpoint cannot be resumed from: training from the first step", "err", err)
		rc.steps, rc.evals, rc.sc.rows = nil, nil, nil
		if err := os.RemoveAll(dir); err != nil {
			return 0, fmt.Errorf("remove the checkpoints: %w", err)
		}
		return 0, nil
	}
	step, err := train.LatestCheckpointStep(dir)
	if err != nil {
		return fresh(err)
	}
	if step == 0 {
		return 0, nil
	}
	// Keep the metrics rows up to the checkpoint; the steps after it are trained again.
	steps, evals, err := readUpTo(rc.p.dir, int64(step))
	if err == nil {
		err = rc.sc.resume(rc.p.dir, int64(step))
	}
	if err != nil {
		return fresh(err)
	}
	if why := rc.rowsMissing(step, steps, evals, true, rc.sc.rows); why != "" {
		return fresh(fmt.Errorf("the metrics rows up to its step %d are not all there: %s", step, why))
	}
	// Checked whole before anything is set: on error the trainer is as New made it.
	if _, err := rc.trainer.LoadLatestCheckpoint(); err != nil {
		return fresh(err)
	}
	rc.steps, rc.evals = steps, evals
	if rc.previous != nil {
		rc.earlierS = rc.previous.Provenance.WallS
	}
	rc.log.Info("resuming from checkpoint", "step", step)
	return step, nil
}

// save keeps what the model kind saves after training (a pretrained model's fine-tuned
// directory, after which its checkpoints are no longer needed) and scores the sample
// completions.
func (rc *recipe) save(context.Context) error {
	if rc.built.save != nil {
		if err := rc.built.save(rc.trainer, filepath.Join(rc.p.dir, modelDir)); err != nil {
			return fmt.Errorf("save fine-tuned model: %w", err)
		}
		// model/ now holds the trained weights; the final checkpoint (weights plus AdamW state,
		// three times their size) is only needed to resume an unfinished run.
		if err := os.RemoveAll(filepath.Join(rc.p.dir, checkpointsDir)); err != nil {
			return fmt.Errorf("remove checkpoints after saving the model: %w", err)
		}
	}
	return rc.sc.final(rc.p.dir, rc.trainer.Step())
}

// record ends the run: its status from err, its summary, metrics.arrow, eval.arrow and run.json.
func (rc *recipe) record(err error) Outcome {
	info := &rc.info
	info.Provenance.EndTime = now()
	info.Provenance.WallS = rc.earlierS + info.Provenance.EndTime.Sub(info.Provenance.StartTime).Seconds()
	info.Summary = metrics.SummarizeFor(rc.steps, rc.evals, rc.cfg.Data.EvalOn)
	if rc.sc != nil {
		info.Summary.AddGenerations(rc.sc.rows)
	}
	info.Status, info.Error = statusOf(err)
	if werr := writeMetrics(rc.p.dir, rc.steps, rc.evals); werr != nil && err == nil {
		info.Status, info.Error, err = metrics.StatusFailed, werr.Error(), werr
	}
	if werr := rc.sc.write(rc.p.dir); werr != nil && err == nil {
		info.Status, info.Error, err = metrics.StatusFailed, werr.Error(), werr
	}
	if werr := metrics.WriteRunInfo(rc.infoPath, *info); werr != nil && err == nil {
		err = werr
	}
	if info.Status == metrics.StatusOK {
		rc.log.Info("run finished", "train_loss", info.Summary.TrainLoss, "eval_loss", info.Summary.EvalLoss, "answer_loss", info.Summary.AnswerLoss, "wall_s", round(info.Provenance.WallS))
	} else {
		rc.log.Error("run "+string(info.Status), "err", err)
	}
	return Outcome{Run: rc.p.run, Dir: rc.p.dir, Info: *info, Err: err}
}

// close releases what the model holds (memory-mapped weights) and restores the collector's
// target.
func (rc *recipe) close() {
	if rc.restoreGC != nil {
		rc.restoreGC()
	}
	if rc.built != nil && rc.built.close != nil {
		if err := rc.built.close(); err != nil {
			rc.log.Warn("releasing the model", "err", err)
		}
	}
}

// statusOf maps a run's error onto its status and the error text run.json keeps.
func statusOf(err error) (metrics.Status, string) {
	switch {
	case err == nil:
		return metrics.StatusOK, ""
	case errors.Is(err, train.ErrDiverged):
		return metrics.StatusDiverged, err.Error()
	case errors.Is(err, context.Canceled):
		return metrics.StatusInterrupted, err.Error()
	default:
		return metrics.StatusFailed, err.Error()
	}
}

// catch runs f and returns its error, or the panic GoMLX raised while building or running a
// graph, as an error. GoMLX reports graph errors by panicking; this is the one place in the
// runner where such panics become errors.
func catch(f func() error) error {
	var err error
	if perr := exceptions.TryCatch[error](func() { err = f() }); perr != nil {
		return perr
	}
	return err
}

// writeMetrics writes metrics.arrow and eval.arrow.
func writeMetrics(dir string, steps []metrics.Step, evals []metrics.Eval) error {
	if err := metrics.WriteSteps(filepath.Join(dir, metrics.StepsFile), steps); err != nil {
		return err
	}
	return metrics.WriteEvals(filepath.Join(dir, metrics.EvalsFile), evals)
}

// readUpTo reads the metrics rows of an interrupted run up to step. A missing file holds no
// rows; an unreadable one is an error.
func readUpTo(dir string, step int64) ([]metrics.Step, []metrics.Eval, error) {
	var steps []metrics.Step
	var evals []metrics.Eval
	all, err := metrics.ReadSteps(filepath.Join(dir, metrics.StepsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	for _, s := range all {
		if s.Step <= step {
			steps = append(steps, s)
		}
	}
	allEvals, err := metrics.ReadEvals(filepath.Join(dir, metrics.EvalsFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, nil, err
	}
	for _, e := range allEvals {
		if e.Step <= step {
			evals = append(evals, e)
		}
	}
	return steps, evals, nil
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
		EvalLossAverage: cfg.Eval.LossAverage,
		Seed:            uint64(cfg.Train.Seed),
		Padding:         cfg.Data.Padding,
		MaxLength:       cfg.Data.MaxLength,
		EvalEvery:       cfg.Eval.Every,
		CheckpointEvery: cfg.Train.CheckpointEvery,
		CheckpointDir:   checkpointDir,
		Pack:            cfg.Data.Packing,

		DivergenceFactor: cfg.Train.DivergenceFactor,
	}
}

func round(x float64) float64 { return math.Round(x*10) / 10 }
