package train

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
	sftbackend "github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model"
)

// ErrDiverged is returned (wrapped, with the step and the reason) when the training loss
// becomes NaN or ±Inf, or rises above Config.DivergenceFactor times the first step's loss.
var ErrDiverged = errors.New("training diverged")

// StepMetrics describes one optimizer step.
type StepMetrics struct {
	Step       int     // optimizer steps done, 1 after the first
	Epoch      float64 // fractional epoch at the end of the step
	TrainLoss  float64 // mean loss over the labelled positions of the step's (micro-)batches
	LR         float64 // learning rate the step used
	GradNorm   float64 // global gradient norm before clipping
	Tokens     int64   // non-padding input tokens seen so far
	TokensPerS float64 // this step's non-padding input tokens (all micro-batches) per second
	ElapsedS   float64 // seconds since Run started
}

// EvalMetrics describes one evaluation of a dataset.
type EvalMetrics struct {
	Step  int    // optimizer steps done when evaluated
	Split string // name of the dataset
	// Loss is the mean token loss over the labelled tokens, averaged as Config.EvalLossAverage
	// says: over all tokens, or Hugging Face's mean of per-batch means weighted by batch size.
	Loss          float64
	TokenAccuracy float64 // fraction of labelled tokens whose argmax prediction is right
	Tokens        int64   // labelled tokens scored
	// AnswerLoss is Loss over the answer-labelled tokens (Example.AnswerLabels), averaged the
	// same way; NaN when no example carries answer labels.
	AnswerLoss   float64
	AnswerTokens int64 // answer-labelled tokens scored
}

// Hooks are called during Run; an error from one stops the run and is returned.
type Hooks struct {
	OnStep func(StepMetrics) error
	OnEval func(EvalMetrics) error
}

// Result is what Run returns.
type Result struct {
	Steps int                    // optimizer steps done
	Last  StepMetrics            // metrics of the last step run (zero if none ran)
	Evals map[string]EvalMetrics // last evaluation of each split
}

// Trainer holds a model's weights, optimizer state and compiled graphs. It is not safe for
// concurrent use.
type Trainer struct {
	backend compute.Backend
	model   Model
	cfg     Config
	store   *mlmodel.Store
	// packed builds the hidden states of packed batches (the model's HiddenPacked) with
	// cfg.Pack; nil otherwise.
	packed func(scope *mlmodel.Scope, ids, mask *graph.Node) *graph.Node

	params  []*mlmodel.Variable // trainable, in creation order
	decay   []bool
	moments []*mlmodel.Variable // AdamW m and v, interleaved per parameter
	accum   []*mlmodel.Variable // float32 gradient sums per parameter, only with GradAccum > 1

	step      int      // optimizer steps done
	pos       position // data position of the next batch
	tokens    int64    // non-padding input tokens seen
	startLoss float64  // the first step's loss, the reference of DivergenceFactor; 0 = not known yet
	evaluated int      // the step of the latest evaluation (of a resumed checkpoint's step); -1 = none

	stepExec, evalExec, genExec *mlmodel.Exec
	microExec, applyExec        *mlmodel.Exec // the accumulated step, only with GradAccum > 1

	// hostKernel, when set, applies AdamW on the host after each step graph (see adamw.go):
	// on a backend whose buffers are Go memory. Nil: the step graph updates the weights.
	hostKernel adamWKernel
}

// maxCompiledShapes bounds how many batch shapes each graph is compiled for.
const maxCompiledShapes = 256

// New initialises m's variables (from cfg.Seed) and AdamW's state on backend.
func New(backend compute.Backend, m Model, cfg Config) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t := &Trainer{backend: backend, model: m, cfg: cfg, store: mlmodel.NewStore(), evaluated: -1}
	if sftbackend.HostMemory(backend) {
		t.hostKernel = hostKernel()
	}
	if cfg.Pack {
		pm, ok := m.(PackedModel)
		if !ok {
			return nil, fmt.Errorf("train: key \"pack\": the model (%T) cannot run packed rows: turn packing off", m)
		}
		t.packed = pm.HiddenPacked
	}
	if err := m.Init(t.store, cfg.Seed); err != nil {
		return nil, fmt.Errorf("train: init model: %w", err)
	}
	for v := range t.store.IterVariables() {
		if !v.Trainable {
			continue
		}
		t.params = append(t.params, v)
		t.decay = append(t.decay, m.Decay(v.Path()))
	}
	for _, p := range t.params {
		for _, kind := range []string{"m", "v"} {
			mv, err := t.store.CreateVariable("/adamw_"+kind+p.Path(), tensors.FromShape(p.Shape()))
			if err != nil {
				return nil, fmt.Errorf("train: optimizer state for %q: %w", p.Path(), err)
			}
			mv.SetTrainable(false)
			t.moments = append(t.moments, mv)
		}
	}
	execs := []*mlmodel.Exec{}
	if cfg.microBatches() > 1 {
		for _, p := range t.params {
			acc, err := t.store.CreateVariable(accumPrefix+p.Path(), tensors.FromShape(shapes.Make(dtypes.Float32, p.Shape().Dimensions...)))
			if err != nil {
				return nil, fmt.Errorf("train: gradient accumulator for %q: %w", p.Path(), err)
			}
			acc.SetTrainable(false)
			t.accum = append(t.accum, acc)
		}
		var err error
		if t.microExec, err = mlmodel.NewExec(backend, t.store, t.buildMicro); err != nil {
			return nil, fmt.Errorf("train: micro-batch graph: %w", err)
		}
		if t.applyExec, err = mlmodel.NewExec(backend, t.store, t.buildApply); err != nil {
			return nil, fmt.Errorf("train: optimizer graph: %w", err)
		}
		execs = append(execs, t.microExec)
	}
	var err error
	if t.stepExec, err = mlmodel.NewExec(backend, t.store, t.buildStep); err != nil {
		return nil, fmt.Errorf("train: step graph: %w", err)
	}
	if t.evalExec, err = mlmodel.NewExec(backend, t.store, t.buildEval); err != nil {
		return nil, fmt.Errorf("train: eval graph: %w", err)
	}
	if t.genExec, err = mlmodel.NewExec(backend, t.store, t.buildNext); err != nil {
		return nil, fmt.Errorf("train: generation graph: %w", err)
	}
	for _, e := range append(execs, t.stepExec, t.evalExec, t.genExec) {
		e.SetMaxCache(maxCompiledShapes)
	}
	return t, nil
}

// accumPrefix is the store path prefix of the gradient accumulators.
const accumPrefix = "/grad_acc"

// Store is the store holding the model's variables (and AdamW's, under /adamw_m and /adamw_v;
// with GradAccum > 1 also the gradient accumulators under /grad_acc, which are transient and
// never checkpointed).
func (t *Trainer) Store() *mlmodel.Store { return t.store }

// Step is the number of optimizer steps done.
func (t *Trainer) Step() int { return t.step }

// buildStep is the training step graph: inputs ids, mask [B, T], rows, targets, weights [n],
// the AdamW scalars [3] and, for a TrainingModel, the random state; outputs the loss and the
// pre-clip gradient norm, and updates the parameters and moments in place; with the update on
// the host it outputs the loss, the norm, the clipping scale and the gradients instead.
func (t *Trainer) buildStep(scope *mlmodel.Scope, in []*graph.Node) []*graph.Node {
	ids, mask, rows, targets, weights, hyper := in[0], in[1], in[2], in[3], in[4], in[5]
	g := ids.Graph()
	losses := model.CrossEntropy(rowLogits(t.model, t.packed, scope, ids, mask, rows, optional(in, 6)), targets)
	loss := graph.Div(graph.ReduceAllSum(graph.Mul(losses, weights)), graph.ReduceAllSum(weights))
	params := make([]*graph.Node, len(t.params))
	for i, p := range t.params {
		params[i] = p.NodeValue(g)
	}
	return append([]*graph.Node{loss}, t.optimize(g, params, graph.Gradient(loss, params...), hyper, true)...)
}

// buildMicro is the micro-batch graph of an accumulated step: inputs ids, mask [B, T], rows,
// targets, weights [n], the step's labelled-token count (a float32 scalar, over all its
// micro-batches), first (a bool scalar) and, for a TrainingModel, the random state. It adds the gradients of this micro-batch's summed
// token loss divided by the count into the accumulators (replacing their content when first),
// so that after the step's last micro-batch they hold the gradient of the step's token-weighted
// mean loss, as Hugging Face does with num_items_in_batch. It outputs the summed token loss.
func (t *Trainer) buildMicro(scope *mlmodel.Scope, in []*graph.Node) []*graph.Node {
	ids, mask, rows, targets, weights, count, first := in[0], in[1], in[2], in[3], in[4], in[5], in[6]
	g := ids.Graph()
	losses := model.CrossEntropy(rowLogits(t.model, t.packed, scope, ids, mask, rows, optional(in, 7)), targets)
	sum := graph.ReduceAllSum(graph.Mul(losses, weights))
	params := make([]*graph.Node, len(t.params))
	for i, p := range t.params {
		params[i] = p.NodeValue(g)
	}
	grads := graph.Gradient(graph.Div(sum, count), params...)
	for i, acc := range t.accum {
		grad := graph.ConvertDType(grads[i], dtypes.Float32)
		acc.SetNodeValue(graph.Where(first, grad, graph.Add(acc.NodeValue(g), grad)))
	}
	return []*graph.Node{sum}
}

// buildApply is the optimizer half of an accumulated step: input the AdamW scalars [3]; it
// clips the accumulated gradients by their global norm, updates the parameters and moments in
// place as buildStep does, and outputs the pre-clip norm; with the update on the host it
// outputs the norm and the clipping scale, and the host reads the accumulators.
func (t *Trainer) buildApply(scope *mlmodel.Scope, in []*graph.Node) []*graph.Node {
	hyper := in[0]
	g := hyper.Graph()
	params := make([]*graph.Node, len(t.params))
	grads := make([]*graph.Node, len(t.params))
	for i, p := range t.params {
		params[i] = p.NodeValue(g)
		grads[i] = graph.ConvertDType(t.accum[i].NodeValue(g), params[i].DType())
	}
	return t.optimize(g, params, grads, hyper, false)
}

// buildEval outputs the summed loss and the summed hits over the rows weighted by weights, and
// the summed loss over the rows weighted by answerWeights.
func (t *Trainer) buildEval(scope *mlmodel.Scope, in []*graph.Node) []*graph.Node {
	ids, mask, rows, targets, weights, answerWeights := in[0], in[1], in[2], in[3], in[4], in[5]
	logits := rowLogits(t.model, t.packed, scope, ids, mask, rows, nil)
	losses, correct := model.CrossEntropy(logits, targets), model.Hits(logits, targets)
	return []*graph.Node{
		graph.ReduceAllSum(graph.Mul(losses, weights)),
		graph.ReduceAllSum(graph.Mul(correct, weights)),
		graph.ReduceAllSum(graph.Mul(losses, answerWeights)),
	}
}

// buildNext outputs the argmax token after each flat position rows [n] of ids [B, T] (one
// per row being generated).
func (t *Trainer) buildNext(scope *mlmodel.Scope, ids, mask, rows *graph.Node) *graph.Node {
	h := t.model.Hidden(scope, ids, mask)
	d := h.Shape().Dim(2)
	sel := graph.Gather(graph.Reshape(h, h.Shape().Dim(0)*h.Shape().Dim(1), d), graph.Reshape(rows, rows.Shape().Dim(0), 1))
	return graph.ArgMax(t.model.Head(scope, sel), -1, dtypes.Int32)
}

// optional returns in[i], or nil when the graph has no such input.
func optional(in []*graph.Node, i int) *graph.Node {
	if i < len(in) {
		return in[i]
	}
	return nil
}

// rngState returns the random state of micro-batch micro of the next optimizer step when the
// model is a TrainingModel (nil otherwise): a function of the seed, the step and the
// micro-batch only, so that a resumed run draws what an uninterrupted one does.
func (t *Trainer) rngState(micro int) (*tensors.Tensor, error) {
	if _, ok := t.model.(TrainingModel); !ok {
		return nil, nil
	}
	state, err := graph.RNGStateFromSeed(int64(mix64(t.cfg.Seed, uint64(t.step), uint64(micro))))
	if err != nil {
		return nil, fmt.Errorf("train: random state of step %d: %w", t.step+1, err)
	}
	return state, nil
}

// mix64 hashes its arguments into one well-mixed value (splitmix64's finaliser over each).
func mix64(xs ...uint64) uint64 {
	h := uint64(0x9e3779b97f4a7c15)
	for _, x := range xs {
		h ^= x + 0x9e3779b97f4a7c15 + (h << 6) + (h >> 2)
		h ^= h >> 30
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 27
		h *= 0x94d049bb133111eb
		h ^= h >> 31
	}
	return h
}

// call runs e, turning a panic of graph code into an error.
func call(e *mlmodel.Exec, args ...any) (out []*tensors.Tensor, err error) {
	exception := exceptions.Try(func() { out, err = e.Exec(args...) })
	if exception != nil {
		if perr, ok := exception.(error); ok {
			return nil, perr
		}
		return nil, fmt.Errorf("%v", exception)
	}
	return out, err
}

func (b *batch) inputs() []any {
	return []any{
		tensors.FromFlatDataAndDimensions(b.ids, b.size, b.length),
		tensors.FromFlatDataAndDimensions(b.mask, b.size, b.length),
		tensors.FromFlatDataAndDimensions(b.rows, len(b.rows)),
		tensors.FromFlatDataAndDimensions(b.targets, len(b.targets)),
		tensors.FromFlatDataAndDimensions(b.weights, len(b.weights)),
	}
}

// TrainStep runs one optimizer step on examples at the learning rate of the schedule, and
// returns its loss and pre-clip gradient norm. With GradAccum ≤ 1 the examples form one batch;
// otherwise they are split into consecutive micro-batches of BatchSize examples (the last may
// be smaller) whose gradients are accumulated. Run calls it; it is exported for tests and tools
// that feed their own batches.
func (t *Trainer) TrainStep(examples []Example) (loss, gradNorm float64, err error) {
	if t.cfg.microBatches() == 1 {
		b, err := t.cfg.newBatch(examples, t.model.Context(), false)
		if err != nil {
			return 0, 0, fmt.Errorf("train: step %d: %w", t.step+1, err)
		}
		return t.trainBatch(b)
	}
	var bs []*batch
	for i := 0; i < len(examples); i += t.cfg.BatchSize {
		b, err := t.cfg.newBatch(examples[i:min(i+t.cfg.BatchSize, len(examples))], t.model.Context(), false)
		if err != nil {
			return 0, 0, fmt.Errorf("train: step %d, micro-batch %d: %w", t.step+1, len(bs)+1, err)
		}
		bs = append(bs, b)
	}
	return t.trainAccumulated(bs)
}

// adamHyper is the AdamW scalars of the next optimizer step.
func (t *Trainer) adamHyper() adamHyper {
	lr := LinearSchedule(t.cfg.LR, t.cfg.WarmupSteps, t.cfg.MaxSteps, t.step)
	n := float64(t.step + 1)
	return adamHyper{
		negStepSize: -(lr / (1 - math.Pow(adamBeta1, n))),
		bc2Sqrt:     math.Sqrt(1 - math.Pow(adamBeta2, n)),
		decayFactor: 1 - lr*t.cfg.WeightDecay,
	}
}

// hyper is the AdamW scalars tensor of the next optimizer step.
func (t *Trainer) hyper() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(t.adamHyper().vector(), 3)
}

func (t *Trainer) trainBatch(b *batch) (loss, gradNorm float64, err error) {
	if b.labelled == 0 {
		return 0, 0, fmt.Errorf("train: step %d: the batch has no labelled positions (all labels are %d)", t.step+1, IgnoreLabel)
	}
	args := append(b.inputs(), t.hyper())
	rng, err := t.rngState(0)
	if err != nil {
		return 0, 0, err
	}
	if rng != nil {
		args = append(args, rng)
	}
	out, err := call(t.stepExec, args...)
	if err != nil {
		return 0, 0, fmt.Errorf("train: step %d (batch %d×%d): %w", t.step+1, b.size, b.length, err)
	}
	loss = float64(tensors.ToScalar[float32](out[0]))
	gradNorm = float64(tensors.ToScalar[float32](out[1]))
	if t.hostKernel != nil {
		err := t.applyOnHost(out[3:], tensors.ToScalar[float32](out[2]))
		finalize(out[3:])
		if err != nil {
			return 0, 0, fmt.Errorf("train: step %d: %w", t.step+1, err)
		}
	}
	t.step++
	t.tokens += int64(b.tokens)
	return loss, gradNorm, t.checkDiverged(loss)
}

// trainAccumulated runs one optimizer step over the micro-batches bs (GradAccum > 1): their
// gradients are summed into the accumulators, weighted so that the step minimises the mean
// loss over all of their labelled tokens, then clipped and applied once. The loss it returns is
// that token-weighted mean.
func (t *Trainer) trainAccumulated(bs []*batch) (loss, gradNorm float64, err error) {
	labelled, tokens := 0, 0
	for _, b := range bs {
		labelled += b.labelled
		tokens += b.tokens
	}
	if labelled == 0 {
		return 0, 0, fmt.Errorf("train: step %d: its %d micro-batches have no labelled positions (all labels are %d)", t.step+1, len(bs), IgnoreLabel)
	}
	count := tensors.FromScalar(float32(labelled))
	var sum float64
	first := true
	for i, b := range bs {
		if b.labelled == 0 {
			continue // its gradient is zero
		}
		args := append(b.inputs(), count, tensors.FromScalar(first))
		rng, err := t.rngState(i)
		if err != nil {
			return 0, 0, err
		}
		if rng != nil {
			args = append(args, rng)
		}
		out, err := call(t.microExec, args...)
		if err != nil {
			return 0, 0, fmt.Errorf("train: step %d, micro-batch %d (%d×%d): %w", t.step+1, i+1, b.size, b.length, err)
		}
		sum += float64(tensors.ToScalar[float32](out[0]))
		first = false
	}
	out, err := call(t.applyExec, t.hyper())
	if err != nil {
		return 0, 0, fmt.Errorf("train: step %d (optimizer update): %w", t.step+1, err)
	}
	loss = sum / float64(labelled)
	gradNorm = float64(tensors.ToScalar[float32](out[0]))
	if t.hostKernel != nil {
		grads := make([]*tensors.Tensor, len(t.accum))
		for i, acc := range t.accum {
			if grads[i], err = acc.Value(); err != nil {
				return 0, 0, fmt.Errorf("train: step %d: gradient sum of %q: %w", t.step+1, acc.Path(), err)
			}
		}
		if err := t.applyOnHost(grads, tensors.ToScalar[float32](out[1])); err != nil {
			return 0, 0, fmt.Errorf("train: step %d: %w", t.step+1, err)
		}
	}
	t.step++
	t.tokens += int64(tokens)
	return loss, gradNorm, t.checkDiverged(loss)
}

// checkDiverged returns ErrDiverged, wrapped with the step and the reason, when the loss of the
// step just done is not finite or exceeds DivergenceFactor times the first step's loss (the
// loss of the initial weights). The first loss seen is the reference; a checkpoint keeps it.
func (t *Trainer) checkDiverged(loss float64) error {
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return fmt.Errorf("train: step %d: loss %v is not finite: %w", t.step, loss, ErrDiverged)
	}
	if t.startLoss <= 0 {
		t.startLoss = loss
		return nil
	}
	if f := t.cfg.DivergenceFactor; f > 0 && loss > f*t.startLoss {
		return fmt.Errorf("train: step %d: loss %.6g is more than %g × the first step's loss %.6g (divergence_factor %g; 0 disables the check): %w",
			t.step, loss, f, t.startLoss, f, ErrDiverged)
	}
	return nil
}

// Run trains until cfg.MaxSteps, evaluating every split of evalSets every cfg.EvalEvery steps
// and at the end (splits in name order), and checkpointing every cfg.CheckpointEvery steps and
// at the end when cfg.CheckpointDir is set. Each optimizer step consumes cfg.GradAccum
// micro-batches of cfg.BatchSize examples (one batch when GradAccum ≤ 1), in the order of one
// batch of BatchSize·GradAccum examples; the last step of an epoch may have fewer. It continues
// from the trainer's state: call LoadLatestCheckpoint first to resume. It stops early, with the
// error, on a hook error, ctx cancellation or a diverged loss (errors.Is(err, ErrDiverged)): not
// finite, or above cfg.DivergenceFactor times the first step's loss.
func (t *Trainer) Run(ctx context.Context, trainSet []Example, evalSets map[string][]Example, hooks Hooks) (Result, error) {
	res := Result{Evals: map[string]EvalMetrics{}}
	if len(trainSet) == 0 {
		return res, errors.New("train: empty training set")
	}
	micro := t.cfg.microBatches()
	stepBatch := t.cfg.BatchSize * micro // examples per optimizer step
	batchesPerEpoch := (len(trainSet) + stepBatch - 1) / stepBatch
	splits := slices.Sorted(maps.Keys(evalSets))
	start := time.Now()
	var order []int
	// A trainer resumed from a checkpoint has evaluated its step already (checkpoints are
	// written after the step's evaluation): evaluating it again would repeat those rows.
	evaluated := t.evaluated
	evalAll := func() error {
		for _, name := range splits {
			em, err := t.Evaluate(name, evalSets[name])
			if err != nil {
				return err
			}
			res.Evals[name] = em
			if hooks.OnEval != nil {
				if err := hooks.OnEval(em); err != nil {
					return fmt.Errorf("train: eval hook at step %d: %w", t.step, err)
				}
			}
		}
		evaluated, t.evaluated = t.step, t.step
		return nil
	}
	for t.step < t.cfg.MaxSteps {
		if err := ctx.Err(); err != nil {
			// Between steps the state is consistent: keep it, so that the run resumes here.
			if t.cfg.CheckpointDir != "" && t.step > 0 {
				if cerr := t.SaveCheckpoint(); cerr != nil {
					err = errors.Join(err, cerr)
				}
			}
			return res, fmt.Errorf("train: stopped before step %d: %w", t.step+1, err)
		}
		stepStart := time.Now()
		pos := t.pos
		var micros [][]Example
		micros, t.pos, order = t.cfg.stepExamples(trainSet, t.pos, order)
		bs := make([]*batch, 0, len(micros))
		stepTokens := 0
		at := pos
		for _, examples := range micros {
			b, err := t.cfg.newBatch(examples, t.model.Context(), false)
			if err != nil {
				return res, fmt.Errorf("train: step %d (epoch %d, example %d): %w", t.step+1, at.Epoch, at.Next, err)
			}
			bs = append(bs, b)
			stepTokens += b.tokens
			at.Next += len(examples)
		}
		lr := LinearSchedule(t.cfg.LR, t.cfg.WarmupSteps, t.cfg.MaxSteps, t.step)
		var loss, gradNorm float64
		var err error
		if micro == 1 {
			loss, gradNorm, err = t.trainBatch(bs[0])
		} else {
			loss, gradNorm, err = t.trainAccumulated(bs)
		}
		if err != nil {
			return res, err
		}
		dt := time.Since(stepStart).Seconds()
		batchIndex := (pos.Next + stepBatch - 1) / stepBatch
		res.Steps = t.step
		res.Last = StepMetrics{
			Step:       t.step,
			Epoch:      float64(pos.Epoch) + float64(batchIndex+1)/float64(batchesPerEpoch),
			TrainLoss:  loss,
			LR:         lr,
			GradNorm:   gradNorm,
			Tokens:     t.tokens,
			TokensPerS: float64(stepTokens) / dt,
			ElapsedS:   time.Since(start).Seconds(),
		}
		if hooks.OnStep != nil {
			if err := hooks.OnStep(res.Last); err != nil {
				return res, fmt.Errorf("train: step hook at step %d: %w", t.step, err)
			}
		}
		if len(splits) > 0 && t.cfg.EvalDue(t.step) {
			if err := evalAll(); err != nil {
				return res, err
			}
		}
		if t.cfg.CheckpointDir != "" && t.cfg.CheckpointDue(t.step) {
			if err := t.SaveCheckpoint(); err != nil {
				return res, err
			}
		}
	}
	res.Steps = t.step
	if len(splits) > 0 && evaluated != t.step {
		if err := evalAll(); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Run is New followed by Trainer.Run.
func Run(ctx context.Context, backend compute.Backend, m Model, cfg Config, trainSet []Example, evalSets map[string][]Example, hooks Hooks) (Result, error) {
	t, err := New(backend, m, cfg)
	if err != nil {
		return Result{}, err
	}
	return t.Run(ctx, trainSet, evalSets, hooks)
}

// Evaluate scores examples in order, in batches of cfg.EvalBatchSize. Loss and AnswerLoss
// average the token losses as cfg.EvalLossAverage says (see AverageLoss): with "tokens" (the
// default) they are the sum of the token losses over the number of scored tokens, so they do
// not depend on batch size or padding; with "batches" they are Hugging Face Trainer.evaluate's
// eval_loss, the mean of the per-batch mean losses weighted by the examples in each batch.
// Token accuracy is always over tokens.
func (t *Trainer) Evaluate(split string, examples []Example) (EvalMetrics, error) {
	em := EvalMetrics{Step: t.step, Split: split}
	var loss, answer []BatchLoss
	var sumCorrect float64
	bs := t.cfg.evalBatchSize()
	for i := 0; i < len(examples); i += bs {
		b, err := t.cfg.newBatch(examples[i:min(i+bs, len(examples))], t.model.Context(), true)
		if err != nil {
			return em, fmt.Errorf("train: eval %q at step %d, examples %d…: %w", split, t.step, i, err)
		}
		if b.labelled == 0 && b.answered == 0 {
			continue
		}
		args := append(b.inputs(), tensors.FromFlatDataAndDimensions(b.answerWeights, len(b.answerWeights)))
		out, err := call(t.evalExec, args...)
		if err != nil {
			return em, fmt.Errorf("train: eval %q at step %d, examples %d…: %w", split, t.step, i, err)
		}
		loss = append(loss, BatchLoss{Examples: b.size, Sum: float64(tensors.ToScalar[float32](out[0])), Tokens: int64(b.labelled)})
		sumCorrect += float64(tensors.ToScalar[float32](out[1]))
		answer = append(answer, BatchLoss{Examples: b.size, Sum: float64(tensors.ToScalar[float32](out[2])), Tokens: int64(b.answered)})
		em.Tokens += int64(b.labelled)
		em.AnswerTokens += int64(b.answered)
	}
	if em.Tokens == 0 {
		return em, fmt.Errorf("train: eval %q: no labelled tokens in %d examples", split, len(examples))
	}
	em.Loss = AverageLoss(loss, t.cfg.EvalLossAverage)
	em.AnswerLoss = AverageLoss(answer, t.cfg.EvalLossAverage)
	em.TokenAccuracy = sumCorrect / float64(em.Tokens)
	return em, nil
}

// Ways of averaging the token losses of an evaluation over its batches (Config.EvalLossAverage).
const (
	AverageTokens  = "tokens"  // every scored token weighs the same
	AverageBatches = "batches" // Hugging Face Trainer.evaluate: per-batch means, weighted by batch size
)

// BatchLoss is what one evaluation batch contributes to a loss: its examples, its summed token
// loss and its number of scored tokens.
type BatchLoss struct {
	Examples int
	Sum      float64
	Tokens   int64
}

// AverageLoss averages the token losses of batches. With AverageTokens (or "") it is
// Σ Sum / Σ Tokens. With AverageBatches it is what Hugging Face's Trainer.evaluate reports as
// eval_loss: each batch's mean loss Sum/Tokens (the model's loss for that batch) repeated once
// per example of the batch, then averaged: Σ Examples·(Sum/Tokens) / Σ Examples. A batch without
// a scored token has no mean and is left out (Hugging Face would average in its NaN). The
// result is NaN when no batch has a scored token.
func AverageLoss(batches []BatchLoss, average string) float64 {
	var num, den float64
	for _, b := range batches {
		if b.Tokens == 0 {
			continue
		}
		if average == AverageBatches {
			num += float64(b.Examples) * (b.Sum / float64(b.Tokens))
			den += float64(b.Examples)
		} else {
			num += b.Sum
			den += float64(b.Tokens)
		}
	}
	if den == 0 {
		return math.NaN()
	}
	return num / den
}

// genBucket rounds generation inputs up so that a few compiled graphs serve every length.
const genBucket = 32

// Generate continues prompt greedily (argmax) for up to maxNewTokens tokens, stopping after
// the model emits stop (pass a negative stop to never stop early) or when the context is full.
// It returns the new tokens, without the stop token. Each token recomputes the whole sequence.
func (t *Trainer) Generate(prompt []int32, maxNewTokens int, stop int32) ([]int32, error) {
	if len(prompt) == 0 || len(prompt) > t.model.Context() {
		return nil, fmt.Errorf("train: generate: prompt of %d tokens, want 1 to %d (the model's context)", len(prompt), t.model.Context())
	}
	seq := slices.Clone(prompt)
	var out []int32
	for range maxNewTokens {
		n := len(seq)
		if n > t.model.Context() {
			break
		}
		length := min(t.model.Context(), (n+genBucket-1)/genBucket*genBucket)
		ids := make([]int32, length)
		mask := make([]int32, length)
		copy(ids, seq)
		for i := range n {
			mask[i] = 1
		}
		res, err := call(t.genExec,
			tensors.FromFlatDataAndDimensions(ids, 1, length),
			tensors.FromFlatDataAndDimensions(mask, 1, length),
			tensors.FromFlatDataAndDimensions([]int32{int32(n - 1)}, 1))
		if err != nil {
			return out, fmt.Errorf("train: generate at length %d: %w", n, err)
		}
		next := tensors.MustCopyFlatData[int32](res[0])[0]
		if next == stop {
			break
		}
		out = append(out, next)
		seq = append(seq, next)
	}
	return out, nil
}

// optimize ends a graph that computed grads of params. With the update in the graph it clips
// them, applies AdamW to the parameters and moments in place and returns [norm]. With the update
// on the host it returns [norm, clipping scale], then grads when withGrads, for applyOnHost.
func (t *Trainer) optimize(g *graph.Graph, params, grads []*graph.Node, hyper *graph.Node, withGrads bool) []*graph.Node {
	if t.hostKernel == nil {
		return []*graph.Node{t.clipAndUpdate(g, params, grads, hyper)}
	}
	norm := GlobalNorm(grads)
	out := []*graph.Node{norm, clipScale(norm, t.cfg.MaxGradNorm)}
	if withGrads {
		out = append(out, grads...)
	}
	return out
}

// clipAndUpdate clips grads by their global norm and applies one AdamW update to the
// parameters and their moments; it returns the norm before clipping.
func (t *Trainer) clipAndUpdate(g *graph.Graph, params, grads []*graph.Node, hyper *graph.Node) *graph.Node {
	grads, norm := ClipByGlobalNorm(grads, t.cfg.MaxGradNorm)
	for i, p := range t.params {
		mv, vv := t.moments[2*i], t.moments[2*i+1]
		newP, newM, newV := AdamWUpdate(params[i], grads[i], mv.NodeValue(g), vv.NodeValue(g), hyper,
			t.decay[i] && t.cfg.WeightDecay > 0)
		p.SetNodeValue(newP)
		mv.SetNodeValue(newM)
		vv.SetNodeValue(newV)
	}
	return norm
}

// applyOnHost applies the AdamW update of the step being run to the parameters and moments in
// place, with grads the step's gradients in parameter order and coef the clipping scale the
// graph computed; the step counter has not advanced yet.
func (t *Trainer) applyOnHost(grads []*tensors.Tensor, coef float32) error {
	hv := t.adamHyper().vector()
	h := hostAdamW{clip: t.cfg.MaxGradNorm > 0, coef: coef, negStepSize: hv[0], bc2Sqrt: hv[1], decayFactor: hv[2]}
	for i, p := range t.params {
		decay := t.decay[i] && t.cfg.WeightDecay > 0
		err := withFlat(grads[i], func(g []float32) error {
			return mutate([]*mlmodel.Variable{p, t.moments[2*i], t.moments[2*i+1]}, func(f [][]float32) error {
				pf, mf, vf := f[0], f[1], f[2]
				if len(g) != len(pf) || len(mf) != len(pf) || len(vf) != len(pf) {
					return fmt.Errorf("sizes differ: gradient %d, parameter %d, moments %d and %d", len(g), len(pf), len(mf), len(vf))
				}
				updateInParallel(t.hostKernel, pf, g, mf, vf, h, decay)
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("AdamW update of %q: %w", p.Path(), err)
		}
	}
	return nil
}

// withFlat calls fn with the float32 values of x without copying them: the device buffer's
// memory for a tensor a graph returned (on a backend whose buffers are Go memory), else the
// tensor's own.
func withFlat(x *tensors.Tensor, fn func([]float32) error) error {
	if x.IsOnAnyDevice() && !x.IsShared() {
		be, err := x.Backend()
		if err != nil {
			return err
		}
		dev, err := x.Device()
		if err != nil {
			return err
		}
		buf, err := x.Buffer(be, dev)
		if err != nil {
			return err
		}
		data, err := buf.Data()
		if err != nil {
			return err
		}
		flat, ok := data.([]float32)
		if !ok {
			return fmt.Errorf("values are %T, want []float32", data)
		}
		return fn(flat)
	}
	var ferr error
	if err := tensors.ConstFlatData(x, func(flat []float32) { ferr = fn(flat) }); err != nil {
		return err
	}
	return ferr
}

// mutate calls fn with the values of vs, in order, to change in place (shared with the backend
// where it can): each variable's values stay locked until fn returns.
func mutate(vs []*mlmodel.Variable, fn func([][]float32) error) error {
	flats := make([][]float32, 0, len(vs))
	var visit func(i int) error
	visit = func(i int) error {
		if i == len(vs) {
			return fn(flats)
		}
		value, err := vs[i].Value()
		if err != nil {
			return err
		}
		var ferr error
		if err := tensors.MutableFlatData(value, func(flat []float32) {
			flats = append(flats, flat)
			ferr = visit(i + 1)
		}); err != nil {
			return err
		}
		return ferr
	}
	return visit(0)
}

// finalize frees the tensors' memory now rather than at the next garbage collection.
func finalize(ts []*tensors.Tensor) {
	for _, x := range ts {
		x.FinalizeAll()
	}
}
