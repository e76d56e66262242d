//go:build amd64 && goexperiment.simd

package backend

import (
	"log/slog"
	"os"
	"simd/archsimd"

	"github.com/gomlx/compute/support/envutil"
)

// simdKernel names the SIMD matmul kernel family the Go backend registered at start-up,
// mirroring its own checks: the CPU's features and the GOMLX_GO_* switches, read with the same
// parser (an invalid value has already made the backend panic at start-up).
func simdKernel() string {
	warnRenamedSwitches()
	if !envBool(envutil.GoBackendDotMatmul) {
		return "off (" + envutil.GoBackendDotMatmul + "=false)"
	}
	if archsimd.X86.AVX512() && envBool(envutil.GoBackendSIMD_AVX512) {
		return "avx512"
	}
	if archsimd.X86.AVX2() && envBool(envutil.GoBackendSIMD_AVX2) {
		return "avx2"
	}
	return "off (cpu lacks avx2 or disabled by " + envutil.GoBackendSIMD_AVX2 + ")"
}

// envBool reads a GoMLX boolean switch whose default is true.
func envBool(name string) bool {
	v, err := envutil.ReadBool(name, true)
	return err != nil || v
}

// renamedSwitches maps the switches GoMLX read before compute v0.1.14 to their new names.
// GoMLX ignores the old names silently, so a script that still sets one gets other kernels
// than it asked for.
var renamedSwitches = [][2]string{
	{"GOMLX_SIMD_AVX512", envutil.GoBackendSIMD_AVX512},
	{"GOMLX_SIMD_AVX2", envutil.GoBackendSIMD_AVX2},
	{"GOMLX_DOT_MATMUL", envutil.GoBackendDotMatmul},
}

// warnRenamedSwitches logs each old switch name that is set.
func warnRenamedSwitches() {
	for _, r := range renamedSwitches {
		if v, ok := os.LookupEnv(r[0]); ok {
			slog.Warn("GoMLX no longer reads this variable: set the new name instead",
				"variable", r[0], "value", v, "new_name", r[1])
		}
	}
}
