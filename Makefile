# sftlab — see README.md. Two commands do everything on a fresh clone:
#   make experiment NAME=sft_vs_instruction
#   make test

# GoMLX v0.28.16 needs Go 1.27: the go command fetches this toolchain from the module proxy
# once (about 76 MB) and uses it whatever Go is installed.
export GOTOOLCHAIN := go1.27.3
# The pure-Go GoMLX backend compiles its SIMD matmul kernels only with this experiment on.
export GOEXPERIMENT := simd
# Never let GoMLX fetch a PJRT plugin.
export GOMLX_NO_AUTO_INSTALL := 1

GO      ?= go
BIN     := bin/sftlab
NAME    ?= smoke
ARGS    ?=

.PHONY: build test bench experiment run report regress baseline clean vet slurm-test kill-test

build:
	$(GO) build -o $(BIN) ./cmd/sftlab

# Train every run of experiments/$(NAME).yaml (finished runs are skipped), then write the report
# from the same resolved experiment (so ARGS="--set output.dir=..." trains and reports there).
# The report is written even when some runs failed (the exit status still says so), but not
# when the experiment could not start (exit 2).
experiment: build
	./$(BIN) run experiments/$(NAME).yaml --report $(ARGS)

run: build
	./$(BIN) run experiments/$(NAME).yaml $(ARGS)

report: build
	./$(BIN) report $(NAME) $(ARGS)

# Run experiments/$(NAME).yaml and gate it against the baseline of this machine's SIMD kernels.
regress: build
	./$(BIN) regress $(NAME) $(ARGS)

# Record the finished runs of experiments/$(NAME).yaml as baselines/$(NAME).KERNELS.json (the
# runs' SIMD kernel family: avx2 or avx512).
baseline: build
	./$(BIN) baseline $(NAME)

# Train the benchmark configurations and compare each with its PyTorch peer (run only when
# $(PYTHON) imports torch): the GPTs T1 and T2 for 20 steps against $(PEER), then Qwen3-0.6B's
# real shapes (random weights, batch 2 × 128 tokens), fully fine-tuned and with rank-16 LoRA on
# all seven projections, for 4 steps against $(PEER_QWEN3). Each configuration runs alone, one
# after the other: a full 0.6B step needs about 10 GB on each side. The last lines are one JSON
# object per configuration. BENCH_CONFIGS=T1,T2 keeps to the small ones.
PEER          ?= ../shared/peer/peer_torch_gpt.py
PEER_QWEN3    ?= ../shared/peer/peer_torch_qwen3.py
PYTHON        ?= /usr/bin/python3
BENCH_CONFIGS ?= T1,T2,Q0.6B,Q0.6B-LoRA16
bench:
	$(GO) build -o bin/sftlab-bench ./cmd/sftlab-bench
	./bin/sftlab-bench -configs $(BENCH_CONFIGS) -peer $(PEER) -peer-qwen3 $(PEER_QWEN3) -python $(PYTHON)

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -timeout 15m ./...

# The Slurm end-to-end test: submits the smoke experiment as a job array with its report job to
# the Slurm cluster this machine submits to (`scripts/slurm-local.sh start` makes a one-node one),
# waits, checks the runs and the report, and submits again to check that nothing retrains.
slurm-test: build
	SFTLAB_BIN=$(abspath $(BIN)) $(GO) test -count=1 -run '^TestSlurmEndToEnd$$' -v ./cmd/sftlab

# Crash consistency: kill -9 a small sweep 100 times at random moments (KILLS, SEED: see the
# script), run it once more, and check that every run is ok, every eval row is there once and no
# temporary file is left. Minutes long; not part of `make test`.
kill-test: build
	SFTLAB=$(BIN) scripts/kill-test.sh

clean:
	rm -rf bin runs reports
