package model

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // the model code reads like the math.
)

// The ops the models are built from. GoMLX v0.28.2's pure-Go backend ran Exp (and the
// gradients derived from it) 20–200× slower once its AVX kernels had run, so these once avoided
// Exp with polynomials and hand-written gradients; with v0.28.16 the plain ops measured as fast,
// and only Normalize keeps a written-out gradient (shorter than the autodiff of its formula).
// TestOpsGradients checks it against GoMLX's autodiff of the plain formula, and the accuracy
// tests check GELU and SiLU against float64 math on a dense grid.

// withGradient returns value (its own gradient path cut) with vjp as its gradient: given the
// adjoint v of the result (the shape of x), vjp returns the adjoint of x.
func withGradient(x, value *Node, vjp func(v *Node) *Node) *Node {
	carrier := IdentityWithCustomGradient(x, func(_, v *Node) *Node { return vjp(v) })
	zero := Sub(carrier, StopGradient(carrier)) // exactly 0 for finite x
	return Add(StopGradient(value), zero)
}

// LastAxisSoftmax is the softmax over the last axis (attention probabilities).
func LastAxisSoftmax(x *Node) *Node { return Softmax(x, -1) }

// Gelu is the exact (erf) GELU x·Φ(x) = x·½·(1 + erf(x/√2)), as nanoGPT's nn.GELU().
func Gelu(x *Node) *Node { return Mul(x, MulScalar(OnePlus(Erf(MulScalar(x, 1/math.Sqrt2))), 0.5)) }

// SiLU is x·σ(x), Qwen3's MLP activation.
func SiLU(x *Node) *Node { return Mul(x, Logistic(x)) }

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
// −log softmax(logits)[target] = logsumexp(logits) − logits[target], with the row maximum
// taken out of the exponent.
func CrossEntropy(logits, targets *Node) *Node {
	n := logits.Shape().Dim(0)
	top := StopGradient(ReduceAndKeep(logits, ReduceMax, -1))
	lse := Add(Log(ReduceSum(Exp(Sub(logits, top)), -1)), Reshape(top, n))
	at := Concatenate([]*Node{Iota(logits.Graph(), shapes.Make(dtypes.Int32, n), 0), ConvertDType(targets, dtypes.Int32)}, 0)
	picked := Gather(logits, Transpose(Reshape(at, 2, n), 0, 1)) // logits[i, target_i]
	return Sub(lse, picked)
}

// Hits is 1 (Float32) on the rows of logits [N, V] whose argmax equals targets [N], else 0.
func Hits(logits, targets *Node) *Node {
	return ConvertDType(Equal(ArgMax(logits, -1, dtypes.Int32), targets), dtypes.Float32)
}
