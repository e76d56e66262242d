package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/runner"
)

// runOpts are the flags of `sftlab run`.
type runOpts struct {
	*globalOpts
	path    string
	sets    []string
	shard   string
	held    string
	quiet   bool
	report  bool
	maxRuns int
}

func newRunCmd(g *globalOpts) *cobra.Command {
	opts := &runOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "run EXPERIMENT.yaml",
		Short: "Train every run of an experiment",
		Long: `Run trains each sweep point of an experiment file into output.dir/NAME/RUN_ID/
(config.yaml, metrics.arrow, eval.arrow, run.json, samples.jsonl).

The data of every run is checked and encoded before any starts, once per distinct data setting,
so a bad input stops the sweep at once; a run's folder is created when the run starts. A run that
already finished is skipped, an interrupted run resumes from its last checkpoint, and a run
that fails or diverges is recorded as such while the sweep goes on. The exit status is 0 when
every run finished, 1 when some failed and 2 when the experiment could not start.

Several processes, on one machine or on several sharing output.dir, may run the same
experiment: each run is claimed with a lock file (output.dir/NAME/.claims/RUN_ID.lock) while it
trains, so no run trains twice. A run another process holds is put off until the others are
done; then --held=wait (the default) waits for it and takes its result, --held=skip leaves it. With --report the report of the runs is
written afterwards (unless the experiment could not start), from the same resolved experiment,
so that a --set output.dir is honoured.`,
		Example: `  sftlab run experiments/sft_vs_instruction.yaml
  sftlab run experiments/lr_sweep.yaml --set train.max_steps=40 --shard 1/3`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.path = args[0]
			return runRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.sets, "set", nil, "override a config key, e.g. --set train.learning_rate=1e-4 (repeatable)")
	cmd.Flags().StringVar(&opts.shard, "shard", "", "run only shard K of N (every N-th run, starting at the K-th), e.g. 1/4")
	cmd.Flags().StringVar(&opts.held, "held", "wait", "runs another process is training: wait for them (wait) or leave them to it (skip)")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "no progress bars or logs, only the summary")
	cmd.Flags().BoolVar(&opts.report, "report", false, "then write the report of the runs, from the same resolved experiment (as sftlab report does)")
	cmd.Flags().IntVar(&opts.maxRuns, "max-runs", configs.DefaultMaxRuns, "refuse a sweep of more runs than this before expanding it (a negative value: no limit)")
	return cmd
}

// runRun loads the experiment, trains its runs and prints the sweep summary.
func runRun(ctx context.Context, opts *runOpts) error {
	exp, err := configs.LoadContext(ctx, opts.path, opts.sets, configs.LoadOptions{MaxRuns: opts.maxRuns})
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	shard, err := runner.ParseShard(opts.shard)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	held, err := runner.ParseHeldPolicy(opts.held)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	sum, err := runExperiment(ctx, opts.globalOpts, exp, runner.Options{Shard: shard, Held: held, Quiet: opts.quiet})
	var exit *exitError
	if opts.report && !(errors.As(err, &exit) && exit.code == 2) {
		// Runs that failed are reported too (and marked); the exit status still says they failed.
		ro := &reportOpts{globalOpts: opts.globalOpts}
		if rerr := writeReport(ro, exp.Name, exp.Base.Output.Dir, metrics.ReportDir(exp.Name)); rerr != nil && err == nil {
			err = rerr
		}
	}
	if err != nil {
		return err
	}
	if n := sum.Failed(); n > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d runs did not finish (see run.json in each run folder)", n, len(sum.Outcomes))}
	}
	return nil
}

// runExperiment trains exp's runs with opts (logger, progress and code version filled in here)
// and prints the sweep summary.
func runExperiment(ctx context.Context, g *globalOpts, exp *configs.Experiment, opts runner.Options) (runner.Summary, error) {
	if isTerminal(g.stderr) { // progress bars only on a terminal
		opts.Progress = g.stderr
	}
	if !opts.Quiet {
		opts.Logger = g.logger()
		logSweepOverrides(opts.Logger, exp)
	}
	if opts.Code == (runner.CodeVersion{}) {
		wd, _ := os.Getwd()
		opts.Code = runner.DetectCodeVersion(ctx, wd)
	}
	sum, err := runner.New(opts).Run(ctx, exp)
	if len(sum.Outcomes) > 0 {
		fmt.Fprintf(g.stdout, "%s: %d runs in %s\n\n%s", exp.Name, len(sum.Outcomes), runner.ExperimentDir(exp), sum.Table())
	}
	if err != nil {
		code := 1
		if len(sum.Outcomes) == 0 {
			code = 2
		}
		return sum, &exitError{code: code, err: err}
	}
	return sum, nil
}
