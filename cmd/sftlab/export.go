package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/export"
	"github.com/sftlab/sftlab/metrics"
)

// exportOpts holds the flags of `sftlab export`.
type exportOpts struct {
	*globalOpts
	name    string
	format  string
	runsDir string
	out     string
}

// newExportCmd builds `sftlab export`.
func newExportCmd(g *globalOpts) *cobra.Command {
	o := &exportOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "export NAME",
		Short: "Every run of an experiment as one long-form table: Parquet, CSV or Arrow",
		Long: `export reads every run of an experiment (runs/NAME/*/) and writes one table with a row per
run, step, split and metric:

  experiment, run, run_id, status, <one column per swept key: format, lr, seed, ...>,
  step, split, metric, value

Training rows have split empty (null) and metric epoch, train_loss, lr, grad_norm, tokens,
tokens_per_s or elapsed_s; evaluation rows have split valid or train and metric eval_loss,
token_accuracy or eval_tokens. DuckDB reads the Parquet file directly:

  duckdb -c "SELECT format, lr, avg(value) AS eval_loss FROM 'reports/lr_sweep/lr_sweep.parquet'
             WHERE metric = 'eval_loss' AND split = 'valid' GROUP BY ALL ORDER BY ALL"`,
		Example: `  sftlab export lr_sweep                      # reports/lr_sweep/lr_sweep.parquet
  sftlab export lr_sweep --format csv -o -    # CSV on standard output`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return exportRun(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.format, "format", "parquet", "parquet, csv or arrow (Arrow IPC file)")
	f.StringVar(&o.runsDir, "runs", "runs", "folder holding the experiments' run folders")
	f.StringVarP(&o.out, "out", "o", "", "output file, - for standard output (default reports/NAME/NAME.FORMAT)")
	return cmd
}

// exportRun writes the table of one experiment and says where it is.
func exportRun(o *exportOpts) error {
	format, err := export.ParseFormat(o.format)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	runs, skipped, err := metrics.ReadExperiment(o.runsDir, o.name)
	if err != nil {
		return err
	}
	log := o.logger()
	for _, s := range skipped {
		log.Warn("not a run: left out of the export", "err", s)
	}
	for _, r := range runs {
		if r.Err != nil {
			log.Warn("run folder incomplete: exported what could be read", "run", r.Info.Name, "err", r.Err)
		}
	}
	if o.out == "-" {
		rec := export.Table(runs)
		defer rec.Release()
		return export.Write(o.stdout, rec, format)
	}
	out := o.out
	if out == "" {
		out = filepath.Join("reports", o.name, o.name+format.Ext())
	}
	n, err := export.WriteFile(out, runs, format)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "%s: %d rows from %d runs\n", out, n, len(runs))
	return nil
}
