// Package backend creates the GoMLX compute backend that sftlab trains on.
//
// Two backends exist:
//
//   - "cpu" (the default): GoMLX's pure-Go backend (github.com/gomlx/compute/gobackend) with
//     unlimited worker parallelism, wrapped by a decorator that rewrites DotGeneral operand
//     layouts so that small matrix multiplications hit the fast non-transposed SIMD kernels.
//     It never downloads anything and needs no cgo.
//   - "gpu": GoMLX's XLA backend (github.com/gomlx/go-xla) loading a PJRT CUDA plugin from
//     [Config.Plugin] or the PJRT_PLUGIN_LIBRARY_PATH environment variable. It needs cgo and is
//     compiled only with the build tag "xla"; automatic plugin installation is always off.
//
// [Describe] renders the provenance string of a backend (name, device, SIMD kernel, options).
//
// The tests in this package also pin down the behaviour of GoMLX v0.28.2 that sftlab relies
// on (see gomlx_checks_test.go): single scaling in attention, Pad in the Go backend,
// DotGeneral-based Dot gradients and the worker-pool configuration that does not deadlock.
package backend
