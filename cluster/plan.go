package cluster

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/sftlab/sftlab/configs"
)

// Plan maps an experiment's runs onto the tasks of one array job.
type Plan struct {
	// Experiment is the loaded experiment.
	Experiment *configs.Experiment
	// ExperimentPath is the experiment file as the tasks name it.
	ExperimentPath string
	// Sets are the --set overrides the experiment was loaded with; every task passes them on.
	Sets []string
	// Tasks is the number of tasks: one per run, or the number of shards asked for.
	Tasks int
}

// NewPlan plans exp as one task per run (shards 0) or as shards tasks, each training every
// shards-th run. path and sets are how the tasks load the experiment again.
func NewPlan(exp *configs.Experiment, path string, sets []string, shards int) (Plan, error) {
	n := len(exp.Runs)
	switch {
	case shards < 0:
		return Plan{}, fmt.Errorf("--shards %d: want a number of tasks ≥ 1, or 0 for one task per run", shards)
	case shards == 0:
		shards = n
	case shards > n:
		return Plan{}, fmt.Errorf("--shards %d: experiment %s has only %d runs: at most %d tasks would have work", shards, exp.Name, n, n)
	}
	return Plan{Experiment: exp, ExperimentPath: path, Sets: sets, Tasks: shards}, nil
}

// TaskRuns returns the runs that task i (0-based) trains: shard i+1 of Tasks.
func (p Plan) TaskRuns(i int) []configs.Run {
	var out []configs.Run
	for j, r := range p.Experiment.Runs {
		if j%p.Tasks == i {
			out = append(out, r)
		}
	}
	return out
}

// runArgs returns the arguments of `sftlab run` for every task, the shard left to the caller
// (it comes from the scheduler's task index), with extra --set overrides after the plan's own.
func (p Plan) runArgs(extraSets ...string) []string {
	args := []string{"run", p.ExperimentPath}
	for _, s := range append(append([]string{}, p.Sets...), extraSets...) {
		args = append(args, "--set", s)
	}
	return args
}

// comment describes the task → runs mapping, one "#" line per task.
func (p Plan) comment(indexVar string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s (%s), %d runs; task %s=i trains shard i+1 of %d:\n", p.Experiment.Name, p.ExperimentPath, len(p.Experiment.Runs), indexVar, p.Tasks)
	for i := range p.Tasks {
		var names []string
		for _, r := range p.TaskRuns(i) {
			names = append(names, r.Name+" ("+r.ID+")")
		}
		fmt.Fprintf(&b, "#   %d: %s\n", i, strings.Join(names, ", "))
	}
	return b.String()
}

// runsDir is the folder holding the experiment's run folders, absolute when workDir is given.
func (p Plan) runsDir(workDir string) string {
	dir := p.Experiment.Base.Output.Dir
	if !filepath.IsAbs(dir) && workDir != "" {
		dir = filepath.Join(workDir, dir)
	}
	return dir
}

// dnsLabel turns name into a lower-case DNS label (RFC 1123) of at most max characters, as
// Kubernetes object names and Slurm-friendly job names need.
func dnsLabel(name string, max int) string {
	s := strings.Trim(nonLabel.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-")
	}
	return s
}

var nonLabel = regexp.MustCompile(`[^a-z0-9-]+`)
