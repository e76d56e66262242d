//go:build !(amd64 && goexperiment.simd)

package backend

// simdKernel names the SIMD matmul kernel family in use: none without GOEXPERIMENT=simd.
func simdKernel() string { return "off (built without GOEXPERIMENT=simd)" }
