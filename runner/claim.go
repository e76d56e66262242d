package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/internal/claim"
	"github.com/sftlab/sftlab/metrics"
)

// HeldPolicy says what Run does with a run whose claim another process holds: another
// `sftlab run` of the same experiment, on this machine or on another one sharing output.dir.
type HeldPolicy string

// The policies for held runs.
const (
	// HeldWait trains the other runs first, then waits for each held run's claim and takes what
	// its holder left: the finished run is reused, an unfinished one (its holder died) resumes.
	HeldWait HeldPolicy = "wait"
	// HeldSkip leaves held runs to their holders; they are listed, not counted as failed.
	HeldSkip HeldPolicy = "skip"
)

// ParseHeldPolicy parses "wait" or "skip"; "" is HeldWait.
func ParseHeldPolicy(s string) (HeldPolicy, error) {
	switch HeldPolicy(s) {
	case "", HeldWait:
		return HeldWait, nil
	case HeldSkip:
		return HeldSkip, nil
	}
	return "", fmt.Errorf("--held %q: want wait or skip", s)
}

// ClaimFile is the lock file that a process holds while it trains run:
// output.dir/NAME/.claims/RUN_ID.lock (metrics.ClaimFile of its run folder).
func ClaimFile(exp *configs.Experiment, run configs.Run) string {
	return metrics.ClaimFile(RunDir(exp, run))
}

// claimPoll is how often a waiting process checks a held claim.
const claimPoll = time.Second

// trainAll trains runs in order, each while holding its claim, so that processes sharing
// output.dir never train the same run. A run held by another process is put off until the
// others are done, then waited for or left, as Options.Held says. Each run is prepared (see
// prepare) only once its claim is held. It returns the outcomes in the order of runs, and an
// error when ctx ended the sweep.
func (r *Runner) trainAll(ctx context.Context, exp *configs.Experiment, runs []configs.Run) ([]Outcome, error) {
	outcomes := make([]Outcome, len(runs))
	done := make([]bool, len(runs))
	finished := func() []Outcome {
		var out []Outcome
		for i, o := range outcomes {
			if done[i] {
				out = append(out, o)
			}
		}
		return out
	}
	var held []int
	for i, run := range runs {
		if err := ctx.Err(); err != nil {
			return finished(), fmt.Errorf("experiment %s: stopped before run %d of %d: %w", exp.Name, i+1, len(runs), err)
		}
		log := r.opts.Logger.With("run", run.Name, "id", run.ID)
		lock, err := claim.TryAcquire(ClaimFile(exp, run), claim.Options{})
		var heldErr *claim.HeldError
		if errors.As(err, &heldErr) {
			log.Info("run held by another process: training the others first", "held_by", heldErr.Owner.String())
			outcomes[i] = Outcome{Run: run, Dir: RunDir(exp, run), HeldBy: heldErr.Owner.String()}
			held = append(held, i)
			continue
		}
		if err != nil {
			outcomes[i], done[i] = failedOutcome(exp, run, fmt.Errorf("claim run: %w", err)), true
			log.Error("run failed", "err", err)
			continue
		}
		outcomes[i], done[i] = r.runClaimed(ctx, exp, run, i, len(runs), lock), true
		if errors.Is(outcomes[i].Err, context.Canceled) {
			return finished(), fmt.Errorf("experiment %s: interrupted during run %s: %w", exp.Name, run.Name, outcomes[i].Err)
		}
	}
	for _, i := range held {
		run := runs[i]
		log := r.opts.Logger.With("run", run.Name, "id", run.ID)
		if r.opts.Held == HeldSkip {
			info, err := metrics.ReadCurrentRunInfo(RunDir(exp, run))
			if err != nil {
				info = metrics.RunInfo{Name: run.Name, ID: run.ID, Experiment: exp.Name, Status: metrics.StatusRunning, Summary: metrics.EmptySummary()}
			}
			outcomes[i].Info, outcomes[i].Left, done[i] = info, true, true
			log.Info("run left to the process that holds it", "held_by", outcomes[i].HeldBy)
			continue
		}
		lock, err := claim.Acquire(ctx, ClaimFile(exp, run), claim.Options{}, claimPoll, func(o claim.Owner) {
			log.Info("waiting for the run held by another process", "held_by", o.String())
		})
		if err != nil {
			if ctx.Err() != nil {
				return finished(), fmt.Errorf("experiment %s: stopped waiting for run %s: %w", exp.Name, run.Name, ctx.Err())
			}
			outcomes[i], done[i] = failedOutcome(exp, run, fmt.Errorf("claim run: %w", err)), true
			log.Error("run failed", "err", err)
			continue
		}
		heldBy := outcomes[i].HeldBy
		outcomes[i], done[i] = r.runClaimed(ctx, exp, run, i, len(runs), lock), true
		outcomes[i].HeldBy = heldBy
		if errors.Is(outcomes[i].Err, context.Canceled) {
			return finished(), fmt.Errorf("experiment %s: interrupted during run %s: %w", exp.Name, run.Name, outcomes[i].Err)
		}
	}
	return finished(), nil
}

// runClaimed prepares and trains one run whose claim this process holds, then releases the
// claim.
func (r *Runner) runClaimed(ctx context.Context, exp *configs.Experiment, run configs.Run, index, total int, lock *claim.Lock) Outcome {
	var out Outcome
	if p, err := r.prepare(ctx, exp, run); err != nil {
		out = failedOutcome(exp, run, fmt.Errorf("prepare run: %w", err))
		r.opts.Logger.Error("run failed", "run", run.Name, "id", run.ID, "err", err)
	} else {
		out = r.runOne(ctx, exp, p, index, total)
	}
	if err := lock.Release(); err != nil {
		// Another process judged the claim stale while this one trained: the run's files may
		// mix the work of both. Say so loudly; the run itself is as runOne recorded it.
		r.opts.Logger.Error("run claim lost while training: check the run, or delete its folder to train it again", "run", run.Name, "err", err)
	}
	return out
}

// failedOutcome is the outcome of a run that could not start (its claim could not be taken,
// e.g. in an unwritable folder), failed with err.
func failedOutcome(exp *configs.Experiment, run configs.Run, err error) Outcome {
	return Outcome{Run: run, Dir: RunDir(exp, run), Err: err, Info: metrics.RunInfo{
		Name: run.Name, ID: run.ID, Experiment: exp.Name, Status: metrics.StatusFailed, Error: err.Error(), Summary: metrics.EmptySummary(),
	}}
}
