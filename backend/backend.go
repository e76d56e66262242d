package backend

import (
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"runtime/debug"
	"strings"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend" // registers the pure-Go backend as "go"
)

// Backend names accepted by [Config.Name].
const (
	// CPU is GoMLX's pure-Go backend.
	CPU = "cpu"
	// GPU is GoMLX's XLA backend with a PJRT CUDA plugin.
	GPU = "gpu"
)

// Config selects and configures a backend. The zero value is the default "cpu" backend.
type Config struct {
	// Name is "cpu" (pure Go, the default when empty) or "gpu" (XLA with a PJRT plugin).
	Name string

	// Plugin is the PJRT plugin for the "gpu" backend (config key backend.plugin): a plugin
	// file (.so) or a directory holding one. When empty, the directories (or files) listed in
	// the PJRT_PLUGIN_LIBRARY_PATH environment variable are searched.
	Plugin string

	// DisableLayoutRewrite turns off the DotGeneral layout rewrite of the "cpu" backend, so
	// every DotGeneral reaches the Go backend as the model wrote it. Float32 results agree to
	// within rounding; the rewrite is faster on attention-shaped and gradient matrix
	// multiplications.
	DisableLayoutRewrite bool

	// DisableFusion makes the "cpu" backend refuse GoMLX's fused operations (Softmax, Gelu,
	// LayerNorm, Dense, attention), so GoMLX builds their decomposed form only. This is the
	// per-backend equivalent of GOMLX_FUSION=false: in training, fused ops run forward but
	// their gradients use the decomposed graph, so fusion computes both.
	DisableFusion bool

	// Schedule is how the "cpu" backend orders a graph's operations (config key
	// backend.schedule); the zero value is SchedulePar. It never changes results.
	Schedule Schedule
}

// Schedule is the order in which the Go backend runs the operations of a graph.
type Schedule int

const (
	// SchedulePar runs every operation as soon as its inputs are ready, several at once: the
	// fastest for small models, whose single operations cannot keep every core busy. Ready
	// operations run first-come first-served, so the ones that depend on no input of the step
	// (the zero tensors gradients are summed into; AdamW's weight-decay copies of the weights
	// where the update is in the graph) all run at its start and wait in memory for the rest.
	SchedulePar Schedule = iota
	// ScheduleSeq runs one operation at a time, in the order the graph was built (forward
	// pass, gradients), each operation using every core. Temporaries die soon after they are
	// made: on Qwen3-0.6B's full fine-tuning the peak memory is 0.5–0.7 GB lower than with
	// SchedulePar (2.5 GB while AdamW was part of the graph) at about the same speed, its matrix
	// products being large enough to use every core alone; small models and LoRA run slower.
	ScheduleSeq
)

// LargeModelParams is the parameter count from which a model counts as large: training that
// many parameters gets ScheduleSeq from [AutoSchedule], and a model that size the collector
// target of [LimitHeapGrowth].
const LargeModelParams = 100_000_000

// AutoSchedule is the schedule for training trained parameters: ScheduleSeq from
// LargeModelParams up, where their gradients and AdamW moments make memory what limits a run on
// a CPU, SchedulePar below.
func AutoSchedule(trained int) Schedule {
	if trained >= LargeModelParams {
		return ScheduleSeq
	}
	return SchedulePar
}

// LargeModelGCPercent is the Go collector's target (GOGC) while a large model trains, unless the
// GOGC environment variable is set; see [LimitHeapGrowth].
const LargeModelGCPercent = 10

// LimitHeapGrowth sets the Go collector's target to LargeModelGCPercent while a model of params
// parameters, LargeModelParams or more, trains, unless the GOGC environment variable is set,
// and returns the function that restores the previous target. Go lets the heap grow to
// (1 + GOGC/100) times what was live after the last collection: with the default 100 a 0.6B
// full fine-tune, about 10 GB live, could take 20 GB, and a LoRA run of it (2.4 GB of frozen
// weights) twice what it needs. Such a heap is nearly all weight and activation buffers without
// pointers, which the collector does not scan, so collecting more often costs little. The
// setting is the process's: one model trains at a time.
func LimitHeapGrowth(params int) (restore func()) {
	if params < LargeModelParams || os.Getenv("GOGC") != "" {
		return func() {}
	}
	old := debug.SetGCPercent(LargeModelGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// String implements fmt.Stringer with the names backend.schedule accepts.
func (s Schedule) String() string {
	if s == ScheduleSeq {
		return "sequential"
	}
	return "parallel"
}

// goConfig is the Go backend's configuration. Unlimited parallelism (-1): the default
// (2×GOMAXPROCS workers) deadlocks on 2 CPUs, with workers waiting on the pool they occupy.
const goParallelism = -1

// New returns the backend selected by cfg.
//
// For "cpu" it never downloads anything and writes nothing to stdout. For "gpu" it needs a
// binary built with -tags xla and a PJRT plugin (see [Config.Plugin]).
func New(cfg Config) (compute.Backend, error) {
	switch cfg.Name {
	case "", CPU:
		be, err := newGo(cfg.Schedule)
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", CPU, err)
		}
		// Always decorated, even with both options off: the decorator also hides the Go
		// backend's PreferConstantsForVariables capability (see decorated.Capabilities).
		return Decorate(be, DecorateOptions{
			RewriteDotGeneral: !cfg.DisableLayoutRewrite,
			DisableFusion:     cfg.DisableFusion,
			Schedule:          cfg.Schedule,
		}), nil
	case GPU:
		path, err := FindPlugin(cfg.Plugin, lookupPluginEnv())
		if err != nil {
			return nil, fmt.Errorf("backend %s: %w", GPU, err)
		}
		be, err := newXLA(path)
		if err != nil {
			return nil, fmt.Errorf("backend %s: plugin %s: %w", GPU, path, err)
		}
		return be, nil
	default:
		return nil, fmt.Errorf("backend %q: unknown backend name (key backend.name): want %q or %q",
			cfg.Name, CPU, GPU)
	}
}

// newGo creates the pure-Go backend with unlimited parallelism.
//
// The Go backend's "parallelism=N" option prints a line to stdout, which would corrupt
// machine-readable command output. So the backend is created with its defaults and the
// parallelism is set on its exported worker pool (Backend.Workers.SetMaxParallelism),
// reached by reflection because the backend type lives in an internal package.
func newGo(schedule Schedule) (compute.Backend, error) {
	var options []string
	if schedule == ScheduleSeq {
		options = []string{"ops_sequential", "creation_order"}
	}
	config := func(options ...string) string {
		if len(options) == 0 {
			return "go"
		}
		return "go:" + strings.Join(options, ",")
	}
	be, err := compute.NewWithConfig(config(options...))
	if err != nil {
		return nil, fmt.Errorf("creating the Go backend: %w", err)
	}
	if err := setGoParallelism(be, goParallelism); err != nil {
		// A GoMLX upgrade changed the backend's layout: fall back to the config option, which
		// works but prints a line to stdout.
		slog.Warn("backend: setting Go backend parallelism directly failed; using the config option",
			"err", err)
		be.Finalize()
		be, err = compute.NewWithConfig(config(append(options, fmt.Sprintf("parallelism=%d", goParallelism))...))
		if err != nil {
			return nil, fmt.Errorf("creating the Go backend with parallelism=%d: %w", goParallelism, err)
		}
	}
	want := fmt.Sprintf("parallelism=%d", goParallelism)
	if !strings.Contains(be.Description(), want) {
		return nil, fmt.Errorf("Go backend reports %q, want %s", be.Description(), want)
	}
	return be, nil
}

// setGoParallelism calls be.Workers.SetMaxParallelism(n) on the Go backend.
func setGoParallelism(be compute.Backend, n int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reflection on %T: %v", be, r)
		}
	}()
	v := reflect.ValueOf(be)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("unexpected Go backend type %T", be)
	}
	workers := v.Elem().FieldByName("Workers")
	if !workers.IsValid() || workers.IsNil() {
		return fmt.Errorf("Go backend %T has no Workers pool", be)
	}
	set := workers.MethodByName("SetMaxParallelism")
	if !set.IsValid() {
		return fmt.Errorf("Go backend worker pool %s has no SetMaxParallelism", workers.Type())
	}
	set.Call([]reflect.Value{reflect.ValueOf(n)})
	return nil
}

// HostMemory reports whether be keeps its buffers in plain Go memory that the host may read
// and write in place between executions: true for the pure-Go backend (decorated or not),
// false for XLA, whose buffers live on the device or in memory it manages.
func HostMemory(be compute.Backend) bool {
	return be != nil && be.Name() == goBackendName && be.HasSharedBuffers()
}

// goBackendName is what the pure-Go backend's Name returns (TestHostMemory notices a change).
const goBackendName = "Go Backend"
