package backend

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
)

// Describe returns a one-line description of be for provenance records: the sftlab backend
// name, GoMLX's own description, the device, and for "cpu" the SIMD matmul kernel in use and
// the decorator options. For example:
//
//	cpu: Go Portable Compute Backend (parallelism=-1); device: device#0; simd: avx2; dotgeneral layout rewrite: on; fusion: on
func Describe(be compute.Backend) string {
	inner, opts, decorated := Undecorate(be)
	var b strings.Builder
	if inner.String() == "go" {
		b.WriteString(CPU)
	} else {
		b.WriteString(GPU)
	}
	fmt.Fprintf(&b, ": %s; device: %s", inner.Description(), inner.DeviceDescription(0))
	if inner.String() != "go" {
		return b.String()
	}
	fmt.Fprintf(&b, "; simd: %s", simdKernel())
	rewrite, fusion := "off", "on"
	if decorated && opts.RewriteDotGeneral {
		rewrite = "on"
	}
	if decorated && opts.DisableFusion {
		fusion = "off"
	}
	fmt.Fprintf(&b, "; dotgeneral layout rewrite: %s; fusion: %s", rewrite, fusion)
	if decorated {
		fmt.Fprintf(&b, "; schedule: %s", opts.Schedule)
	}
	return b.String()
}

// SIMDKernel names the SIMD matmul kernels the pure-Go backend uses in this process ("avx512",
// "avx2" or "off (…)"). Different kernels give results that differ in the last bits.
func SIMDKernel() string { return simdKernel() }

// SIMDKernelOf extracts the kernel name from a description written by [Describe], or "" when it
// names none (a gpu backend).
func SIMDKernelOf(description string) string {
	_, rest, ok := strings.Cut(description, "; simd: ")
	if !ok {
		return ""
	}
	kernel, _, _ := strings.Cut(rest, ";")
	return kernel
}
