package backend

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// newBackends returns the plain Go backend and the decorated one, both finalized at the end.
func newBackends(t testing.TB) (plain, decorated compute.Backend) {
	t.Helper()
	plain, err := New(Config{DisableLayoutRewrite: true})
	if err != nil {
		t.Fatal(err)
	}
	decorated, err = New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		plain.Finalize()
		decorated.Finalize()
	})
	return plain, decorated
}

// randFloats returns n values uniform in [-1, 1).
func randFloats(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = rng.Float32()*2 - 1
	}
	return v
}

// run executes fn on be with the inputs and returns the outputs as float32 slices.
func run(t testing.TB, be compute.Backend, fn func(g *graph.Graph, inputs []*graph.Node) []*graph.Node, inputs ...*tensors.Tensor) [][]float32 {
	t.Helper()
	exec, err := graph.NewExec(be, fn)
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Finalize()
	args := make([]any, len(inputs))
	for i, in := range inputs {
		args[i] = in
	}
	outs, err := exec.Exec(args...)
	if err != nil {
		t.Fatal(err)
	}
	res := make([][]float32, len(outs))
	for i, o := range outs {
		res[i] = tensors.MustCopyFlatData[float32](o)
		_ = o.FinalizeAll()
	}
	return res
}

// refDotGeneral computes DotGeneral in float64 and also returns, per output element, the sum of
// |lhs·rhs| terms (the scale of its rounding error).
func refDotGeneral(lhs []float32, lhsDims, lc, lb []int, rhs []float32, rhsDims, rc, rb []int) (out, absSum []float64, outDims []int) {
	lhsCross := crossAxes(len(lhsDims), lc, lb)
	rhsCross := crossAxes(len(rhsDims), rc, rb)
	for _, a := range lb {
		outDims = append(outDims, lhsDims[a])
	}
	for _, a := range lhsCross {
		outDims = append(outDims, lhsDims[a])
	}
	for _, a := range rhsCross {
		outDims = append(outDims, rhsDims[a])
	}
	contractDims := make([]int, len(lc))
	for i, a := range lc {
		contractDims[i] = lhsDims[a]
	}
	lhsStrides, rhsStrides := strides(lhsDims), strides(rhsDims)
	n := prod(outDims)
	out, absSum = make([]float64, n), make([]float64, n)
	outIdx := make([]int, len(outDims))
	kIdx := make([]int, len(contractDims))
	for o := range n {
		unflatten(o, outDims, outIdx)
		li, ri := 0, 0
		pos := 0
		for i := range lb {
			li += outIdx[pos] * lhsStrides[lb[i]]
			ri += outIdx[pos] * rhsStrides[rb[i]]
			pos++
		}
		for _, a := range lhsCross {
			li += outIdx[pos] * lhsStrides[a]
			pos++
		}
		for _, a := range rhsCross {
			ri += outIdx[pos] * rhsStrides[a]
			pos++
		}
		for k := range prod(contractDims) {
			unflatten(k, contractDims, kIdx)
			l, r := li, ri
			for i := range lc {
				l += kIdx[i] * lhsStrides[lc[i]]
				r += kIdx[i] * rhsStrides[rc[i]]
			}
			p := float64(lhs[l]) * float64(rhs[r])
			out[o] += p
			absSum[o] += math.Abs(p)
		}
	}
	return out, absSum, outDims
}

func strides(dims []int) []int {
	s := make([]int, len(dims))
	acc := 1
	for i := len(dims) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= dims[i]
	}
	return s
}

func unflatten(i int, dims, idx []int) {
	for a := len(dims) - 1; a >= 0; a-- {
		idx[a] = i % dims[a]
		i /= dims[a]
	}
}
