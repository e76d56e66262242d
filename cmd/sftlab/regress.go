package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/regress"
	"github.com/sftlab/sftlab/runner"
)

// baselineOpts are the flags of `sftlab baseline`.
type baselineOpts struct {
	*globalOpts
	name string
	sets []string
	out  string
}

func newBaselineCmd(g *globalOpts) *cobra.Command {
	opts := &baselineOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "baseline NAME",
		Short: "Record an experiment's finished runs as the regression baseline",
		Long: `Baseline records, for every run of experiments/NAME.yaml, its eval_loss and answer_loss
(valid and train), train_loss (the mean over steps) and final train_loss, token accuracy, and the
exact match, ROUGE-L and chrF of its scored completions, with the provenance of the code that
produced them, into baselines/NAME.KERNELS.json: runs of the cpu backend are bit-reproducible
only with the same family of SIMD matmul kernels, so each family (avx2, avx512) has its own
baseline. Every run must have finished: run the experiment first.`,
		Example: `  sftlab run experiments/smoke.yaml && sftlab baseline smoke`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return baselineRun(opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.sets, "set", nil, "override a config key, as given to sftlab run (repeatable)")
	cmd.Flags().StringVarP(&opts.out, "out", "o", "", "baseline file (default baselines/NAME.KERNELS.json, e.g. smoke.avx2.json, for the SIMD kernels of this machine)")
	return cmd
}

func baselineRun(opts *baselineOpts) error {
	f, _ := findExperiment(opts.name)
	exp, err := f.load(opts.sets)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	var runs []regress.Run
	kernels := map[string]bool{}
	kernel := ""
	for _, run := range exp.Runs {
		info, err := metrics.ReadCurrentRunInfo(runner.RunDir(exp, run))
		if err != nil {
			return fmt.Errorf("baseline %s: run %s has not run: %w (run `sftlab run %s` first)", exp.Name, run.Name, err, exp.Path)
		}
		if k := regress.RunKernel(info.Provenance); k != "" {
			kernels[k], kernel = true, k
		}
		runs = append(runs, regress.FromRunInfo(info))
	}
	if len(kernels) > 1 {
		return fmt.Errorf("baseline %s: the runs were computed with different SIMD kernels (%s): delete the run folders and run the experiment again with one kind", exp.Name, strings.Join(slices.Sorted(maps.Keys(kernels)), ", "))
	}
	base, err := regress.Record(exp.Name, runs, time.Now())
	if err != nil {
		return err
	}
	out := opts.out
	if out == "" {
		out = f.inRoot(regress.File(regress.Dir, exp.Name, kernel))
	}
	if err := regress.Save(out, base); err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "recorded %d runs of %s in %s\n", len(runs), exp.Name, out)
	return nil
}

// regressOpts are the flags of `sftlab regress`.
type regressOpts struct {
	*globalOpts
	name     string
	sets     []string
	baseline string
	out      string
	strict   bool
	quiet    bool
}

func newRegressCmd(g *globalOpts) *cobra.Command {
	opts := &regressOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "regress NAME",
		Short: "Run an experiment and gate its metrics against the baseline",
		Long: `Regress runs experiments/NAME.yaml (reusing a finished run only when the same commit of clean
code produced it), compares every run with baselines/NAME.KERNELS.json (the baseline of this
machine's SIMD kernel family, e.g. smoke.avx512.json) metric by metric, prints a
markdown table (baseline, current, Δ, tolerance, verdict) and writes it to
reports/NAME/regress.md.

Tolerances come from the experiment's regress.tolerances (abs and rel per metric); a metric
without one must match exactly, which holds on the backend that recorded the baseline since
runs are bit-reproducible. The exit status is 1 when a metric is worse than its tolerance, a
baseline run is missing, a run failed or nothing could be compared; improvements beyond
tolerance are reported and fail only with --strict. It is 2 when the baseline is unusable
(no runs, a run without metrics or not finished, recorded for another experiment).`,
		Example: `  sftlab regress smoke
  sftlab regress smoke --set data.masking=pad     # check a proposed change`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.name = args[0]
			return regressRun(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.sets, "set", nil, "override a config key, e.g. --set train.learning_rate=1e-4 (repeatable)")
	cmd.Flags().StringVar(&opts.baseline, "baseline", "", "baseline file (default baselines/NAME.KERNELS.json, e.g. smoke.avx2.json, for the SIMD kernels of this machine)")
	cmd.Flags().StringVarP(&opts.out, "out", "o", "", "where to write the markdown table (default reports/NAME/regress.md)")
	cmd.Flags().BoolVar(&opts.strict, "strict", false, "fail on improvements beyond tolerance too (the baseline is stale)")
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "no progress bars or logs")
	return cmd
}

func regressRun(ctx context.Context, opts *regressOpts) error {
	f, _ := findExperiment(opts.name)
	exp, err := f.load(opts.sets)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	bpath := opts.baseline
	if bpath == "" {
		bpath = f.inRoot(regress.File(regress.Dir, exp.Name, regress.ExperimentKernel(exp)))
	}
	base, err := regress.LoadBaseline(bpath)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	if err := base.CheckExperiment(exp.Name); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("baseline %s: %w", bpath, err)}
	}
	if err := regress.CheckKernels(bpath, base, backend.SIMDKernel()); err != nil {
		return &exitError{code: 2, err: err}
	}
	wd, _ := os.Getwd()
	code := runner.DetectCodeVersion(ctx, wd)
	sum, err := runExperiment(ctx, opts.globalOpts, exp, runner.Options{Quiet: opts.quiet, Code: code, Reuse: runner.SameCodeAndKernels(code)})
	if err != nil {
		return err
	}
	var current []regress.Run
	for _, o := range sum.Outcomes {
		current = append(current, regress.FromRunInfo(o.Info))
	}
	res := regress.Compare(base, current, regress.Tolerances(exp.Base.Regress), opts.strict)
	md := res.Markdown()
	out := opts.out
	if out == "" {
		out = f.inRoot(filepath.Join(metrics.ReportDir(exp.Name), "regress.md"))
	}
	if err := atomicfile.WriteFile(out, []byte(md)); err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "\n%s\nwritten to %s\n", md, out)
	if res.Failed() {
		return &exitError{code: 1, err: fmt.Errorf("regression gate failed for %s:\n  %s", exp.Name, strings.Join(res.Problems(), "\n  "))}
	}
	return nil
}
