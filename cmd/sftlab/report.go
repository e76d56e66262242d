package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/report"
)

// reportOpts holds the flags of `sftlab report`.
type reportOpts struct {
	*globalOpts
	name       string // experiment name: runs are read from runsDir/name
	runsDir    string // --runs
	outDir     string // --out; empty means reports/NAME
	allColumns bool   // --all-columns
	baseline   string // --baseline
}

// newReportCmd builds `sftlab report`.
func newReportCmd(g *globalOpts) *cobra.Command {
	o := &reportOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "report NAME",
		Short: "Plots, comparison tables and a course report from an experiment's runs",
		Long: `report reads every run of an experiment (runs/NAME/*/: run.json, metrics.arrow, eval.arrow,
config.yaml, samples.jsonl) and writes reports/NAME/:

  loss_curves.png/.svg         training loss per step, mean and min-max band over seeds per format
  lr_schedule.png/.svg         the learning rate per step
  eval_loss_vs_lr.png/.svg     eval_loss against the learning rate (when it is swept)
  eval_loss_vs_steps.png/.svg  eval_loss against max_steps (when it is swept)
  eval_loss_bars.png/.svg      final eval_loss per configuration, unfinished runs marked
  comparison.md                per-configuration (mean ± std over seeds) and per-run tables
  REPORT.md                    the course report: description, findings, plots, tables, samples

Runs that failed or diverged are shown and marked. Table columns whose value is the same in every
run are hidden unless --all-columns is given. The Δ columns compare against the experiment's
report.baseline (e.g. "format=sft"), or --baseline.

  sftlab report sft_vs_instruction
  sftlab report lr_sweep --all-columns --out /tmp/lr_report`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return reportRun(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.runsDir, "runs", "runs", "folder holding the experiments' run folders")
	f.StringVar(&o.outDir, "out", "", "output folder (default reports/NAME)")
	f.BoolVar(&o.allColumns, "all-columns", false, "show table columns whose value is the same in every run")
	f.StringVar(&o.baseline, "baseline", "", `baseline for the Δ columns: key=value pairs or a run name (default: the experiment's report.baseline)`)
	return cmd
}

// reportRun writes the report of one experiment and prints where it is.
func reportRun(o *reportOpts) error {
	// The name is a folder under --runs and under reports/: validated as run validates it.
	if err := configs.CheckName(o.name); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("report: %w; read runs from elsewhere with --runs and write elsewhere with --out", err)}
	}
	out := o.outDir
	if out == "" {
		out = filepath.Join("reports", o.name)
	}
	e, files, err := report.Generate(o.runsDir, o.name, out, report.Options{AllColumns: o.allColumns, Baseline: o.baseline})
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
