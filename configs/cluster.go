package configs

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// ClusterConfig holds what a scheduler needs to run an experiment's runs as separate jobs
// (`sftlab submit slurm|k8s`): the resources of each job and the scheduler's own settings.
// None of it changes what a run computes, so none of it enters the run ID.
type ClusterConfig struct {
	// CPUs is the number of CPU cores per job.
	CPUs int `yaml:"cpus"`
	// Mem is the memory per job in Slurm's notation: a whole number with an optional unit K, M,
	// G or T (powers of 1024; no unit means M), e.g. "4G". "" asks for none (the scheduler's
	// default).
	Mem string `yaml:"mem"`
	// GPUs is the number of GPUs per job.
	GPUs int `yaml:"gpus"`
	// Time is the wall-time limit per job in Slurm's notation (MM, MM:SS, HH:MM:SS, D-HH,
	// D-HH:MM or D-HH:MM:SS); "" is the scheduler's default.
	Time string `yaml:"time"`
	// Parallel is the most jobs of the experiment running at once; 0 is no limit.
	Parallel int          `yaml:"parallel"`
	Slurm    SlurmConfig  `yaml:"slurm"`
	K8s      K8sJobConfig `yaml:"k8s"`
}

// SlurmConfig holds the settings that only Slurm reads.
type SlurmConfig struct {
	// Partition is sbatch's --partition; "" is the cluster's default partition.
	Partition string `yaml:"partition"`
	// Account is sbatch's --account; "" is the user's default account.
	Account string `yaml:"account"`
	// Extra are more sbatch options, each written as one "#SBATCH" line, e.g. "--qos=short".
	Extra []string `yaml:"extra,omitempty"`
}

// K8sJobConfig holds the settings that only the Kubernetes Job reads.
type K8sJobConfig struct {
	// Image is the container image: it must have sftlab on its PATH, /bin/sh, and the
	// experiment files under WorkDir.
	Image string `yaml:"image"`
	// Namespace is the Job's namespace; "" leaves it to kubectl (the context's namespace).
	Namespace string `yaml:"namespace"`
	// WorkDir is the container's working directory, where the experiment files are found.
	WorkDir string `yaml:"workdir"`
	// VolumeClaim is the PersistentVolumeClaim that holds the shared output folder, mounted at
	// MountPath; output.dir becomes MountPath in the pods. "" mounts nothing: the runs stay in
	// the pods.
	VolumeClaim string `yaml:"volume_claim"`
	// MountPath is where VolumeClaim is mounted in the container.
	MountPath string `yaml:"mount_path"`
	// BackoffLimitPerIndex is how many times each failed index is retried.
	BackoffLimitPerIndex int `yaml:"backoff_limit_per_index"`
}

// defaultCluster is the cluster section of Default.
func defaultCluster() ClusterConfig {
	return ClusterConfig{
		CPUs: 1,
		K8s: K8sJobConfig{
			Image:                "sftlab:latest",
			WorkDir:              "/sftlab",
			MountPath:            "/runs",
			BackoffLimitPerIndex: 1,
		},
	}
}

// memRegex is Slurm's memory notation.
var memRegex = regexp.MustCompile(`^[1-9][0-9]*[KMGT]?$`)

// validateCluster checks the cluster section.
func (c ClusterConfig) validate(errs *ErrorList) {
	p := func(key string) []string { return strings.Split(key, ".") }
	if c.CPUs <= 0 {
		errs.add(p("cluster.cpus"), "must be > 0, got %d", c.CPUs)
	}
	if c.Mem != "" && !memRegex.MatchString(c.Mem) {
		errs.add(p("cluster.mem"), "%q is not a memory size: write a whole number with an optional unit K, M, G or T, e.g. 4G", c.Mem)
	}
	if c.GPUs < 0 {
		errs.add(p("cluster.gpus"), "must be ≥ 0, got %d", c.GPUs)
	}
	if c.Time != "" {
		if _, err := ParseTimeLimit(c.Time); err != nil {
			errs.add(p("cluster.time"), "%v", err)
		}
	}
	if c.Parallel < 0 {
		errs.add(p("cluster.parallel"), "must be ≥ 0, got %d", c.Parallel)
	}
	for i, line := range c.Slurm.Extra {
		if !strings.HasPrefix(line, "-") || strings.ContainsAny(line, "\n\r") {
			errs.add([]string{"cluster", "slurm", "extra", strconv.Itoa(i)}, "%q is not an sbatch option: write one option per entry, e.g. --qos=short", line)
		}
	}
	if c.K8s.BackoffLimitPerIndex < 0 {
		errs.add(p("cluster.k8s.backoff_limit_per_index"), "must be ≥ 0, got %d", c.K8s.BackoffLimitPerIndex)
	}
	if c.K8s.MountPath != "" && !strings.HasPrefix(c.K8s.MountPath, "/") {
		errs.add(p("cluster.k8s.mount_path"), "%q must be an absolute path", c.K8s.MountPath)
	}
}

// timeLimitRegex matches Slurm's time formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
var timeLimitRegex = regexp.MustCompile(`^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$`)

// ParseTimeLimit parses a wall-time limit in Slurm's notation: "MM", "MM:SS", "HH:MM:SS",
// "D-HH", "D-HH:MM" or "D-HH:MM:SS".
func ParseTimeLimit(s string) (time.Duration, error) {
	m := timeLimitRegex.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a time limit: write MM, HH:MM:SS or D-HH:MM:SS, e.g. 01:30:00", s)
	}
	n := func(i int) time.Duration {
		v, _ := strconv.Atoi(m[i]) // the regex admits only digits; "" is 0
		return time.Duration(v)
	}
	var d time.Duration
	switch {
	case m[1] != "": // D-HH[:MM[:SS]]
		d = n(1)*24*time.Hour + n(2)*time.Hour + n(3)*time.Minute + n(4)*time.Second
	case m[4] != "": // HH:MM:SS
		d = n(2)*time.Hour + n(3)*time.Minute + n(4)*time.Second
	default: // MM or MM:SS
		d = n(2)*time.Minute + n(3)*time.Second
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q is no time at all: give a limit above zero", s)
	}
	return d, nil
}
