package backend

import "testing"

func TestSIMDKernelOf(t *testing.T) {
	tests := []struct{ in, want string }{
		{"cpu: Go Portable Compute Backend (parallelism=-1); device: device#0; simd: avx2; dotgeneral layout rewrite: on; fusion: on", "avx2"},
		{"cpu: Go; device: d; simd: avx512; fusion: on", "avx512"},
		{"gpu: XLA; device: H100", ""},
	}
	for _, tt := range tests {
		if got := SIMDKernelOf(tt.in); got != tt.want {
			t.Errorf("SIMDKernelOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	be, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	if got := SIMDKernelOf(Describe(be)); got != SIMDKernel() {
		t.Errorf("Describe names kernel %q, SIMDKernel says %q", got, SIMDKernel())
	}
}
