package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/report"
)

// reportOpts holds the flags of `sftlab report`.
type reportOpts struct {
	*globalOpts
	name       string   // experiment name or file: runs are read from runsDir/NAME
	runsDir    string   // --runs; empty means the experiment's output.dir
	sets       []string // --set, applied to the experiment file before output.dir is read
	outDir     string   // --out; empty means reports/NAME
	allColumns bool     // --all-columns
	baseline   string   // --baseline
}

// newReportCmd builds `sftlab report`.
func newReportCmd(g *globalOpts) *cobra.Command {
	o := &reportOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "report NAME|EXPERIMENT.yaml",
		Short: "Plots, comparison tables and a course report from an experiment's runs",
		Long: `report reads every run of an experiment (output.dir/NAME/*/, output.dir as experiments/NAME.yaml
and --set resolve it: run.json, metrics.arrow, eval.arrow, config.yaml, samples.jsonl) and writes
reports/NAME/:

  loss_curves.png/.svg         training loss per step, mean and min-max band over seeds per format
  lr_schedule.png/.svg         the learning rate per step
  eval_loss_vs_lr.png/.svg     eval_loss against the learning rate (when it is swept)
  eval_loss_vs_steps.png/.svg  eval_loss against max_steps (when it is swept)
  eval_loss_bars.png/.svg      final eval_loss per configuration, unfinished runs marked
  comparison.md                per-configuration (mean ± std over seeds) and per-run tables
  REPORT.md                    the course report: description, findings, what the losses score,
                               plots, tables, samples

With report.metric: answer_loss the three eval_loss plots are answer_loss_vs_lr, _vs_steps and
answer_loss_bars, and the findings and Δ columns use answer_loss. Runs that failed or diverged
are shown and marked. Table columns whose value is the same in every run are hidden unless
--all-columns is given. The Δ columns compare against the experiment's report.baseline (e.g.
"format=sft"), or --baseline.

  sftlab report sft_vs_instruction
  sftlab report lr_sweep --all-columns --out /tmp/lr_report`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return reportRun(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.runsDir, "runs", "", "folder holding the experiments' run folders (default: the experiment file's output.dir, else runs)")
	f.StringArrayVar(&o.sets, "set", nil, "override a config key of the experiment file, as given to sftlab run (repeatable)")
	f.StringVar(&o.outDir, "out", "", "output folder (default reports/NAME)")
	f.BoolVar(&o.allColumns, "all-columns", false, "show table columns whose value is the same in every run")
	f.StringVar(&o.baseline, "baseline", "", `baseline for the Δ columns: key=value pairs or a run name (default: the experiment's report.baseline)`)
	return cmd
}

// reportRun writes the report of one experiment and prints where it is. The runs are read from
// the output.dir that the experiment file (experiments/NAME.yaml, with --set) resolves to, so
// the report reads the folder the runs were written to; without an experiment file (runs kept
// from an experiment since deleted), from runs/NAME.
func reportRun(o *reportOpts) error {
	name, runsDir, out := o.name, o.runsDir, o.outDir
	if f, ok := findExperiment(name); ok {
		exp, err := f.load(o.sets)
		if err != nil {
			return &exitError{code: 2, err: err}
		}
		name = exp.Name
		if runsDir == "" {
			runsDir = exp.Base.Output.Dir
		}
		if out == "" {
			out = f.inRoot(metrics.ReportDir(name))
		}
	} else if len(o.sets) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("report %s: --set needs the experiment file %s, which does not exist", name, experimentPath(name))}
	}
	// The name is a folder under the runs folder and under reports/: validated as run
	// validates it, so that "../x" reaches outside neither.
	if err := configs.CheckName(name); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("report: %w; read runs from elsewhere with --runs and write elsewhere with --out", err)}
	}
	if runsDir == "" {
		runsDir = configs.Default().Output.Dir
	}
	if out == "" {
		out = metrics.ReportDir(name)
	}
	return writeReport(o, name, runsDir, out)
}

// writeReport writes the report of experiment name from the runs in runsDir/name into out.
func writeReport(o *reportOpts, name, runsDir, out string) error {
	e, files, err := report.Generate(runsDir, name, out, report.Options{AllColumns: o.allColumns, Baseline: o.baseline})
	if err != nil {
		return err
	}
	log := o.logger()
	for _, n := range e.Notes {
		log.Warn(n)
	}
	for _, f := range files {
		log.Debug("wrote", "file", f)
	}
	for _, line := range e.Findings() {
		fmt.Fprintln(o.stdout, "- "+line)
	}
	fmt.Fprintf(o.stdout, "report: %s (%d files)\n", filepath.Join(out, report.ReportFile), len(files))
	return nil
}
