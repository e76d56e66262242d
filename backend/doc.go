// Package backend creates the GoMLX compute backend that sftlab trains on.
//
// Two backends exist:
//
//   - "cpu" (the default): GoMLX's pure-Go backend (github.com/gomlx/compute/gobackend) with
//     unlimited worker parallelism (its default pool of 2×GOMAXPROCS workers deadlocks on 2
//     CPUs), wrapped by a decorator (see [Decorate]) that rewrites each DotGeneral into the
//     operand layout that the backend's matmul kernels run fastest (see [PlanDotGeneral]),
//     for the forward pass and the gradients alike. It never downloads anything, needs no cgo
//     and writes nothing to stdout.
//   - "gpu": GoMLX's XLA backend (github.com/gomlx/go-xla/compute/xla) loading a PJRT plugin
//     from [Config.Plugin] (experiment key backend.plugin: the plugin file or its directory)
//     or from the directories in PJRT_PLUGIN_LIBRARY_PATH. The XLA backend needs cgo, so it is
//     compiled only with the build tag "xla" (go build -tags xla); automatic plugin
//     installation is always off. A CUDA plugin ships with JAX's wheel jax-cuda12-pjrt (or
//     jax-cuda13-pjrt) as jax_plugins/xla_cuda12/xla_cuda_plugin.so.
//
// [Describe] renders the provenance string of a backend: name, GoMLX's description, device,
// SIMD matmul kernels in use and decorator options.
//
// The decorator also hides the Go backend's PreferConstantsForVariables capability, with which
// GoMLX would bake variables into graphs not marked as training (stale_test.go).
//
// The tests in this package also pin down the behaviour of GoMLX v0.28.16 that sftlab relies
// on (gomlx_checks_test.go): attention scales its logits once, the Go backend has Pad, Dot
// gradients are DotGenerals, and the worker-pool configuration used here does not deadlock.
// BenchmarkDotGeneral and BenchmarkTrainingGraph compare the decorated and the plain backend
// in the same run (run them with GOMLX_GO_SIMD_AVX512=false to see the AVX2 kernels on an
// AVX-512 machine).
package backend
