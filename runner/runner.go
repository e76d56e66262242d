package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
)

// Shard selects every N-th run of a sweep: the runs whose index i (0-based, in expansion order)
// satisfies i mod N == K−1. The zero value selects every run.
type Shard struct {
	K, N int
}

// ParseShard parses "K/N" with 1 ≤ K ≤ N.
func ParseShard(s string) (Shard, error) {
	if s == "" {
		return Shard{}, nil
	}
	ks, ns, ok := strings.Cut(s, "/")
	k, errK := strconv.Atoi(ks)
	n, errN := strconv.Atoi(ns)
	if !ok || errK != nil || errN != nil || n < 1 || k < 1 || k > n {
		return Shard{}, fmt.Errorf("--shard %q: want K/N with 1 ≤ K ≤ N, e.g. 1/4", s)
	}
	return Shard{K: k, N: n}, nil
}

// Selects reports whether the run at index i belongs to the shard.
func (s Shard) Selects(i int) bool {
	if s.N <= 1 {
		return true
	}
	return i%s.N == s.K-1
}

// Options tune how an experiment is run.
type Options struct {
	// Shard restricts the sweep to one shard.
	Shard Shard
	// Progress receives the progress bars (a terminal: the caller decides); nil or Quiet disables them.
	Progress io.Writer
	// Quiet turns progress bars off.
	Quiet bool
	// Logger receives what happens (runs skipped, started, finished, failed); nil discards.
	Logger *slog.Logger
	// Reuse decides whether a finished run found on disk is kept instead of trained again.
	// Nil keeps every finished run.
	Reuse func(info metrics.RunInfo) bool
	// Code is the version of the running code, recorded in each run's provenance.
	Code CodeVersion
	// AfterStep, when set, is called after each training step of each run, e.g. to follow
	// progress from another program.
	AfterStep func(run configs.Run, step int)
	// Held says what to do with a run that another process is training; "" is HeldWait.
	Held HeldPolicy
}

// Outcome is what happened to one run of the sweep.
type Outcome struct {
	Run     configs.Run
	Dir     string
	Info    metrics.RunInfo
	Skipped bool  // a finished run was found and reused
	Err     error // why the run failed, diverged or was interrupted
	// HeldBy names the process that held the run's claim when this one reached it, e.g.
	// "node3 pid 4121"; "" when this process claimed it at once.
	HeldBy string
	// Left is true when the run was held and left to its holder (HeldSkip): this process
	// neither trained nor waited for it, and Info is what its run.json said then.
	Left bool
}

// Summary is the result of running an experiment.
type Summary struct {
	Experiment string
	Outcomes   []Outcome
}

// Failed counts the runs that did not finish, leaving out those left to another process.
func (s Summary) Failed() int {
	n := 0
	for _, o := range s.Outcomes {
		if !o.Left && o.Info.Status != metrics.StatusOK {
			n++
		}
	}
	return n
}

// Table renders the sweep summary as a markdown table: one row per run with its status,
// losses and wall time. train_loss is the mean over the steps, as Hugging Face reports it.
func (s Summary) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "| run | id | status | train_loss | eval_loss | answer_loss | eval_loss (train) | wall |\n")
	fmt.Fprintf(&b, "|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, o := range s.Outcomes {
		status := string(o.Info.Status)
		switch {
		case o.Left:
			status = "left to " + o.HeldBy
		case o.Skipped && o.HeldBy != "":
			status += " (by " + o.HeldBy + ")"
		case o.Skipped:
			status += " (reused)"
		case o.HeldBy != "":
			status += " (after " + o.HeldBy + ")"
		}
		sm := o.Info.Summary
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %.1fs |\n", o.Run.Name, o.Run.ID, status,
			num(sm.TrainLoss), num(sm.EvalLoss), num(sm.AnswerLoss), num(sm.EvalLossTrain), o.Info.Provenance.WallS)
	}
	return b.String()
}

func num(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return strconv.FormatFloat(x, 'f', 4, 64)
}

// Runner runs experiments. It caches tokenizers and datasets across the runs of a sweep.
type Runner struct {
	opts  Options
	cache *inputCache
}

// New returns a Runner with opts.
func New(opts Options) *Runner {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Runner{opts: opts, cache: newInputCache()}
}

// RunDir is where run lands: output.dir/EXPERIMENT/RUN_ID.
func RunDir(exp *configs.Experiment, run configs.Run) string {
	return metrics.RunDir(run.Config.Output.Dir, exp.Name, run.ID)
}

// Run trains every run of exp that belongs to the shard. It first checks everything that would
// stop a run from starting (see prepareAll), so that a bad input stops the sweep before any
// training starts, with every problem reported. Then it trains each run in turn: a finished run
// is reused, an interrupted one resumes from its checkpoint, and a run that fails or diverges is
// recorded as such while the sweep goes on. A run's folder is created when the run starts. The
// error is non-nil only when nothing could start or ctx was cancelled, which Run honours at any
// time, preparation included; Summary.Failed counts failed runs.
func (r *Runner) Run(ctx context.Context, exp *configs.Experiment) (Summary, error) {
	sum := Summary{Experiment: exp.Name}
	var selected []configs.Run
	for i, run := range exp.Runs {
		if r.opts.Shard.Selects(i) {
			selected = append(selected, run)
		}
	}
	if len(selected) == 0 {
		return sum, fmt.Errorf("experiment %s: shard %d/%d selects none of its %d runs", exp.Name, r.opts.Shard.K, r.opts.Shard.N, len(exp.Runs))
	}
	if err := r.prepareAll(ctx, exp, selected); err != nil {
		return sum, err
	}
	outcomes, err := r.trainAll(ctx, exp, selected)
	sum.Outcomes = outcomes
	return sum, err
}

// prepareAll checks the runs before any trains: it prepares the data of each distinct data
// configuration once (see dataConfig; the runs share it through the cache), and checks once per
// output folder that the run folders can be created there. Every problem is reported, each
// naming the runs it stops. Nothing is created on disk, and the memory it takes grows with the
// number of data configurations, not of runs. When ctx is done it stops at once with ctx's
// error.
func (r *Runner) prepareAll(ctx context.Context, exp *configs.Experiment, runs []configs.Run) error {
	type group struct {
		d     dataConfig
		first string // the name of its first run
		runs  int
	}
	var groups []*group
	byConfig := map[dataConfig]*group{}
	var outDirs []string
	seenDir := map[string]bool{}
	for i, run := range runs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("experiment %s: stopped while preparing run %d of %d: %w", exp.Name, i+1, len(runs), err)
		}
		d := dataConfigOf(run.Config)
		g := byConfig[d]
		if g == nil {
			g = &group{d: d, first: run.Name}
			byConfig[d] = g
			groups = append(groups, g)
		}
		g.runs++
		if dir := metrics.ExperimentDir(run.Config.Output.Dir, exp.Name); !seenDir[dir] {
			seenDir[dir] = true
			outDirs = append(outDirs, dir)
		}
	}
	var errs []error
	for _, dir := range outDirs {
		if err := checkWritable(dir); err != nil {
			errs = append(errs, err)
		}
	}
	stopped := func(i int) error {
		return fmt.Errorf("experiment %s: stopped while preparing data configuration %d of %d: %w", exp.Name, i+1, len(groups), ctx.Err())
	}
	for i, g := range groups {
		if ctx.Err() != nil {
			return stopped(i)
		}
		start := time.Now()
		pd, err := r.data(ctx, g.d)
		if ctx.Err() != nil {
			return stopped(i)
		}
		if err != nil {
			if g.runs == 1 {
				errs = append(errs, fmt.Errorf("run %s: %w", g.first, err))
			} else {
				errs = append(errs, fmt.Errorf("run %s and %d more with the same data settings: %w", g.first, g.runs-1, err))
			}
			continue
		}
		r.opts.Logger.Info("data prepared", "dataset", g.d.dataset, "format", g.d.format, "masking", g.d.masking,
			"max_length", g.d.maxLength, "train_examples", len(pd.train), "valid_examples", len(pd.valid), "runs", g.runs,
			"seconds", round(time.Since(start).Seconds()))
	}
	return errors.Join(errs...)
}

// checkWritable checks that dir can be created, when a run starts, and written: the nearest of
// dir and the folders above it that exists must be a folder in which files can be created. It
// creates nothing that it does not remove.
func checkWritable(dir string) error {
	existing := dir
	for {
		info, err := os.Stat(existing)
		if err == nil {
			if !info.IsDir() {
				return fmt.Errorf("output directory %s cannot be created: %s is not a folder (set output.dir to a writable folder)", dir, existing)
			}
			break
		}
		parent := filepath.Dir(existing)
		// ENOTDIR: a file stands where a folder above should be, which the loop then finds.
		missing := errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
		if !missing || parent == existing {
			return fmt.Errorf("output directory %s cannot be created: %w (set output.dir to a writable folder)", dir, unwrapPathError(err))
		}
		existing = parent
	}
	f, err := os.CreateTemp(existing, ".write-test-*")
	if err != nil {
		what := "is not writable"
		if existing != dir {
			what = "cannot be created in " + existing
		}
		return fmt.Errorf("output directory %s %s: %w (set output.dir to a writable folder)", dir, what, unwrapPathError(err))
	}
	name := f.Name()
	if err := errors.Join(f.Close(), os.Remove(name)); err != nil {
		return fmt.Errorf("output directory %s: remove the write test %s: %w", dir, name, err)
	}
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// now is the clock; a variable of the Runner would do, but wall-clock values never enter
// results, so the real clock is used everywhere.
func now() time.Time { return time.Now().UTC() }

// ExperimentDir is where the runs of exp land: output.dir/NAME.
func ExperimentDir(exp *configs.Experiment) string {
	return metrics.ExperimentDir(exp.Base.Output.Dir, exp.Name)
}
