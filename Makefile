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

.PHONY: build test bench experiment run report regress baseline clean vet slurm-test

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

# Train the benchmark configurations T1 and T2 for 20 steps and compare with the PyTorch peer
# (run only when $(PYTHON) imports torch); the last lines are one JSON object per configuration.
PEER    ?= ../shared/peer/peer_torch_gpt.py
PYTHON  ?= /usr/bin/python3
bench:
	$(GO) build -o bin/sftlab-bench ./cmd/sftlab-bench
	./bin/sftlab-bench -configs T1,T2 -steps 20 -peer $(PEER) -python $(PYTHON)

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -timeout 15m ./...

# The Slurm end-to-end test: submits the smoke experiment as a job array with its report job to
# the Slurm cluster this machine submits to (`scripts/slurm-local.sh start` makes a one-node one),
# waits, checks the runs and the report, and submits again to check that nothing retrains.
slurm-test: build
	SFTLAB_BIN=$(abspath $(BIN)) $(GO) test -count=1 -run '^TestSlurmEndToEnd$$' -v ./cmd/sftlab

clean:
	rm -rf bin runs reports
