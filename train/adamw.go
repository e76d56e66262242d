package train

import (
	"math"
	"runtime"
	"sync"
)

// The AdamW update on the host.
//
// On the pure-Go backend every element-wise op of the update graph (AdamWUpdate, after
// ClipByGlobalNorm's scaling) is one pass over memory: about a dozen passes over each
// parameter, its gradient and its two moments, one op after the other. For a model of
// hundreds of millions of parameters that is gigabytes per pass, and a fifth or more of the
// step. There, the graph stops at the gradients, the global norm and the clipping scale, and
// updateSpan does the rest in one pass over each parameter, in place, split across the cores.
//
// Each element goes through the same float32 operations in the same order as the graph, each
// rounded to float32 (explicit conversions keep the compiler from fusing a multiply and an add),
// so both give bit-identical weights: TestHostAdamWMatchesGraph checks it.

// hostAdamW holds the per-step scalars of a host update, as float32 like the graph's inputs.
type hostAdamW struct {
	clip        bool    // scale the gradients by coef (max_grad_norm > 0)
	coef        float32 // min(1, max_norm / (norm + 1e-6)), from the graph
	negStepSize float32 // −lr / (1 − β1^t)
	bc2Sqrt     float32 // sqrt(1 − β2^t)
	decayFactor float32 // 1 − lr·weight_decay
}

// The update's constants, rounded to float32 from the float64 values the graph's scalar ops
// receive (constant conversions round as the run-time ones do).
const (
	hostBeta1   = float32(float64(adamBeta1))
	hostBeta1c  = float32(float64(1 - adamBeta1))
	hostBeta2   = float32(float64(adamBeta2))
	hostBeta2c  = float32(float64(1 - adamBeta2))
	hostEpsilon = float32(float64(adamEpsilon))
)

// hostSpanSize is the number of elements per unit of work: 128 KiB of each of p, g, m and v.
const hostSpanSize = 1 << 15

// adamWKernel updates p, m and v in place from g (all of one length) with h; decay says
// whether the decoupled weight decay applies.
type adamWKernel func(p, g, m, v []float32, h hostAdamW, decay bool)

// adamWScalar is the portable adamWKernel.
func adamWScalar(p, g, m, v []float32, h hostAdamW, decay bool) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		gi, pi := g[i], p[i]
		if h.clip {
			gi = float32(gi * h.coef)
		}
		if decay {
			pi = float32(pi * h.decayFactor)
		}
		mi := float32(float32(m[i]*hostBeta1) + float32(gi*hostBeta1c))
		vi := float32(float32(v[i]*hostBeta2) + float32(float32(gi*hostBeta2c)*gi))
		denom := float32(float32(sqrt32(vi)/h.bc2Sqrt) + hostEpsilon)
		p[i] = float32(pi + float32(h.negStepSize*float32(mi/denom)))
		m[i], v[i] = mi, vi
	}
}

// sqrt32 is the correctly rounded float32 square root (as the backends' Sqrt: the float64
// root of a float32 rounds to the same float32).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// updateInParallel runs kernel over p, g, m, v split into up to GOMAXPROCS contiguous parts
// of whole spans of hostSpanSize elements; a parameter of one span runs on the calling
// goroutine. Elements are independent, so the result does not depend on the split.
func updateInParallel(kernel adamWKernel, p, g, m, v []float32, h hostAdamW, decay bool) {
	n := len(p)
	spans := (n + hostSpanSize - 1) / hostSpanSize
	workers := min(runtime.GOMAXPROCS(0), spans)
	if workers <= 1 {
		kernel(p, g, m, v, h, decay)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		lo, hi := w*spans/workers*hostSpanSize, min((w+1)*spans/workers*hostSpanSize, n)
		wg.Go(func() { kernel(p[lo:hi], g[lo:hi], m[lo:hi], v[lo:hi], h, decay) })
	}
	wg.Wait()
}
