package model_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model"
)

// TestOpsGradients compares the values and gradients of the Exp-free ops with GoMLX's own
// decomposed ops differentiated by autodiff.
func TestOpsGradients(t *testing.T) {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	const rows, cols = 6, 10
	x := make([]float32, rows*cols)
	w := make([]float32, rows*cols) // random upstream weights, so the gradient is not trivial
	for i := range x {
		x[i] = float32(rng.NormFloat64() * 3)
		w[i] = float32(rng.NormFloat64())
	}
	x[5] = -1e30 // a masked attention score
	targets := []int32{0, 3, 9, 2, 2, 7}
	refCE := func(logits, tg *graph.Node) *graph.Node {
		return graph.Neg(graph.ReduceSum(graph.Mul(graph.LogSoftmax(logits, -1), graph.OneHot(tg, cols, dtypes.Float32)), -1))
	}
	tests := []struct {
		name string
		op   func(x, tg *graph.Node) *graph.Node
		ref  func(x, tg *graph.Node) *graph.Node
		tol  float64
	}{
		{"normalize", func(x, _ *graph.Node) *graph.Node {
			return model.Normalize(graph.Max(x, graph.Scalar(x.Graph(), dtypes.Float32, -20)))
		},
			func(x, _ *graph.Node) *graph.Node {
				x = graph.Max(x, graph.Scalar(x.Graph(), dtypes.Float32, -20))
				c := graph.Sub(x, graph.ReduceAndKeep(x, graph.ReduceMean, -1))
				return graph.Div(c, graph.Sqrt(graph.AddScalar(graph.ReduceAndKeep(graph.Square(c), graph.ReduceMean, -1), 1e-5)))
			}, 1e-5},
		{"cross-entropy", func(x, tg *graph.Node) *graph.Node {
			l := model.CrossEntropy(graph.Max(x, graph.Scalar(x.Graph(), dtypes.Float32, -50)), tg)
			return graph.ExpandAxes(l, -1)
		},
			func(x, tg *graph.Node) *graph.Node {
				return graph.ExpandAxes(refCE(graph.Max(x, graph.Scalar(x.Graph(), dtypes.Float32, -50)), tg), -1)
			}, 1e-5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func(op func(x, tg *graph.Node) *graph.Node) (value, grad []float32) {
				e, err := graph.NewExec(be, func(x, w, tg *graph.Node) (*graph.Node, *graph.Node) {
					y := op(x, tg)
					loss := graph.ReduceAllSum(graph.Mul(y, graph.Slice(w, graph.AxisRange(), graph.AxisRange(0, y.Shape().Dim(1)))))
					return y, graph.Gradient(loss, x)[0]
				})
				if err != nil {
					t.Fatal(err)
				}
				out, err := e.Exec(tensors.FromFlatDataAndDimensions(x, rows, cols), tensors.FromFlatDataAndDimensions(w, rows, cols), tensors.FromValue(targets))
				if err != nil {
					t.Fatal(err)
				}
				return tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
			}
			v, g := run(tt.op)
			rv, rg := run(tt.ref)
			for i := range rv {
				if d := math.Abs(float64(v[i] - rv[i])); d > tt.tol*math.Max(1, math.Abs(float64(rv[i]))) {
					t.Errorf("value %d = %v, reference %v", i, v[i], rv[i])
				}
			}
			for i := range rg {
				if d := math.Abs(float64(g[i] - rg[i])); d > tt.tol*math.Max(1, math.Abs(float64(rg[i]))) {
					t.Errorf("gradient %d = %v, reference %v", i, g[i], rg[i])
				}
			}
		})
	}
}

// checkActivation evaluates f and its gradient on a dense grid over [lo, hi] and compares them
// with float64 references, within 1e-6 (relative above 1).
func checkActivation(t *testing.T, name string, f func(*graph.Node) *graph.Node, lo, hi float64, want func(x float64) (value, grad float64)) {
	t.Helper()
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 40001
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(lo + (hi-lo)*float64(i)/(n-1))
	}
	e, err := graph.NewExec(be, func(x *graph.Node) (*graph.Node, *graph.Node) {
		y := f(x)
		return y, graph.Gradient(graph.ReduceAllSum(y), x)[0]
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Exec(tensors.FromFlatDataAndDimensions(x, n))
	if err != nil {
		t.Fatal(err)
	}
	value, grad := tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
	for i, xf := range x {
		wantValue, wantGrad := want(float64(xf))
		if d := math.Abs(float64(value[i]) - wantValue); d > 1e-6*math.Max(1, math.Abs(wantValue)) {
			t.Errorf("%s(%v) = %v, want %v", name, xf, value[i], wantValue)
		}
		if d := math.Abs(float64(grad[i]) - wantGrad); d > 1e-6*math.Max(1, math.Abs(wantGrad)) {
			t.Errorf("%s'(%v) = %v, want %v", name, xf, grad[i], wantGrad)
		}
	}
}

// TestGeluAccuracy checks the exact GELU and its gradient against float64 math.
func TestGeluAccuracy(t *testing.T) {
	checkActivation(t, "Gelu", model.Gelu, -20, 20, func(x float64) (float64, float64) {
		cdf := 0.5 * (1 + math.Erf(x/math.Sqrt2))
		return x * cdf, cdf + x*math.Exp(-x*x/2)/math.Sqrt(2*math.Pi)
	})
}

// TestSiLUAccuracy checks SiLU and its gradient against float64 math.
func TestSiLUAccuracy(t *testing.T) {
	checkActivation(t, "SiLU", model.SiLU, -100, 100, func(x float64) (float64, float64) {
		sigma := 1 / (1 + math.Exp(-x))
		return x * sigma, sigma * (1 + x*(1-sigma))
	})
}
