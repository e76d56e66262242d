package configs

import (
	"slices"
)

// Config is one fully resolved experiment configuration. The yaml tags are the key names of
// the experiment files; Default holds every default value.
type Config struct {
	// Name names the experiment; runs land in output.dir/NAME/RUN_ID. It defaults to the
	// experiment file's base name and is never inherited from a base.
	Name string `yaml:"name"`
	// Description is free text explaining what is compared and why, used by the report.
	Description string        `yaml:"description"`
	Model       ModelConfig   `yaml:"model"`
	Data        DataConfig    `yaml:"data"`
	Train       TrainConfig   `yaml:"train"`
	Eval        EvalConfig    `yaml:"eval"`
	Output      OutputConfig  `yaml:"output"`
	Backend     BackendConfig `yaml:"backend"`
	Report      ReportConfig  `yaml:"report"`
	Regress     RegressConfig `yaml:"regress,omitempty"`
	// Cluster holds the resources and scheduler settings of `sftlab submit`; it does not enter
	// the run ID.
	Cluster ClusterConfig `yaml:"cluster"`
	// Sweep declares the runs of an experiment; it is empty in each expanded Run's Config.
	Sweep Sweep `yaml:"sweep,omitempty"`
}

// ModelConfig describes the model: a named size preset or explicit dimensions, or a
// pretrained directory.
type ModelConfig struct {
	// Preset names a row of the size table (see Presets); "" means the dimensions are given
	// explicitly. Setting it sets the dimensions below (see the package doc for precedence).
	Preset string `yaml:"preset"`
	// Vocab is "compact" (only the token ids seen in the dataset, remapped) or "full" (the
	// tokenizer's whole vocabulary).
	Vocab         string `yaml:"vocab"`
	DModel        int    `yaml:"d_model"`
	NHeads        int    `yaml:"n_heads"`
	NLayers       int    `yaml:"n_layers"`
	DMLP          int    `yaml:"d_mlp"`
	Context       int    `yaml:"context"`
	TieEmbeddings bool   `yaml:"tie_embeddings"`
	// Pretrained is a directory with a pretrained model; "" trains from scratch. When set, the
	// model's dimensions come from that directory and the fields above are not used.
	Pretrained string `yaml:"pretrained"`
	// DType is the parameter type: "float32" or "bfloat16".
	DType string `yaml:"dtype"`
	// LoRA trains low-rank adapters on a frozen pretrained model instead of all of its weights.
	LoRA LoRAConfig `yaml:"lora"`
}

// LoRAConfig sets the low-rank adapters of a pretrained model, with the meaning of PEFT's
// LoraConfig (r, lora_alpha, lora_dropout, target_modules). Rank 0 turns LoRA off: every
// weight trains.
type LoRAConfig struct {
	// Rank is the adapters' rank r; 0 fine-tunes every weight instead.
	Rank int `yaml:"rank"`
	// Alpha scales the adapters' output by Alpha/Rank.
	Alpha float64 `yaml:"alpha"`
	// Dropout is the dropout probability on the adapters' input, in training only.
	Dropout float64 `yaml:"dropout"`
	// Targets names the adapted projections: q_proj, k_proj, v_proj, o_proj, gate_proj,
	// up_proj, down_proj.
	Targets []string `yaml:"targets"`
}

// LoRATargets are the projections model.lora.targets may name, in a layer's order.
func LoRATargets() []string {
	return []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
}

// DataConfig selects the dataset, how each example is rendered, masked and padded, and the
// train/valid split.
type DataConfig struct {
	// Dataset is "builtin:NAME" or the path of a .jsonl/.json/.parquet/.arrow file.
	Dataset string `yaml:"dataset"`
	// Format is "sft", "instruction" or "chat".
	Format string `yaml:"format"`
	// Masking is "pad", "eos_safe" or "completion_only".
	Masking   string `yaml:"masking"`
	MaxLength int    `yaml:"max_length"`
	// Truncate allows examples longer than MaxLength, cutting their end (and their EOS); when
	// false such an example is an error, so that none loses its end silently. The classroom
	// script truncated (truncation=True).
	Truncate bool `yaml:"truncate"`
	// Padding is "longest" (per batch) or "max_length".
	Padding string `yaml:"padding"`
	// Packing places several examples per row, up to MaxLength tokens, with attention kept
	// within each example and positions restarting per example: a batch still holds
	// train.batch_size examples, so the loss is the unpacked one and only padding shrinks.
	Packing bool `yaml:"packing"`
	// ValidFraction is the held-out share of the dataset, in [0, 1).
	ValidFraction float64 `yaml:"valid_fraction"`
	SplitSeed     int     `yaml:"split_seed"`
	// EvalOn is the split that eval_loss is measured on: "valid" or "train" (the classroom
	// script's choice).
	EvalOn string `yaml:"eval_on"`
	// Tokenizer is a directory with tokenizer.json; "" means the built-in Qwen3 tokenizer.
	Tokenizer string `yaml:"tokenizer"`
}

// TrainConfig holds the optimisation settings, with the meaning of Hugging Face's
// TrainingArguments of the same names.
type TrainConfig struct {
	MaxSteps     int     `yaml:"max_steps"`
	LearningRate float64 `yaml:"learning_rate"`
	BatchSize    int     `yaml:"batch_size"`
	WarmupSteps  int     `yaml:"warmup_steps"`
	WeightDecay  float64 `yaml:"weight_decay"`
	// MaxGradNorm clips the global gradient norm; 0 disables clipping.
	MaxGradNorm float64 `yaml:"max_grad_norm"`
	Seed        int     `yaml:"seed"`
	// GradAccum is the number of micro-batches accumulated per optimiser step.
	GradAccum int `yaml:"grad_accum"`
	// CheckpointEvery is the checkpoint interval in steps; 0 writes no intermediate checkpoint.
	CheckpointEvery int `yaml:"checkpoint_every"`
	// DivergenceFactor ends a run as diverged when a step's training loss exceeds this
	// multiple of the first step's loss; 0 disables the check (NaN or Inf always ends it).
	DivergenceFactor float64 `yaml:"divergence_factor"`
}

// EvalConfig sets when and how evaluation runs.
type EvalConfig struct {
	// Every is the eval interval in steps; 0 evaluates only at the end.
	Every     int `yaml:"every"`
	BatchSize int `yaml:"batch_size"`
	// Samples is the number of held-out prompts completed greedily after training (in batches
	// of BatchSize), scored against their references (exact match, ROUGE-L, chrF) and written
	// to samples.jsonl; 0 generates none.
	Samples int `yaml:"samples"`
	// MaxNewTokens bounds each completion, and with Samples the time generation takes.
	MaxNewTokens int `yaml:"max_new_tokens"`
	// LossAverage is how eval_loss and answer_loss average the token losses: "tokens" (every
	// scored token weighs the same) or "batches" (Hugging Face Trainer.evaluate: the mean of the
	// per-batch mean losses, weighted by the examples in each batch of BatchSize).
	LossAverage string `yaml:"loss_average"`
	// GenerateEvery also completes and scores the Samples prompts every N steps during
	// training; 0 does so only at the end.
	GenerateEvery int `yaml:"generate_every"`
}

// OutputConfig says where runs are written.
type OutputConfig struct {
	// Dir holds one folder per experiment: Dir/NAME/RUN_ID.
	Dir string `yaml:"dir"`
}

// BackendConfig selects the compute backend.
type BackendConfig struct {
	// Name is "cpu" (pure Go) or "gpu" (XLA with a PJRT plugin).
	Name string `yaml:"name"`
	// Plugin is the path of the PJRT plugin for the gpu backend.
	Plugin string `yaml:"plugin"`
	// Schedule is how the cpu backend orders a step's operations: "parallel" (several at once,
	// fastest for small models), "sequential" (one at a time in build order, each using every
	// core: gigabytes less peak memory for large models) or "auto" (sequential from 100 M
	// parameters). Results are the same either way.
	Schedule string `yaml:"schedule"`
}

// ReportConfig tunes the report.
type ReportConfig struct {
	// Baseline is the run name or group (a selector such as "format=sft", see Config.Matches)
	// that the report's Δ column compares against.
	Baseline string `yaml:"baseline"`
	// OnlyChanged shows only the columns whose values differ between runs.
	OnlyChanged bool `yaml:"only_changed"`
	// Metric is the headline metric the findings, Δ columns and bar chart use: "eval_loss" (the
	// positions the masking trains) or "answer_loss" (response tokens and closing EOS only).
	Metric string `yaml:"metric"`
}

// RegressConfig holds the tolerances of the regression gate.
type RegressConfig struct {
	// Tolerances maps a metric name (see Metrics) to its allowed deviation. A metric without an
	// entry must match exactly.
	Tolerances map[string]Tolerance `yaml:"tolerances,omitempty"`
}

// Tolerance is an allowed deviation: a value passes when |current − baseline| ≤ Abs or
// ≤ Rel·|baseline|.
type Tolerance struct {
	Abs float64 `yaml:"abs"`
	Rel float64 `yaml:"rel"`
}

// Sweep declares the runs of an experiment: the Cartesian product of the Grid axes, crossed
// with the Zip axis (its lists advance together) and with the Seeds.
type Sweep struct {
	// Grid maps a key path (e.g. "data.format") to the values it takes.
	Grid map[string][]any `yaml:"grid,omitempty"`
	// Zip maps key paths to lists of one common length, advanced together.
	Zip map[string][]any `yaml:"zip,omitempty"`
	// Seeds sets train.seed.
	Seeds []int `yaml:"seeds,omitempty"`
}

// Empty reports whether the sweep declares no axis.
func (s Sweep) Empty() bool { return len(s.Grid) == 0 && len(s.Zip) == 0 && len(s.Seeds) == 0 }

// Metrics are the metric names the regression gate knows, in report order.
func Metrics() []string {
	return []string{"eval_loss", "eval_loss_train", "answer_loss", "answer_loss_train", "train_loss", "final_train_loss", "token_accuracy", "exact_match", "rouge_l", "chrf"}
}

// ModelSize is the set of dimensions a model preset fixes.
type ModelSize struct {
	DModel, NHeads, NLayers, DMLP, Context int
}

// presetTable is the model size table; presets are data, the model package holds the builder.
// t1 and t2 are the benchmark sizes measured against the PyTorch peer.
var presetTable = []struct {
	name string
	size ModelSize
}{
	{"tiny", ModelSize{DModel: 128, NHeads: 4, NLayers: 2, DMLP: 512, Context: 512}},
	{"small", ModelSize{DModel: 256, NHeads: 8, NLayers: 4, DMLP: 1024, Context: 512}},
	{"t1", ModelSize{DModel: 128, NHeads: 4, NLayers: 2, DMLP: 512, Context: 128}},
	{"t2", ModelSize{DModel: 256, NHeads: 4, NLayers: 4, DMLP: 1024, Context: 256}},
}

// Presets returns the names of the model size presets, sorted.
func Presets() []string {
	names := make([]string, len(presetTable))
	for i, p := range presetTable {
		names[i] = p.name
	}
	slices.Sort(names)
	return names
}

// Preset returns the dimensions of a named model preset.
func Preset(name string) (ModelSize, bool) {
	for _, p := range presetTable {
		if p.name == name {
			return p.size, true
		}
	}
	return ModelSize{}, false
}

// WithSize returns m with the dimensions of s.
func (m ModelConfig) WithSize(s ModelSize) ModelConfig {
	m.DModel, m.NHeads, m.NLayers, m.DMLP, m.Context = s.DModel, s.NHeads, s.NLayers, s.DMLP, s.Context
	return m
}

// Default returns the default configuration: the classroom script's training settings
// (30 steps, learning rate 5e-5, batch 2, warmup 3, max_length 512 with max_length padding,
// pad = eos masking, seed 42, no weight decay, clipping at 1.0) on the tiny model preset.
// It is the only place defaults are written down.
func Default() Config {
	tiny, _ := Preset("tiny")
	return Config{
		Model: ModelConfig{
			Preset: "tiny",
			Vocab:  "compact",
			DType:  "float32",
			LoRA: LoRAConfig{
				Rank:    0,
				Alpha:   16,
				Dropout: 0,
				Targets: []string{"q_proj", "k_proj", "v_proj", "o_proj"},
			},
		}.WithSize(tiny),
		Data: DataConfig{
			Dataset:       "builtin:teaching_zh",
			Format:        "instruction",
			Masking:       "pad",
			MaxLength:     512,
			Truncate:      false,
			Padding:       "max_length",
			Packing:       false,
			ValidFraction: 0.2,
			SplitSeed:     42,
			EvalOn:        "valid",
		},
		Train: TrainConfig{
			MaxSteps:         30,
			LearningRate:     5e-5,
			BatchSize:        2,
			WarmupSteps:      3,
			WeightDecay:      0,
			MaxGradNorm:      1.0,
			Seed:             42,
			GradAccum:        1,
			CheckpointEvery:  0,
			DivergenceFactor: 4,
		},
		Eval: EvalConfig{
			Every:         0,
			BatchSize:     8,
			Samples:       16,
			MaxNewTokens:  64,
			GenerateEvery: 0,
			LossAverage:   "tokens",
		},
		Output:  OutputConfig{Dir: "runs"},
		Backend: BackendConfig{Name: "cpu", Schedule: "auto"},
		Report:  ReportConfig{OnlyChanged: true, Metric: "eval_loss"},
		Cluster: defaultCluster(),
	}
}
