//go:build !(amd64 && goexperiment.simd)

package train

// hostKernel returns the portable kernel: this build has no SIMD kernel.
func hostKernel() adamWKernel { return adamWScalar }
