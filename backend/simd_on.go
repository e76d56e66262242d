//go:build amd64 && goexperiment.simd

package backend

import (
	"os"
	"simd/archsimd"
	"strings"
)

// simdKernel names the SIMD matmul kernel family the Go backend registered at start-up,
// mirroring its own checks (CPU features and the GOMLX_* switches).
func simdKernel() string {
	if envFalse("GOMLX_DOT_MATMUL") {
		return "off (GOMLX_DOT_MATMUL=false)"
	}
	if archsimd.X86.AVX512() && !envFalse("GOMLX_SIMD_AVX512") {
		return "avx512"
	}
	if archsimd.X86.AVX2() && !envFalse("GOMLX_SIMD_AVX2") {
		return "avx2"
	}
	return "off (cpu lacks avx2 or disabled by GOMLX_SIMD_AVX2)"
}

// envFalse reports whether the environment variable name holds a false value.
func envFalse(name string) bool {
	switch strings.ToLower(os.Getenv(name)) {
	case "0", "false", "f", "no", "off", "disabled":
		return true
	}
	return false
}
