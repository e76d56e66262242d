# sftlab — see README.md. Two commands do everything on a fresh clone:
#   make experiment NAME=sft_vs_instruction
#   make test

# The pure-Go GoMLX backend compiles its AVX2 matmul kernels only with this experiment on.
export GOEXPERIMENT := simd
# Never let GoMLX fetch a PJRT plugin.
export GOMLX_NO_AUTO_INSTALL := 1

GO      ?= go
BIN     := bin/sftlab
NAME    ?= smoke
ARGS    ?=

.PHONY: build test bench experiment run report regress clean vet

build:
	$(GO) build -o $(BIN) ./cmd/sftlab

vet:
	$(GO) vet ./...

test: vet
	$(GO) test -timeout 15m ./...

clean:
	rm -rf bin runs reports
