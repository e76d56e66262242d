package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/runner"
)

// runOpts are the flags of `sftlab run`.
type runOpts struct {
	*globalOpts
	path  string
	sets  []string
	shard string
	quiet bool
}

func newRunCmd(g *globalOpts) *cobra.Command {
	opts := &runOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "run EXPERIMENT.yaml",
		Short: "Train every run of an experiment",
		Long: `Run trains each sweep point of an experiment file into output.dir/NAME/RUN_ID/
(config.yaml, metrics.arrow, eval.arrow, run.json, samples.jsonl).

Every run is prepared before any starts, so a bad input stops the sweep at once. A run that
already finished is skipped, an interrupted run resumes from its last checkpoint, and a run
that fails or diverges is recorded as such while the sweep goes on. The exit status is 0 when
every run finished, 1 when some failed and 2 when the experiment could not start.`,
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
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "no progress bars or logs, only the summary")
	return cmd
}

// runRun loads the experiment, trains its runs and prints the sweep summary.
func runRun(ctx context.Context, opts *runOpts) error {
	exp, err := configs.Load(opts.path, opts.sets)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	shard, err := runner.ParseShard(opts.shard)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	sum, err := runExperiment(ctx, opts.globalOpts, exp, runner.Options{Shard: shard, Quiet: opts.quiet})
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
	opts.Progress = g.stderr
	if !opts.Quiet {
		opts.Logger = g.logger()
		logSweepOverrides(opts.Logger, exp)
	}
	wd, _ := os.Getwd()
	opts.Code = runner.DetectCodeVersion(ctx, wd)
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
