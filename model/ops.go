package model

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // the model code reads like the math.
	"github.com/gomlx/gomlx/support/exceptions"
)

// The pure-Go backend computes Exp (and the VJPs that GoMLX derives for Softmax and GELU) with
// math.Exp, which runs 20–200× slower once the AVX2/AVX-512 matmul kernels have run on the same
// thread (legacy-SSE code after dirty upper vector state): it took over half of a training
// step. The ops below keep their math but avoid the Exp op: softmax runs the backend's fused
// kernel (its own float32 exp) and its gradient is written in terms of its output; GELU and its
// gradient use float32 polynomials for erf and exp, built from multiply-adds (the backend's Erf
// and Expm1 ops run float64 math per element and took ~12% of a step). Normalize (LayerNorm without its affine part) has its
// gradient written out too, which is shorter than the autodiff of its formula.
// TestOpsGradients checks each against GoMLX's autodiff of the plain formula, and
// TestGeluAccuracy checks GELU against float64 math on a dense grid.

// withGradient returns value (its own gradient path cut) with vjp as its gradient: given the
// adjoint v of the result, vjp returns the adjoint of x. value has the shape of x, or that of
// x without its last axis (a per-row result), in which case v has a last axis of size 1.
func withGradient(x, value *Node, vjp func(v *Node) *Node) *Node {
	perRow := value.Rank() < x.Rank()
	carrier := IdentityWithCustomGradient(x, func(_, v *Node) *Node {
		if perRow { // only column 0 of the carrier reached the result
			v = Slice(v, AxisRange(), AxisRange(0, 1))
		}
		return vjp(v)
	})
	if perRow {
		carrier = Reshape(Slice(carrier, AxisRange(), AxisRange(0, 1)), value.Shape().Dimensions...)
	}
	zero := Sub(carrier, StopGradient(carrier)) // exactly 0 for finite x
	return Add(StopGradient(value), zero)
}

// fusedSoftmax runs the backend's fused softmax over the last axis, or the decomposed one
// where the backend has none.
func fusedSoftmax(x *Node) *Node {
	var p *Node
	if err := exceptions.TryCatch[error](func() { p = BackendFusedSoftmax(x, x.Rank()-1) }); err != nil {
		p = StopGradient(Softmax(x, -1))
	}
	return p
}

// LastAxisSoftmax is the softmax over the last axis, with the gradient p·(v − Σ p·v).
func LastAxisSoftmax(x *Node) *Node {
	p := fusedSoftmax(x)
	return withGradient(x, p, func(v *Node) *Node {
		return Mul(p, Sub(v, ReduceAndKeep(Mul(p, v), ReduceSum, -1)))
	})
}

// Gelu is the exact (erf) GELU x·Φ(x) = x·½·(1 + erf(x/√2)), with the gradient
// Φ(x) + x·φ(x), φ(x) = exp(−x²/2)/√(2π). Both erf and exp are float32 polynomials built from
// multiply-adds (see erf32 and exp32): the backend's Erf and Expm1 ops run float64 math per
// element, several times slower.
func Gelu(x *Node) *Node {
	cdf := MulScalar(OnePlus(erf32(MulScalar(x, 1/math.Sqrt2))), 0.5)
	y := Mul(x, cdf)
	return withGradient(x, y, func(v *Node) *Node {
		pdf := MulScalar(exp32(MulScalar(Square(x), -0.5)), 1/math.Sqrt(2*math.Pi))
		return Mul(v, Add(cdf, Mul(x, pdf)))
	})
}

// SiLU is x·σ(x) (Qwen3's MLP activation), with σ from the float32 exp32 polynomial on −|x|
// (σ(x) = 1/(1+e) for x ≥ 0 and e/(1+e) below, e = exp(−|x|)) and the gradient
// σ(x)·(1 + x·(1 − σ(x))): the backend's Logistic runs math.Exp per element.
func SiLU(x *Node) *Node {
	e := exp32(Neg(Abs(x)))
	inv := Inverse(OnePlus(e))
	sigma := Where(GreaterOrEqual(x, ZerosLike(x)), inv, Mul(e, inv))
	y := Mul(x, sigma)
	return withGradient(x, y, func(v *Node) *Node {
		return Mul(v, Mul(sigma, OnePlus(Mul(x, OneMinus(sigma)))))
	})
}

// horner evaluates the polynomial c[0]·zⁿ⁻¹ + c[1]·zⁿ⁻² + … + c[n−1] at z.
func horner(z *Node, c ...float64) *Node {
	p := AddScalar(MulScalar(z, c[0]), c[1])
	for _, ci := range c[2:] {
		p = AddScalar(Mul(p, z), ci)
	}
	return p
}

// erf32 is the float32 rational approximation of erf used by Eigen and XLA: x·P(x²)/Q(x²) on
// x clamped to [−4, 4] (beyond which erf is ±1 in float32), within a few ulp of math.Erf.
func erf32(x *Node) *Node {
	x = MinScalar(MaxScalar(x, -4.0), 4.0)
	x2 := Square(x)
	p := Mul(x, horner(x2, -2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06,
		-5.69250639462346e-05, -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02))
	q := horner(x2, -1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03,
		-7.37332916720468e-03, -1.42647390514189e-02)
	return Div(p, q)
}

// exp32 is exp(x) for x ≤ 0 in float32, as Cephes' expf computes it: x = n·ln2 + r with
// |r| ≤ ln2/2, exp(r) from a degree-7 polynomial, and 2ⁿ built from its exponent bits.
// Below −87 (where exp underflows float32's normal range) it returns exp(−87) ≈ 1.6e-38.
func exp32(x *Node) *Node {
	x = MaxScalar(x, -87.0)
	n := Round(MulScalar(x, math.Log2E))
	r := Sub(Sub(x, MulScalar(n, 0.693359375)), MulScalar(n, -2.12194440e-4)) // ln2 in two parts
	p := horner(r, 1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1)
	p = Add(OnePlus(r), Mul(p, Square(r)))
	bits := BitwiseShiftLeftScalar(AddScalar(ConvertDType(n, dtypes.Int32), 127), 23)
	return Mul(p, Bitcast(bits, dtypes.Float32)) // p·2ⁿ
}

// Normalize is (x − mean)/σ over the last axis, σ = sqrt(biased variance + 1e-5), with the
// gradient (v − mean(v) − x̂·mean(v·x̂))/σ: a handful of ops instead of the autodiff of the
// decomposed formula.
func Normalize(x *Node) *Node {
	centred := Sub(x, ReduceAndKeep(x, ReduceMean, -1))
	sigma := Sqrt(AddScalar(ReduceAndKeep(Square(centred), ReduceMean, -1), lnEpsilon))
	y := Div(centred, sigma)
	return withGradient(x, y, func(v *Node) *Node {
		meanV := ReduceAndKeep(v, ReduceMean, -1)
		meanVY := ReduceAndKeep(Mul(v, y), ReduceMean, -1)
		return Div(Sub(Sub(v, meanV), Mul(y, meanVY)), sigma)
	})
}

// CrossEntropy returns, for logits [N, V] and targets [N] (Int32), each row's cross-entropy
// −log softmax(logits)[target]. The
// log-sum-exp comes from the fused softmax (the largest probability is 1/Σexp(logit − max)),
// and the gradient is softmax − onehot(target).
func CrossEntropy(logits, targets *Node) *Node {
	n, vocab := logits.Shape().Dim(0), logits.Shape().Dim(1)
	p := fusedSoftmax(logits)
	top := ReduceMax(logits, -1)
	at := Concatenate([]*Node{Iota(logits.Graph(), shapes.Make(dtypes.Int32, n), 0), ConvertDType(targets, dtypes.Int32)}, 0)
	picked := Gather(logits, Transpose(Reshape(at, 2, n), 0, 1)) // logits[i, target_i]
	value := Sub(Neg(Log(ReduceMax(p, -1))), Sub(picked, top))
	return withGradient(logits, value, func(v *Node) *Node {
		return Mul(v, Sub(p, OneHot(targets, vocab, dtypes.Float32)))
	})
}

// Hits is 1 (Float32) on the rows of logits [N, V] whose argmax equals targets [N], else 0.
func Hits(logits, targets *Node) *Node {
	return ConvertDType(Equal(ArgMax(logits, -1, dtypes.Int32), targets), dtypes.Float32)
}
