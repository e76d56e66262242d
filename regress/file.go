package regress

import (
	"path/filepath"
	"strings"
)

// Dir is the folder, relative to the repository root, that holds the committed baselines.
const Dir = "baselines"

// File returns where the baseline of experiment name is kept in dir.
//
// Runs of the pure-Go backend are bit-reproducible only with the same family of SIMD matmul
// kernels (AVX2 and AVX-512 kernels differ in the last bits), so their baselines are kept per
// family: NAME.avx2.json, NAME.avx512.json, NAME.scalar.json (kernels off). kernel is the
// family's name as the backend reports it, or "" for runs whose backend has none (a GPU), which
// keep NAME.json.
func File(dir, name, kernel string) string {
	switch {
	case kernel == "":
		return filepath.Join(dir, name+".json")
	case strings.HasPrefix(kernel, "off"):
		return filepath.Join(dir, name+".scalar.json")
	default:
		return filepath.Join(dir, name+"."+kernel+".json")
	}
}
