//go:build amd64 && goexperiment.simd

package train

import "simd/archsimd"

// hostKernel returns the AVX2 kernel where the CPU has AVX2, else the portable one.
func hostKernel() adamWKernel {
	if archsimd.X86.AVX2() {
		return adamWAVX2
	}
	return adamWScalar
}

// adamWAVX2 is adamWScalar eight elements at a time. VSQRTPS and VDIVPS round correctly, and
// each multiply and add is its own instruction, so every element gets the scalar kernel's bits.
func adamWAVX2(p, g, m, v []float32, h hostAdamW, decay bool) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	var (
		coef    = archsimd.BroadcastFloat32x8(h.coef)
		decayF  = archsimd.BroadcastFloat32x8(h.decayFactor)
		b1      = archsimd.BroadcastFloat32x8(hostBeta1)
		b1c     = archsimd.BroadcastFloat32x8(hostBeta1c)
		b2      = archsimd.BroadcastFloat32x8(hostBeta2)
		b2c     = archsimd.BroadcastFloat32x8(hostBeta2c)
		eps     = archsimd.BroadcastFloat32x8(hostEpsilon)
		bc2Sqrt = archsimd.BroadcastFloat32x8(h.bc2Sqrt)
		negStep = archsimd.BroadcastFloat32x8(h.negStepSize)
	)
	n := len(p) &^ 7
	for i := 0; i < n; i += 8 {
		gi, pi := archsimd.LoadFloat32x8(g[i:]), archsimd.LoadFloat32x8(p[i:])
		if h.clip {
			gi = gi.Mul(coef)
		}
		if decay {
			pi = pi.Mul(decayF)
		}
		mi := archsimd.LoadFloat32x8(m[i:]).Mul(b1).Add(gi.Mul(b1c))
		vi := archsimd.LoadFloat32x8(v[i:]).Mul(b2).Add(gi.Mul(b2c).Mul(gi))
		denom := vi.Sqrt().Div(bc2Sqrt).Add(eps)
		pi.Add(negStep.Mul(mi.Div(denom))).Store(p[i:])
		mi.Store(m[i:])
		vi.Store(v[i:])
	}
	adamWScalar(p[n:], g[n:], m[n:], v[n:], h, decay)
}
