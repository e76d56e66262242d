package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/runner"
	"github.com/sftlab/sftlab/tokenizer"
)

// previewOpts holds the flags of `sftlab preview`.
type previewOpts struct {
	*globalOpts
	experiment string   // experiment file; empty when --data is used alone
	data       string   // --data: dataset spec; "" keeps the config's
	format     string   // --format; "" keeps the config's
	masking    string   // --masking; "" keeps the config's
	maxLength  int      // --max-length; 0 keeps the config's
	sets       []string // --set key=value
	n          int      // examples to show
	json       bool     // one JSON object per example
	noColor    bool
	color      bool // resolved from --no-color, --json, NO_COLOR and whether stdout is a terminal
}

// newPreviewCmd builds `sftlab preview`.
func newPreviewCmd(g *globalOpts) *cobra.Command {
	o := &previewOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "preview [EXPERIMENT.yaml]",
		Short: "Show exactly what the model trains on: rendered text, tokens and labels",
		Long: `preview formats, tokenizes, truncates and masks the first examples of a dataset exactly as
training does, and shows the rendered text (special tokens visible), every token with its id and
whether it carries a label ("train") or is masked to -100 ("mask"), the per-example counts and the
dataset's length distribution and truncation count.

The data settings come from an experiment file (one preview per distinct data setting among its
runs) or from --data; --format, --masking, --max-length and --set override either.

  sftlab preview experiments/sft_vs_instruction.yaml
  sftlab preview --data builtin:teaching_zh --format chat --masking completion_only -n 1
  sftlab preview --data train.jsonl --format instruction --masking pad --json | jq .labels`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				o.experiment = args[0]
			}
			o.color = !o.noColor && !o.json && os.Getenv("NO_COLOR") == "" && isTerminal(o.stdout)
			return previewRun(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.data, "data", "", `dataset: "builtin:teaching_zh" or a .jsonl, .json, .parquet or .arrow file`)
	f.StringVar(&o.format, "format", "", "format: sft, instruction or chat (default: the config's data.format)")
	f.StringVar(&o.masking, "masking", "", "masking: pad, eos_safe or completion_only (default: the config's data.masking)")
	f.IntVar(&o.maxLength, "max-length", 0, "truncate examples to this many tokens (default: the config's data.max_length)")
	f.StringArrayVar(&o.sets, "set", nil, "override a config key, as key=value (repeatable)")
	f.IntVarP(&o.n, "n", "n", 3, "number of examples to show")
	f.BoolVar(&o.json, "json", false, "print one JSON object per example (text, ids, labels) instead of the table")
	f.BoolVar(&o.noColor, "no-color", false, "plain markers instead of ANSI colours (also when stdout is not a terminal)")
	return cmd
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// previewSource is one distinct data setting to preview.
type previewSource struct {
	dataset, tokenizer string
	opts               datasets.EncodeOptions
}

// previewRun loads, encodes and prints the examples of every data setting o selects.
func previewRun(o *previewOpts) error {
	if o.n < 0 {
		return fmt.Errorf("-n %d: must be zero or more", o.n)
	}
	sources, err := previewSources(o)
	if err != nil {
		return err
	}
	for i, src := range sources {
		if err := previewOne(o, src, i > 0); err != nil {
			return err
		}
	}
	return nil
}

// previewSources resolves the data settings from the experiment file or the defaults, with the
// command-line overrides applied, keeping each distinct setting once, in run order.
func previewSources(o *previewOpts) ([]previewSource, error) {
	var cfgs []configs.Config
	if o.experiment != "" {
		exp, err := configs.Load(o.experiment, o.sets)
		if err != nil {
			return nil, err
		}
		for _, r := range exp.Runs {
			cfgs = append(cfgs, r.Config)
		}
	} else {
		if o.data == "" {
			return nil, errors.New("preview: give an experiment file or --data FILE")
		}
		cfg, err := configs.DefaultWithSets(o.sets)
		if err != nil {
			return nil, err
		}
		cfgs = append(cfgs, cfg)
	}
	var out []previewSource
	seen := map[previewSource]bool{}
	for _, c := range cfgs {
		d := c.Data
		// The tokenizer a run of c trains with (a pretrained model's own, when it has one).
		src := previewSource{dataset: d.Dataset, tokenizer: runner.TokenizerDir(c),
			opts: datasets.EncodeOptions{Format: d.Format, Masking: d.Masking, MaxLength: d.MaxLength}}
		if o.data != "" {
			src.dataset = o.data
		}
		if o.format != "" {
			src.opts.Format = o.format
		}
		if o.masking != "" {
			src.opts.Masking = o.masking
		}
		if o.maxLength != 0 {
			src.opts.MaxLength = o.maxLength
		}
		if !seen[src] {
			seen[src] = true
			out = append(out, src)
		}
	}
	return out, nil
}

// previewOne prints the preview of one data setting; sep adds a blank line before it.
func previewOne(o *previewOpts, src previewSource, sep bool) error {
	if err := src.opts.Validate(); err != nil {
		return fmt.Errorf("preview: %w", err)
	}
	recs, err := datasets.Load(src.dataset)
	if err != nil {
		return err
	}
	tok, err := tokenizer.Open(src.tokenizer)
	if err != nil {
		return err
	}
	exs, st, err := datasets.EncodeAll(tok, recs, src.opts)
	if err != nil {
		return fmt.Errorf("dataset %s: %w", src.dataset, err)
	}
	shown := exs[:min(o.n, len(exs))]
	if o.json {
		return datasets.WriteJSON(o.stdout, shown, src.opts)
	}
	if sep {
		fmt.Fprintln(o.stdout)
	}
	fmt.Fprintf(o.stdout, "data %s, format %s, masking %s, max_length %d: %d of %d examples\n\n",
		src.dataset, src.opts.Format, src.opts.Masking, src.opts.MaxLength, len(shown), len(exs))
	if len(shown) > 0 {
		if err := datasets.WritePreview(o.stdout, tok, shown, datasets.PreviewOptions{Color: o.color}); err != nil {
			return err
		}
		fmt.Fprintln(o.stdout)
	}
	return datasets.WriteStats(o.stdout, st, src.opts.MaxLength)
}
