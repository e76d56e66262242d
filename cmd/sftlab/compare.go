package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/metrics"
	"github.com/sftlab/sftlab/report"
)

// compareOpts holds the flags of `sftlab compare`.
type compareOpts struct {
	*globalOpts
	a, b    string // run folders or experiment names
	runsDir string // --runs, for experiment names
}

// newCompareCmd builds `sftlab compare`.
func newCompareCmd(g *globalOpts) *cobra.Command {
	o := &compareOpts{globalOpts: g}
	cmd := &cobra.Command{
		Use:   "compare A B",
		Short: "Config and metric differences between two runs or two experiments",
		Long: `compare prints, as markdown tables, the config keys whose values differ between A and B and
every metric with both values and the change from A to B (like dvc metrics diff).

A and B are both run folders, or both experiment names (folders under --runs); an
experiment's metrics are means over its finished runs, and a config key its runs disagree on
shows all its values in braces.

  sftlab compare runs/sft_vs_instruction/3fa2c1 runs/sft_vs_instruction/9b0e77
  sftlab compare sft_vs_instruction classroom_exact`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.a, o.b = args[0], args[1]
			return compareRun(o)
		},
	}
	cmd.Flags().StringVar(&o.runsDir, "runs", "runs", "folder holding the experiments' run folders (for experiment names)")
	return cmd
}

// compareRun prints the comparison of the two arguments.
func compareRun(o *compareOpts) error {
	aRun, bRun := !isExperiment(o.runsDir, o.a), !isExperiment(o.runsDir, o.b)
	if aRun != bRun {
		return fmt.Errorf("compare %s %s: give two run folders or two experiment names under %s, not one of each",
			o.a, o.b, o.runsDir)
	}
	var a, b report.Side
	if aRun {
		ra, err := metrics.ReadRunDir(o.a)
		if err != nil {
			return err
		}
		rb, err := metrics.ReadRunDir(o.b)
		if err != nil {
			return err
		}
		for _, r := range []metrics.Run{ra, rb} {
			if r.Err != nil {
				o.logger().Warn("incomplete run", "dir", r.Dir, "err", r.Err)
			}
		}
		a, b = report.RunSide(ra), report.RunSide(rb)
	} else {
		var err error
		if a, err = experimentSide(o.runsDir, o.a); err != nil {
			return err
		}
		if b, err = experimentSide(o.runsDir, o.b); err != nil {
			return err
		}
	}
	fmt.Fprint(o.stdout, report.Compare(a, b))
	return nil
}

// isExperiment reports whether arg names an experiment: a plain name (no path separator) with a
// folder under runsDir. Anything else is taken for a run folder.
func isExperiment(runsDir, arg string) bool {
	if strings.ContainsRune(arg, filepath.Separator) || strings.ContainsRune(arg, '/') {
		return false
	}
	st, err := os.Stat(filepath.Join(runsDir, arg))
	return err == nil && st.IsDir()
}

// experimentSide reads an experiment's runs for a comparison.
func experimentSide(runsDir, name string) (report.Side, error) {
	runs, _, err := metrics.ReadExperiment(runsDir, name) // folders without a run.json hold no run to compare
	if err != nil {
		return report.Side{}, err
	}
	return report.ExperimentSide(name, runs)
}
