package main

import (
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// globalOpts holds what every subcommand shares: the standard streams and the logger.
type globalOpts struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	verbose        bool
}

// logger returns the slog logger for commands, writing to stderr.
func (g *globalOpts) logger() *slog.Logger {
	level := slog.LevelInfo
	if g.verbose {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.stderr, &slog.HandlerOptions{Level: level}))
}

// newRootCmd builds the sftlab command tree.
func newRootCmd(g *globalOpts) *cobra.Command {
	root := &cobra.Command{
		Use:   "sftlab",
		Short: "Reproducible fine-tuning experiments in Go",
		Long: `sftlab trains small causal language models on instruction data with GoMLX,
sweeping formats, masking, learning rates, steps and seeds, and reports the results.

  sftlab run experiments/sft_vs_instruction.yaml   train every run of an experiment
  sftlab report sft_vs_instruction                 plots and tables from runs/NAME
  sftlab submit slurm lr_sweep --submit             the sweep as a Slurm job array
  sftlab tokenize < text.txt                       token ids with the Qwen3 tokenizer`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "log debug messages")
	for _, newCmd := range []func(*globalOpts) *cobra.Command{
		// Subcommands, one file each.
		newRunCmd,
		newBaselineCmd,
		newRegressCmd,
		newTokenizeCmd,
		newReportCmd,
		newCompareCmd,
		newPreviewCmd,
		newGenerateCmd,
		newSubmitCmd,
		newExportCmd,
		newMergeCmd,
	} {
		root.AddCommand(newCmd(g))
	}
	return root
}
