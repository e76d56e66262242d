// Package report turns an experiment's run folders into plots and markdown: training-loss,
// learning-rate and eval_loss plots (PNG and SVG, drawn with gonum/plot), comparison.md with
// per-run and per-configuration tables, and REPORT.md, a course report with the plots, tables,
// derived findings and sample completions. It reads only what package metrics reads from disk.
//
// Sort order: configurations are ordered by the swept keys in sweep order (numbers numerically,
// text alphabetically), then by seed. Columns whose value is the same in every row are hidden
// unless Options.AllColumns is set. Numbers have a fixed precision, listed in tables.go.
package report
