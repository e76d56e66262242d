// Package cluster turns an experiment's sweep into jobs for a cluster scheduler: a Slurm job
// array with a dependent report job, or a Kubernetes Indexed Job.
//
// Each task of the array (or index of the Job) runs `sftlab run EXPERIMENT --shard K/N` with the
// same --set overrides as the submission: with N equal to the number of runs, shard K is exactly
// run K of the sweep, in expansion order; with fewer tasks (--shards), each trains every N-th
// run. The tasks share output.dir, where each run is claimed with a lock file while it trains
// (see the runner package), and a finished run is skipped: resubmitting the same job re-runs only
// what failed or never ran.
//
// Resources and scheduler settings come from the experiment's `cluster:` section
// ([configs.ClusterConfig]).
package cluster
