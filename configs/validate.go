package configs

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
)

// Allowed values of the enumerated keys.
var (
	vocabs    = []string{"compact", "full"}
	dtypes    = []string{"float32", "bfloat16"}
	formats   = []string{"sft", "instruction", "chat"}
	maskings  = []string{"pad", "eos_safe", "completion_only"}
	paddings  = []string{"longest", "max_length"}
	evalOns   = []string{"valid", "train"}
	backends  = []string{"cpu", "gpu"}
	schedules = []string{"auto", "parallel", "sequential"}
	averages  = []string{"tokens", "batches"}
	headlines = []string{"eval_loss", "answer_loss"}
	nameRegex = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)
)

// CheckName refuses an experiment name that could not name a folder of its own under runs/,
// reports/ or baselines/: it must start with a letter or digit and hold only letters, digits,
// '.', '_' and '-', so that no name reaches outside those folders (as "../x" would).
func CheckName(name string) error {
	if !nameRegex.MatchString(name) {
		return fmt.Errorf("%q is not a valid experiment name: use letters, digits, '.', '_' and '-', starting with a letter or digit (it names a folder)", name)
	}
	return nil
}

// Validate checks every value against its allowed range and returns all problems at once, as
// an ErrorList whose Problems name the key path (Load adds the file and line). It checks the
// sweep's shape but not the swept values, which Load checks run by run.
func (c Config) Validate() error {
	var errs ErrorList
	c.validate(&errs)
	c.Sweep.validateSweep(&errs)
	return errs.sorted().Err()
}

// validate checks the values of c (everything but the sweep).
func (c Config) validate(errs *ErrorList) {
	p := func(key string) []string { return strings.Split(key, ".") }
	oneOf := func(key, v string, allowed []string) {
		if !slices.Contains(allowed, v) {
			errs.add(p(key), "%q is not one of %s%s", v, strings.Join(allowed, ", "), suggestion([]string{v}, allowed))
		}
	}
	positive := func(key string, v int) {
		if v <= 0 {
			errs.add(p(key), "must be > 0, got %d", v)
		}
	}
	nonNegative := func(key string, v int) {
		if v < 0 {
			errs.add(p(key), "must be ≥ 0, got %d", v)
		}
	}
	nonNegativeFloat := func(key string, v float64) {
		if !(v >= 0) || math.IsInf(v, 0) {
			errs.add(p(key), "must be a finite number ≥ 0, got %v", v)
		}
	}

	if c.Name != "" {
		if err := CheckName(c.Name); err != nil {
			errs.add(p("name"), "%v", err)
		}
	}

	m := c.Model
	if m.Preset != "" {
		if _, ok := Preset(m.Preset); !ok {
			oneOf("model.preset", m.Preset, Presets())
		}
	}
	oneOf("model.vocab", m.Vocab, vocabs)
	oneOf("model.dtype", m.DType, dtypes)
	if m.Pretrained == "" {
		positive("model.d_model", m.DModel)
		positive("model.n_heads", m.NHeads)
		positive("model.n_layers", m.NLayers)
		positive("model.d_mlp", m.DMLP)
		positive("model.context", m.Context)
		if m.DModel > 0 && m.NHeads > 0 && m.DModel%m.NHeads != 0 {
			errs.add(p("model.n_heads"), "model.d_model %d is not divisible by n_heads %d", m.DModel, m.NHeads)
		}
		if m.Context > 0 && c.Data.MaxLength > m.Context {
			errs.add(p("data.max_length"), "%d exceeds model.context %d: the model has no positions beyond its context",
				c.Data.MaxLength, m.Context)
		}
	}

	if l := m.LoRA; l.Rank != 0 {
		if l.Rank < 0 {
			errs.add(p("model.lora.rank"), "must be ≥ 0 (0 turns LoRA off), got %d", l.Rank)
		} else if m.Pretrained == "" {
			errs.add(p("model.lora.rank"), "is %d but model.pretrained is empty: LoRA adapts a pretrained model; set model.pretrained or model.lora.rank: 0", l.Rank)
		}
		if !(l.Alpha > 0) || math.IsInf(l.Alpha, 0) {
			errs.add(p("model.lora.alpha"), "must be a finite number > 0, got %v", l.Alpha)
		}
		if !(l.Dropout >= 0 && l.Dropout < 1) {
			errs.add(p("model.lora.dropout"), "must be in [0, 1), got %v", l.Dropout)
		}
		if l.Dropout > 0 && c.Data.Packing {
			errs.add(p("model.lora.dropout"), "is %v with data.packing: the packed forward pass applies no adapter dropout; set model.lora.dropout: 0 or data.packing: false", l.Dropout)
		}
		if len(l.Targets) == 0 {
			errs.add(p("model.lora.targets"), "empty: name some of %s", strings.Join(LoRATargets(), ", "))
		}
		for i, tgt := range l.Targets {
			if !slices.Contains(LoRATargets(), tgt) {
				errs.add(p("model.lora.targets"), "%q is not a projection: want some of %s%s", tgt, strings.Join(LoRATargets(), ", "), suggestion([]string{tgt}, LoRATargets()))
			} else if slices.Contains(l.Targets[:i], tgt) {
				errs.add(p("model.lora.targets"), "%q is listed twice", tgt)
			}
		}
	}

	d := c.Data
	if d.Dataset == "" || d.Dataset == "builtin:" {
		errs.add(p("data.dataset"), `missing: give "builtin:NAME" or the path of a .jsonl, .json, .parquet or .arrow file`)
	}
	oneOf("data.format", d.Format, formats)
	oneOf("data.masking", d.Masking, maskings)
	positive("data.max_length", d.MaxLength)
	oneOf("data.padding", d.Padding, paddings)
	if !(d.ValidFraction >= 0 && d.ValidFraction < 1) {
		errs.add(p("data.valid_fraction"), "must be in [0, 1), got %v", d.ValidFraction)
	}
	nonNegative("data.split_seed", d.SplitSeed)
	oneOf("data.eval_on", d.EvalOn, evalOns)
	if d.EvalOn == "valid" && d.ValidFraction == 0 {
		errs.add(p("data.eval_on"), "is valid but data.valid_fraction is 0: hold out some data or set eval_on: train")
	}

	t := c.Train
	positive("train.max_steps", t.MaxSteps)
	if !(t.LearningRate > 0) || math.IsInf(t.LearningRate, 0) {
		errs.add(p("train.learning_rate"), "must be a finite number > 0, got %v", t.LearningRate)
	}
	positive("train.batch_size", t.BatchSize)
	nonNegative("train.warmup_steps", t.WarmupSteps)
	if t.MaxSteps > 0 && t.WarmupSteps > t.MaxSteps {
		errs.add(p("train.warmup_steps"), "%d exceeds train.max_steps %d", t.WarmupSteps, t.MaxSteps)
	}
	nonNegativeFloat("train.weight_decay", t.WeightDecay)
	nonNegativeFloat("train.max_grad_norm", t.MaxGradNorm)
	nonNegative("train.seed", t.Seed)
	positive("train.grad_accum", t.GradAccum)
	nonNegative("train.checkpoint_every", t.CheckpointEvery)
	nonNegativeFloat("train.divergence_factor", t.DivergenceFactor)
	if t.DivergenceFactor > 0 && t.DivergenceFactor <= 1 {
		errs.add(p("train.divergence_factor"), "must be > 1 (a multiple of the first step's loss) or 0 to disable the check, got %v", t.DivergenceFactor)
	}

	e := c.Eval
	nonNegative("eval.every", e.Every)
	positive("eval.batch_size", e.BatchSize)
	nonNegative("eval.samples", e.Samples)
	positive("eval.max_new_tokens", e.MaxNewTokens)
	oneOf("eval.loss_average", e.LossAverage, averages)
	oneOf("report.metric", c.Report.Metric, headlines)
	nonNegative("eval.generate_every", e.GenerateEvery)

	if c.Output.Dir == "" {
		errs.add(p("output.dir"), "missing: give the folder runs are written to")
	}
	oneOf("backend.name", c.Backend.Name, backends)
	oneOf("backend.schedule", c.Backend.Schedule, schedules)
	if c.Backend.Plugin != "" && c.Backend.Name != "gpu" {
		errs.add(p("backend.plugin"), "is set but backend.name is %q: the plugin is used only by the gpu backend", c.Backend.Name)
	}
	c.Cluster.validate(errs)
	for _, name := range sortedKeys(c.Regress.Tolerances) {
		tol := c.Regress.Tolerances[name]
		path := []string{"regress", "tolerances", name}
		if !slices.Contains(Metrics(), name) {
			errs.add(path, "unknown metric%s (metrics: %s)", suggestion([]string{name}, Metrics()), strings.Join(Metrics(), ", "))
		}
		for _, v := range []struct {
			key string
			val float64
		}{{"abs", tol.Abs}, {"rel", tol.Rel}} {
			if !(v.val >= 0) || math.IsInf(v.val, 0) {
				errs.add(append(slices.Clone(path), v.key), "must be a finite number ≥ 0, got %v", v.val)
			}
		}
	}
}

// describeValue renders a decoded YAML value and its type for messages.
func describeValue(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("the string %q", x)
	case int:
		return fmt.Sprintf("the integer %d", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case []any:
		return "a list"
	case map[string]any:
		return "a mapping"
	case nil:
		return "no value"
	default:
		return fmt.Sprintf("%v (%T)", x, x)
	}
}
