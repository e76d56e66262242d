# sftlab — see README.md. Two commands do everything on a fresh clone:
#   make experiment NAME=sft_vs_instruction
#   make test

# The pure-Go GoMLX backend compiles its AVX2 matmul kernels only with this experiment on.
export GOEXPERIMENT := simd
# Never let GoMLX fetch a PJRT plugin.
export GOMLX_NO_AUTO_INSTALL := 1
# Use the AVX2 kernels even where AVX-512 exists, so that every x86-64 machine computes the same
# bits and a baseline recorded on one machine reproduces exactly on another.
export GOMLX_SIMD_AVX512 := false

GO      ?= go
BIN     := bin/sftlab
NAME    ?= smoke
ARGS    ?=

.PHONY: build test bench experiment run report regress baseline clean vet

build:
	$(GO) build -o $(BIN) ./cmd/sftlab

# Train every run of experiments/$(NAME).yaml (finished runs are skipped), then write the report.
# The report is written even when some runs failed (the exit status still says so), but not when
# the experiment could not start (exit 2). The report reads runs/NAME: ARGS that move
# output.dir elsewhere need `sftlab report NAME --runs DIR`.
experiment: build
	@status=0; ./$(BIN) run experiments/$(NAME).yaml $(ARGS) || status=$$?; \
	if [ $$status -eq 2 ]; then exit 2; fi; \
	./$(BIN) report $(NAME) || exit $$?; \
	exit $$status

run: build
	./$(BIN) run experiments/$(NAME).yaml $(ARGS)

report: build
	./$(BIN) report $(NAME)

# Run experiments/$(NAME).yaml and gate it against baselines/$(NAME).json.
regress: build
	./$(BIN) regress $(NAME) $(ARGS)

# Record the finished runs of experiments/$(NAME).yaml as baselines/$(NAME).json.
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

clean:
	rm -rf bin runs reports
