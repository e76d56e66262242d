package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sftlab/sftlab/cluster"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/atomicfile"
)

// submitOpts are the flags shared by `sftlab submit slurm` and `sftlab submit k8s`.
type submitOpts struct {
	*globalOpts
	name   string
	sets   []string
	shards int
}

// newSubmitCmd builds `sftlab submit` and its scheduler subcommands.
func newSubmitCmd(g *globalOpts) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "submit",
		Short: "Run an experiment's sweep on a cluster: Slurm job arrays, Kubernetes Indexed Jobs",
		Long: `submit turns the runs of an experiment into scheduler jobs: one task per run (or per shard
with --shards N), each running "sftlab run EXPERIMENT --shard K/N" with the same --set overrides.
The tasks share output.dir; each run is claimed with a lock file while it trains, and finished runs
are skipped, so submitting again re-runs only what failed or never ran.

Resources come from the experiment's cluster: section (see configs/base.yaml), e.g.
--set cluster.mem=8G --set cluster.time=02:00:00.`,
	}
	cmd.AddCommand(newSubmitSlurmCmd(g), newSubmitK8sCmd(g))
	return cmd
}

func (o *submitOpts) flags(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&o.sets, "set", nil, "override a config key, as given to sftlab run (repeatable); the tasks get the same")
	cmd.Flags().IntVar(&o.shards, "shards", 0, "number of tasks, each training every N-th run (default: one task per run)")
}

// load loads the experiment and plans its tasks; path is how the tasks name the file.
func (o *submitOpts) load(path func(string) (string, error)) (cluster.Plan, error) {
	file := experimentPath(o.name)
	exp, err := configs.Load(file, o.sets)
	if err != nil {
		return cluster.Plan{}, &exitError{code: 2, err: err}
	}
	taskPath, err := path(file)
	if err != nil {
		return cluster.Plan{}, &exitError{code: 2, err: err}
	}
	plan, err := cluster.NewPlan(exp, taskPath, o.sets, o.shards)
	if err != nil {
		return cluster.Plan{}, &exitError{code: 2, err: err}
	}
	return plan, nil
}

// slurmOpts are the flags of `sftlab submit slurm`.
type slurmOpts struct {
	submitOpts
	submit bool
	wait   bool
	sftlab string
	dir    string
	sbatch string
}

func newSubmitSlurmCmd(g *globalOpts) *cobra.Command {
	o := &slurmOpts{submitOpts: submitOpts{globalOpts: g}}
	cmd := &cobra.Command{
		Use:   "slurm EXPERIMENT",
		Short: "Write (and with --submit, submit) a Slurm job array and its report job",
		Long: `slurm writes two sbatch scripts into output.dir/NAME/_slurm/ (or --dir):

  array.sbatch   a job array, task SLURM_ARRAY_TASK_ID=i training shard i+1 of N;
                 each task logs to logs/ARRAYJOBID_i.out
  report.sbatch  "sftlab report NAME", submitted with --dependency=afterany on the array,
                 so it runs when every task has ended, failed ones included

With --submit it submits both through sbatch and prints the job ids; with --wait also, it
returns when the report job has ended. The jobs run this sftlab binary (--sftlab) in the current
directory, which every node must reach at the same path, as must output.dir.`,
		Example: `  sftlab submit slurm lr_sweep                          # write the scripts, submit by hand
  sftlab submit slurm lr_sweep --submit --set cluster.slurm.partition=short --set cluster.time=30
  sftlab submit slurm lr_sweep --submit --shards 3      # three tasks of six runs each`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return submitSlurmRun(cmd.Context(), o)
		},
	}
	o.flags(cmd)
	cmd.Flags().BoolVar(&o.submit, "submit", false, "submit the scripts with sbatch")
	cmd.Flags().BoolVar(&o.wait, "wait", false, "with --submit: return when the report job has ended (sbatch --wait)")
	cmd.Flags().StringVar(&o.sftlab, "sftlab", "", "the sftlab binary the jobs run (default: this one)")
	cmd.Flags().StringVar(&o.dir, "dir", "", "folder for the scripts and logs (default output.dir/NAME/_slurm)")
	cmd.Flags().StringVar(&o.sbatch, "sbatch", "sbatch", "the sbatch command")
	return cmd
}

// submitSlurmRun writes the Slurm scripts and, with --submit, submits them.
func submitSlurmRun(ctx context.Context, o *slurmOpts) error {
	if o.wait && !o.submit {
		return &exitError{code: 2, err: fmt.Errorf("--wait needs --submit")}
	}
	plan, err := o.load(filepath.Abs)
	if err != nil {
		return err
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	bin := o.sftlab
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("find this sftlab binary: %w (give --sftlab)", err)
		}
		bin, _ = filepath.EvalSymlinks(bin)
	}
	if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	dir := o.dir
	if dir == "" {
		dir = filepath.Join(plan.Experiment.Base.Output.Dir, plan.Experiment.Name, "_slurm")
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	job, err := cluster.NewSlurmJob(plan, cluster.SlurmOptions{Sftlab: bin, WorkDir: wd, Dir: dir})
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	fmt.Fprintf(o.stdout, "%s: %d runs in %d array tasks\n", plan.Experiment.Name, len(plan.Experiment.Runs), plan.Tasks)
	if !o.submit {
		array, report, err := job.Write()
		if err != nil {
			return err
		}
		fmt.Fprintf(o.stdout, "wrote %s\n      %s\nsubmit them with --submit, or:\n  id=$(sbatch --parsable %s) && sbatch --dependency=afterany:$id %s\n",
			array, report, array, report)
		return nil
	}
	sub, err := job.Submit(ctx, o.sbatch, o.wait)
	if sub.ArrayJob != "" {
		fmt.Fprintf(o.stdout, "submitted array job %s (logs in %s)\n", sub.ArrayJob, filepath.Join(dir, cluster.LogsDir))
	}
	if sub.ReportJob != "" {
		fmt.Fprintf(o.stdout, "submitted report job %s, to run after the array (afterany:%s)\n", sub.ReportJob, sub.ArrayJob)
	}
	if err != nil {
		return err
	}
	if o.wait {
		fmt.Fprintf(o.stdout, "report job %s has ended: %s\n", sub.ReportJob, filepath.Join(wd, "reports", plan.Experiment.Name, "REPORT.md"))
	}
	return nil
}

// k8sOpts are the flags of `sftlab submit k8s`.
type k8sOpts struct {
	submitOpts
	out string
}

func newSubmitK8sCmd(g *globalOpts) *cobra.Command {
	o := &k8sOpts{submitOpts: submitOpts{globalOpts: g}}
	cmd := &cobra.Command{
		Use:   "k8s EXPERIMENT",
		Short: "Write a Kubernetes Indexed Job that trains an experiment's runs",
		Long: `k8s writes a batch/v1 Job with completionMode Indexed: index JOB_COMPLETION_INDEX=i trains
shard i+1 of N, each failed index retried cluster.k8s.backoff_limit_per_index times. The image
(cluster.k8s.image) must hold sftlab on its PATH, /bin/sh, and the experiment files under
cluster.k8s.workdir; cluster.k8s.volume_claim is mounted at cluster.k8s.mount_path and becomes
output.dir, so that every pod writes into one folder. Apply it with kubectl; sftlab never talks
to the cluster itself.`,
		Example: `  sftlab submit k8s lr_sweep --set cluster.k8s.volume_claim=sftlab-runs | kubectl apply -f -
  sftlab submit k8s lr_sweep -o lr_sweep.job.yaml && kubectl apply --dry-run=server -f lr_sweep.job.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.name = args[0]
			return submitK8sRun(o)
		},
	}
	o.flags(cmd)
	cmd.Flags().StringVarP(&o.out, "out", "o", "-", "file to write the Job to; - is standard output")
	return cmd
}

// submitK8sRun writes the Kubernetes Job.
func submitK8sRun(o *k8sOpts) error {
	plan, err := o.load(relativeToWorkDir)
	if err != nil {
		return err
	}
	job, err := cluster.K8sJob(plan)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	data, err := cluster.K8sYAML(job)
	if err != nil {
		return err
	}
	if o.out == "-" {
		_, err = o.stdout.Write(data)
		return err
	}
	if err := atomicfile.WriteFile(o.out, data); err != nil {
		return err
	}
	fmt.Fprintf(o.stdout, "wrote %s: job %s, %d indexes for %d runs\n", o.out, job.Name, plan.Tasks, len(plan.Experiment.Runs))
	return nil
}

// relativeToWorkDir names an experiment file as the pods see it: relative to the working
// directory, which is cluster.k8s.workdir in the container.
func relativeToWorkDir(path string) (string, error) {
	if !filepath.IsAbs(path) {
		return filepath.ToSlash(filepath.Clean(path)), nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(wd, path)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", fmt.Errorf("%s is outside the working directory: the pods find experiment files relative to cluster.k8s.workdir, so run sftlab submit k8s from the folder the image holds", path)
	}
	return filepath.ToSlash(rel), nil
}
