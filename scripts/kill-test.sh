#!/usr/bin/env bash
# kill-test.sh: crash consistency under kill -9.
#
# Trains a small sweep of the smoke experiment (6 runs: 2 formats × 3 seeds, evaluated and
# checkpointed every few steps, completions scored now and then), kills the `sftlab run`
# process with SIGKILL at random moments KILLS times, restarting it after each kill, then runs
# the sweep once more without interruption and checks:
#   - every run is ok (sftlab export's status column);
#   - every training step and every expected eval row (each eval step × split) is there exactly
#     once (read back from eval.arrow and metrics.arrow through `sftlab export --format csv`);
#   - no temporary file (atomicfile's .NAME.tmpN, a checkpoint's .tmp-step-…) and no claim file
#     is left anywhere in the output folder;
#   - sftlab report works on the result.
# It prints the seed of the kill times (SEED=… repeats them), where the kills landed, the
# checks' numbers and the wall time, and exits 1 when a check fails.
#
#   make kill-test                      # or: scripts/kill-test.sh
#   SEED=42 KILLS=20 scripts/kill-test.sh
#
# Settings (environment): KILLS (100), SEED (from the clock), MIN_MS and MAX_MS (the range of
# each process's life before its kill, 300 and 4000: preparing the sweep takes about a second),
# MAX_STEPS (480), EVERY (eval and checkpoint interval, 8), GEN_EVERY (100), OUT (a new
# temporary folder), SFTLAB (bin/sftlab).
set -euo pipefail

cd "$(dirname "$0")/.."
KILLS=${KILLS:-100}
SEED=${SEED:-$(date +%s)}
MIN_MS=${MIN_MS:-300}
MAX_MS=${MAX_MS:-4000}
MAX_STEPS=${MAX_STEPS:-480}
EVERY=${EVERY:-8}
GEN_EVERY=${GEN_EVERY:-100}
SFTLAB=${SFTLAB:-bin/sftlab}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/sftlab-kill-test.XXXXXX")}
RUNS="$OUT/runs"
EXP_DIR="$RUNS/smoke"
LOGS="$OUT/logs"
mkdir -p "$LOGS"

if [[ ! -x $SFTLAB ]]; then
	echo "kill-test: $SFTLAB not found: run make build first" >&2
	exit 2
fi

args=(run experiments/smoke.yaml
	--set "output.dir=$RUNS"
	--set 'sweep.grid={data.format: [sft, instruction]}' --set 'sweep.seeds=[1, 2, 3]'
	--set "train.max_steps=$MAX_STEPS" --set "train.checkpoint_every=$EVERY" --set "eval.every=$EVERY"
	--set "eval.generate_every=$GEN_EVERY" --set eval.samples=1 --set eval.max_new_tokens=4)
expected_runs=6

# temp_files lists the temporary files and folders a killed writer can leave under $OUT/runs:
# names that start with "." and hold ".tmp" (atomicfile.IsTemp), and a claim's ".break" guard.
temp_files() {
	find "$RUNS" \( \( -name '.*' -name '*.tmp*' \) -o -name '*.break' \) -print 2>/dev/null || true
}

RANDOM=$SEED
echo "kill-test: seed $SEED, $KILLS kills after ${MIN_MS}-${MAX_MS} ms each, output $OUT"
start=$(date +%s.%N)
declare -A phase=([startup]=0 [in-run]=0 [between-runs]=0 [exited]=0)
mid_write=0
times=()
for ((i = 1; i <= KILLS; i++)); do
	delay=$((MIN_MS + (RANDOM * 32768 + RANDOM) % (MAX_MS - MIN_MS + 1)))
	times+=("$delay")
	log="$LOGS/life-$i.log"
	temp_files | sort >"$OUT/temp.before"
	"$SFTLAB" "${args[@]}" >"$log" 2>&1 &
	pid=$!
	sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" || true
		phase[exited]=$((phase[exited] + 1))
		continue
	fi
	# Where the kill lands: holding a run's claim (setting up, training, writing or sampling
	# a run), before any run (preparing the sweep), or between runs (reusing finished ones).
	held=$(grep -l "\"pid\":$pid," "$EXP_DIR"/.claims/*.lock 2>/dev/null || true)
	if ! kill -9 "$pid" 2>/dev/null; then # it ended after the check above
		wait "$pid" || true
		phase[exited]=$((phase[exited] + 1))
		continue
	fi
	wait "$pid" 2>/dev/null || true
	if [[ -n $held ]]; then
		phase[in-run]=$((phase[in-run] + 1))
	elif grep -q 'msg=' "$log"; then
		phase[between-runs]=$((phase[between-runs] + 1))
	else
		phase[startup]=$((phase[startup] + 1))
	fi
	if [[ -n $(temp_files | sort | comm -13 "$OUT/temp.before" -) ]]; then
		mid_write=$((mid_write + 1)) # killed while writing a file or a checkpoint: a new temporary file
	fi
done
echo "kill times (ms): ${times[*]}"
left_by_kills=$(temp_files | wc -l)
echo "kills: $KILLS: ${phase[in-run]} while holding a run, ${phase[startup]} while preparing, ${phase[between-runs]} between runs, ${phase[exited]} after the process had ended; $mid_write left a temporary file (killed mid-write); $left_by_kills temporary files before the final run"
finished_before=$({ grep -l '"status": "ok"' "$EXP_DIR"/*/run.json 2>/dev/null || true; } | wc -l)
echo "runs finished before the final run: $finished_before of $expected_runs"

# The final, uninterrupted run.
if ! "$SFTLAB" "${args[@]}" --quiet >"$LOGS/final.log" 2>&1; then
	echo "kill-test: FAIL: the final run failed:" >&2
	cat "$LOGS/final.log" >&2
	exit 1
fi
fail=0
csv="$OUT/export.csv"
# Run names hold commas ("format=sft,seed=1"), quoted in the CSV; no other field is quoted, so
# each quoted field becomes one placeholder and the rest splits on commas.
"$SFTLAB" export smoke --runs "$RUNS" --format csv -o - 2>"$LOGS/export.log" | sed -E 's/"[^"]*"/name/g' >"$csv"

# Check the export: statuses, steps, eval rows.
read -r runs_seen runs_ok steps_bad evals_present evals_expected evals_dup evals_extra < <(
	awk -F, -v max="$MAX_STEPS" -v every="$EVERY" '
	NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
	{
		id = $col["run_id"]; status[id] = $col["status"]
		st = $col["step"]; sp = $col["split"]; metric = $col["metric"]
		if (metric == "train_loss") steps[id, st]++
		if (metric == "eval_loss") evals[id, st, sp]++
	}
	END {
		nruns = 0; ok = 0; stepsBad = 0; present = 0; expected = 0; dup = 0; extra = 0
		for (id in status) {
			nruns++
			if (status[id] == "ok") ok++
			for (s = 1; s <= max; s++) if (steps[id, s] != 1) stepsBad++
			for (s = 1; s <= max; s++) {
				if (s % every != 0 && s != max) continue
				for (k = 1; k <= 2; k++) {
					sp = (k == 1) ? "train" : "valid"
					expected++
					if (evals[id, s, sp] >= 1) present++
					if (evals[id, s, sp] > 1) dup++
					want[id, s, sp] = 1
				}
			}
		}
		for (key in evals) if (!(key in want)) extra++
		print nruns, ok, stepsBad, present, expected, dup, extra
	}' "$csv")
statuses=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next } { print $col["run_id"] "," $col["status"] }' "$csv" | sort -u | cut -d, -f2 | sort | uniq -c | awk '{ printf "%s%s × %s", sep, $1, $2; sep = ", " }')
echo "final statuses: $statuses"
echo "runs: $runs_seen of $expected_runs, $runs_ok ok"
echo "eval rows: $evals_present present of $evals_expected expected, $evals_dup duplicated, $evals_extra unexpected"
echo "training steps missing or repeated: $steps_bad"
if ((runs_seen != expected_runs || runs_ok != expected_runs)); then
	echo "kill-test: FAIL: not every run is ok" >&2
	fail=1
fi
if ((evals_present != evals_expected || evals_dup != 0 || evals_extra != 0 || steps_bad != 0)); then
	echo "kill-test: FAIL: metrics rows missing or repeated" >&2
	fail=1
fi

stray=$(temp_files)
claims=$(find "$EXP_DIR/.claims" -type f 2>/dev/null || true)
echo "temporary files after the final run: $(printf '%s' "$stray" | grep -c . || true); claim files: $(printf '%s' "$claims" | grep -c . || true)"
if [[ -n $stray || -n $claims ]]; then
	printf '%s\n' "$stray" "$claims" | grep . | sed 's/^/  /' >&2
	echo "kill-test: FAIL: files left behind" >&2
	fail=1
fi

if ! "$SFTLAB" report smoke --runs "$RUNS" --out "$OUT/report" >"$LOGS/report.log" 2>&1; then
	echo "kill-test: FAIL: sftlab report failed:" >&2
	cat "$LOGS/report.log" >&2
	fail=1
fi

end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v seed="$SEED" 'BEGIN { printf "wall time: %.1f s (seed %s)\n", e - s, seed }'
if ((fail)); then
	echo "kill-test: FAIL (files kept in $OUT)"
	exit 1
fi
echo "kill-test: PASS"
rm -rf "$OUT"
