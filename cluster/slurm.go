package cluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"al.essio.dev/pkg/shellescape"

	"github.com/sftlab/sftlab/internal/atomicfile"
)

// Names of the files a Slurm submission writes into its folder.
const (
	ArrayScript  = "array.sbatch"  // the job array: one task per run or shard
	ReportScript = "report.sbatch" // the report job, run after the array with afterany
	LogsDir      = "logs"          // per-task logs: ARRAYJOBID_TASKID.out, report_JOBID.out
)

// SlurmOptions say where the jobs of a Slurm submission run and what they run. Every path is
// absolute, as the compute nodes must find it.
type SlurmOptions struct {
	// Sftlab is the sftlab binary the jobs run.
	Sftlab string
	// WorkDir is the folder the jobs run in (sbatch --chdir): relative paths of the experiment,
	// output.dir among them, resolve against it.
	WorkDir string
	// Dir is the folder of the job scripts, with the logs below it in logs/.
	Dir string
}

// SlurmJob is a Slurm submission: the array script and the report script.
type SlurmJob struct {
	Plan   Plan
	Opts   SlurmOptions
	Array  string // the content of array.sbatch
	Report string // the content of report.sbatch
}

// NewSlurmJob renders the scripts of plan.
func NewSlurmJob(plan Plan, opts SlurmOptions) (*SlurmJob, error) {
	for _, p := range []struct{ name, path string }{{"sftlab binary", opts.Sftlab}, {"working directory", opts.WorkDir}, {"job folder", opts.Dir}} {
		if !filepath.IsAbs(p.path) {
			return nil, fmt.Errorf("slurm job: the %s %q must be an absolute path, which every node can reach", p.name, p.path)
		}
	}
	if err := checkUnquoted(plan, opts); err != nil {
		return nil, fmt.Errorf("slurm job of %s: %w", plan.ExperimentPath, err)
	}
	j := &SlurmJob{Plan: plan, Opts: opts}
	j.Array = j.arrayScript()
	j.Report = j.reportScript()
	return j, nil
}

// checkUnquoted checks the text the scripts write outside shell quotes, in comments and #SBATCH
// lines: a control character there (a line break in a run name from a swept string, in a
// folder) would end the line and could start a command of its own.
func checkUnquoted(plan Plan, opts SlurmOptions) error {
	c := plan.Experiment.Base.Cluster
	texts := []struct{ what, s string }{
		{"experiment name", plan.Experiment.Name}, {"experiment path", plan.ExperimentPath},
		{"cluster.mem", c.Mem}, {"cluster.time", c.Time},
		{"cluster.slurm.partition", c.Slurm.Partition}, {"cluster.slurm.account", c.Slurm.Account},
		{"working directory", opts.WorkDir}, {"job folder", opts.Dir},
	}
	for _, e := range c.Slurm.Extra {
		texts = append(texts, struct{ what, s string }{"cluster.slurm.extra", e})
	}
	for _, r := range plan.Experiment.Runs {
		texts = append(texts, struct{ what, s string }{"run name", r.Name}, struct{ what, s string }{"run ID", r.ID})
	}
	for _, t := range texts {
		if strings.ContainsFunc(t.s, unicode.IsControl) {
			return fmt.Errorf("the %s %q has a control character, which a job script cannot hold", t.what, t.s)
		}
	}
	return nil
}

// jobName is the array's job name; the report job adds "-report".
func (j *SlurmJob) jobName() string { return "sftlab-" + j.Plan.Experiment.Name }

// directives are the #SBATCH lines both scripts share, after their own.
func (j *SlurmJob) sharedDirectives() []string {
	c := j.Plan.Experiment.Base.Cluster
	var out []string
	if c.Slurm.Partition != "" {
		out = append(out, "--partition="+c.Slurm.Partition)
	}
	if c.Slurm.Account != "" {
		out = append(out, "--account="+c.Slurm.Account)
	}
	return append(out, c.Slurm.Extra...)
}

func (j *SlurmJob) arrayScript() string {
	p, c := j.Plan, j.Plan.Experiment.Base.Cluster
	array := fmt.Sprintf("0-%d", p.Tasks-1)
	if c.Parallel > 0 {
		array += "%" + strconv.Itoa(c.Parallel)
	}
	dirs := []string{
		"--job-name=" + j.jobName(),
		"--array=" + array,
		"--chdir=" + j.Opts.WorkDir,
		"--output=" + filepath.Join(j.Opts.Dir, LogsDir, "%A_%a.out"),
		"--cpus-per-task=" + strconv.Itoa(c.CPUs),
	}
	if c.Mem != "" {
		dirs = append(dirs, "--mem="+c.Mem)
	}
	if c.Time != "" {
		dirs = append(dirs, "--time="+c.Time)
	}
	if c.GPUs > 0 {
		dirs = append(dirs, "--gres=gpu:"+strconv.Itoa(c.GPUs))
	}
	dirs = append(dirs, j.sharedDirectives()...)
	cmd := shellescape.QuoteCommand(append([]string{j.Opts.Sftlab}, p.runArgs()...))
	shard := fmt.Sprintf(`"$((SLURM_ARRAY_TASK_ID + 1))/%d"`, p.Tasks)

	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# The runs of experiment %s as a Slurm job array, written by `sftlab submit slurm`.\n", p.Experiment.Name)
	fmt.Fprintf(&b, "# Finished runs are skipped: submitting it again re-runs only what failed or never ran.\n")
	b.WriteString(p.comment("SLURM_ARRAY_TASK_ID"))
	writeDirectives(&b, dirs)
	b.WriteString("set -euo pipefail\n")
	b.WriteString("# The same matmul kernels, and so the same bits, on every x86-64 node of a mixed cluster\n")
	b.WriteString("# (the runs' baselines are then baselines/NAME.avx2.json); set it to true for AVX-512 speed.\n")
	b.WriteString("export GOMLX_GO_SIMD_AVX512=\"${GOMLX_GO_SIMD_AVX512:-false}\"\n")
	fmt.Fprintf(&b, "exec %s --shard %s\n", cmd, shard)
	return b.String()
}

func (j *SlurmJob) reportScript() string {
	p := j.Plan
	name := p.Experiment.Name
	dirs := []string{
		"--job-name=" + j.jobName() + "-report",
		"--chdir=" + j.Opts.WorkDir,
		"--output=" + filepath.Join(j.Opts.Dir, LogsDir, "report_%j.out"),
		"--cpus-per-task=1",
	}
	dirs = append(dirs, j.sharedDirectives()...)
	cmd := shellescape.QuoteCommand([]string{j.Opts.Sftlab, "report", name,
		"--runs", p.runsDir(j.Opts.WorkDir), "--out", filepath.Join(j.Opts.WorkDir, "reports", name)})

	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	fmt.Fprintf(&b, "# The report of experiment %s, written by `sftlab submit slurm`: submitted with\n", name)
	fmt.Fprintf(&b, "# --dependency=afterany:ARRAY_JOB_ID, it runs once every task of the array has ended.\n")
	writeDirectives(&b, dirs)
	b.WriteString("set -euo pipefail\n")
	fmt.Fprintf(&b, "exec %s\n", cmd)
	return b.String()
}

func writeDirectives(b *strings.Builder, dirs []string) {
	for _, d := range dirs {
		fmt.Fprintf(b, "#SBATCH %s\n", d)
	}
}

// Write writes the two scripts into the job folder and creates its logs folder (Slurm does not
// create the folder of a log file). It returns the paths of the scripts.
func (j *SlurmJob) Write() (array, report string, err error) {
	if err := os.MkdirAll(filepath.Join(j.Opts.Dir, LogsDir), 0o755); err != nil {
		return "", "", fmt.Errorf("slurm job folder: %w", err)
	}
	array = filepath.Join(j.Opts.Dir, ArrayScript)
	report = filepath.Join(j.Opts.Dir, ReportScript)
	if err := atomicfile.WriteFile(array, []byte(j.Array)); err != nil {
		return "", "", err
	}
	if err := atomicfile.WriteFile(report, []byte(j.Report)); err != nil {
		return "", "", err
	}
	return array, report, nil
}

// Submission is what sbatch answered.
type Submission struct {
	ArrayJob  string // the job id of the array
	ReportJob string // the job id of the report job
}

// Submit writes the scripts and submits them with sbatch (a command name or path): the array,
// then the report job with --dependency=afterany on it. With wait, it returns only when the
// report job has ended (sbatch --wait), and fails if the report job failed.
func (j *SlurmJob) Submit(ctx context.Context, sbatch string, wait bool) (Submission, error) {
	array, report, err := j.Write()
	if err != nil {
		return Submission{}, err
	}
	var s Submission
	if s.ArrayJob, err = runSbatch(ctx, sbatch, "--parsable", array); err != nil {
		return s, err
	}
	args := []string{"--parsable", "--dependency=afterany:" + s.ArrayJob}
	if wait {
		args = append(args, "--wait")
	}
	s.ReportJob, err = runSbatch(ctx, sbatch, append(args, report)...)
	return s, err
}

// runSbatch runs sbatch with args and returns the job id it printed (parseJobID).
func runSbatch(ctx context.Context, sbatch string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, sbatch, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	id, idErr := parseJobID(stdout.Bytes())
	if err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s: %w (is Slurm installed? scripts/slurm-local.sh sets up a one-node cluster)", sbatch, err)
		}
		return id, fmt.Errorf("%s %s: %w: %s", sbatch, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	if idErr != nil {
		return "", fmt.Errorf("%s %s: %w", sbatch, strings.Join(args, " "), idErr)
	}
	return id, nil
}

// maxJobIDDigits bounds a job id: Slurm's are 32-bit numbers.
const maxJobIDDigits = 10

// parseJobID reads the job id from what sbatch --parsable printed: "ID" or "ID;CLUSTER" on its
// last line. The id, which goes into the report job's --dependency, must be a decimal number
// of at most maxJobIDDigits digits; "" with an error when there is none.
func parseJobID(out []byte) (string, error) {
	line := strings.TrimSpace(string(out))
	if i := strings.LastIndexByte(line, '\n'); i >= 0 {
		line = strings.TrimSpace(line[i+1:])
	}
	id, _, _ := strings.Cut(line, ";")
	if id == "" || len(id) > maxJobIDDigits || strings.Trim(id, "0123456789") != "" {
		const show = 200
		if len(out) > show {
			out = append(out[:show:show], "…"...)
		}
		return "", fmt.Errorf("no job id in its answer %q", out)
	}
	return id, nil
}
