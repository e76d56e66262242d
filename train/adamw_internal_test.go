package train

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestHostKernelsAgree checks the SIMD kernel (where this build and CPU have one) and the
// parallel split against the portable kernel run serially, bit for bit, on arrays longer than
// several spans with a ragged tail, with clipping and decay on and off and values that stress
// the arithmetic (zeros, subnormals, large and negative values).
func TestHostKernelsAgree(t *testing.T) {
	n := 3*hostSpanSize + 13
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, -0, 1e-40, -1e-39, 1e30, -1e30, 1, -1, 1e-8, 3e-20}
	draw := func(scale float64, nonNeg bool) []float32 {
		x := make([]float32, n)
		for i := range x {
			switch {
			case rng.IntN(50) == 0:
				x[i] = special[rng.IntN(len(special))]
			default:
				x[i] = float32(rng.NormFloat64() * scale)
			}
			if nonNeg {
				x[i] = float32(math.Abs(float64(x[i])))
			}
		}
		return x
	}
	for _, h := range []hostAdamW{
		{clip: true, coef: 0.37, negStepSize: -1e-3, bc2Sqrt: 0.0447, decayFactor: 0.9999},
		{clip: false, coef: 1, negStepSize: -5e-2, bc2Sqrt: 1, decayFactor: 1},
	} {
		for _, decay := range []bool{true, false} {
			p, g, m, v := draw(0.1, false), draw(1, false), draw(0.01, false), draw(1e-4, true)
			want := [4][]float32{clone(p), clone(g), clone(m), clone(v)}
			adamWScalar(want[0], want[1], want[2], want[3], h, decay)
			updateInParallel(hostKernel(), p, g, m, v, h, decay)
			for k, got := range [4][]float32{p, g, m, v} {
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[k][i]) {
						t.Fatalf("clip=%t decay=%t: array %d element %d: %g, portable kernel %g", h.clip, decay, k, i, got[i], want[k][i])
					}
				}
			}
		}
	}
}

func clone(x []float32) []float32 { return append([]float32(nil), x...) }
