package configs

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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

// memRegex is Slurm's memory notation, at most 15 digits (a petabyte in T is 7).
var memRegex = regexp.MustCompile(`^[1-9][0-9]{0,14}[KMGT]?$`)

// maxClusterCount bounds the CPUs and GPUs of a job, well inside every scheduler's integers.
const maxClusterCount = 1 << 20

// validateCluster checks the cluster section.
func (c ClusterConfig) validate(errs *ErrorList) {
	p := func(key string) []string { return strings.Split(key, ".") }
	if c.CPUs <= 0 || c.CPUs > maxClusterCount {
		errs.add(p("cluster.cpus"), "must be in [1, %d], got %d", maxClusterCount, c.CPUs)
	}
	if c.Mem != "" && !memRegex.MatchString(c.Mem) {
		errs.add(p("cluster.mem"), "%q is not a memory size: write a whole number with an optional unit K, M, G or T, e.g. 4G", c.Mem)
	}
	if c.GPUs < 0 || c.GPUs > maxClusterCount {
		errs.add(p("cluster.gpus"), "must be in [0, %d], got %d", maxClusterCount, c.GPUs)
	}
	if c.Time != "" {
		if _, err := ParseTimeLimit(c.Time); err != nil {
			errs.add(p("cluster.time"), "%v", err)
		}
	}
	if c.Parallel < 0 || c.Parallel > math.MaxInt32 {
		errs.add(p("cluster.parallel"), "must be in [0, %d], got %d", math.MaxInt32, c.Parallel)
	}
	if !schedulerName(c.Slurm.Partition) {
		errs.add(p("cluster.slurm.partition"), "%q is not a partition name: no spaces, quotes or control characters", c.Slurm.Partition)
	}
	if !schedulerName(c.Slurm.Account) {
		errs.add(p("cluster.slurm.account"), "%q is not an account name: no spaces, quotes or control characters", c.Slurm.Account)
	}
	for i, line := range c.Slurm.Extra {
		if !strings.HasPrefix(line, "-") || strings.ContainsFunc(line, unicode.IsControl) {
			errs.add([]string{"cluster", "slurm", "extra", strconv.Itoa(i)}, "%q is not an sbatch option: write one option per entry, e.g. --qos=short", line)
		}
	}
	if c.K8s.BackoffLimitPerIndex < 0 || c.K8s.BackoffLimitPerIndex > math.MaxInt32 {
		errs.add(p("cluster.k8s.backoff_limit_per_index"), "must be in [0, %d], got %d", math.MaxInt32, c.K8s.BackoffLimitPerIndex)
	}
	if c.K8s.MountPath != "" && !strings.HasPrefix(c.K8s.MountPath, "/") {
		errs.add(p("cluster.k8s.mount_path"), "%q must be an absolute path", c.K8s.MountPath)
	}
}

// timeLimitRegex matches Slurm's time formats: MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
// Each number has at most 9 digits, so that no sum of them overflows.
var timeLimitRegex = regexp.MustCompile(`^(?:(\d{1,9})-)?(\d{1,9})(?::(\d{1,9}))?(?::(\d{1,9}))?$`)

// MaxTimeLimit is the longest wall-time limit a cluster section may ask for.
const MaxTimeLimit = 365 * 24 * time.Hour

// ParseTimeLimit parses a wall-time limit in Slurm's notation: "MM", "MM:SS", "HH:MM:SS",
// "D-HH", "D-HH:MM" or "D-HH:MM:SS", above zero and at most MaxTimeLimit.
func ParseTimeLimit(s string) (time.Duration, error) {
	m := timeLimitRegex.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q is not a time limit: write MM, HH:MM:SS or D-HH:MM:SS, e.g. 01:30:00", s)
	}
	n := func(i int) int64 {
		v, _ := strconv.ParseInt(m[i], 10, 64) // the regex admits at most 9 digits; "" is 0
		return v
	}
	// Seconds, in int64: at most (10^9 - 1) * 86,400 + 3 * 10^9 * 3,600, far from overflowing.
	var secs int64
	switch {
	case m[1] != "": // D-HH[:MM[:SS]]
		secs = n(1)*86400 + n(2)*3600 + n(3)*60 + n(4)
	case m[4] != "": // HH:MM:SS
		secs = n(2)*3600 + n(3)*60 + n(4)
	default: // MM or MM:SS
		secs = n(2)*60 + n(3)
	}
	if secs <= 0 {
		return 0, fmt.Errorf("%q is no time at all: give a limit above zero", s)
	}
	if secs > int64(MaxTimeLimit/time.Second) {
		return 0, fmt.Errorf("%q is more than %d days: give a shorter limit", s, MaxTimeLimit/(24*time.Hour))
	}
	return time.Duration(secs) * time.Second, nil
}

// schedulerName reports whether s can be written into a job script as a scheduler's name
// (a partition, an account): printable, without spaces or quotes.
func schedulerName(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) || strings.ContainsRune("\"'`$\\", r) {
			return false
		}
	}
	return utf8.ValidString(s)
}
