package backend

// Checks of GoMLX (v0.28.16) behaviour that sftlab relies on. GoMLX v0.26 had four problems:
// attention.MultiHeadAttention scaled the logits twice, the Go backend lacked Pad, the
// gradients of Dot/DotGeneral were built as broadcast-multiply plus reduce-sum (8× slower and a
// huge intermediate), and the Go backend's default worker pool deadlocked on 2 CPUs. Each test
// below fails if its problem comes back.

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/attention"
	"github.com/gomlx/gomlx/ml/model"
)

// TestMultiHeadAttentionScalesLogitsOnce compares GoMLX's multi-head attention with a plain Go
// reference that scales the logits by 1/√headDim once, and checks that the comparison would
// catch a second scaling.
func TestMultiHeadAttentionScalesLogitsOnce(t *testing.T) {
	plain, decorated := newBackends(t)
	const batch, seq, heads, headDim = 2, 5, 2, 4
	const width = heads * headDim
	rng := rand.New(rand.NewPCG(11, 12))
	q, k, v := randFloats(rng, batch*seq*width), randFloats(rng, batch*seq*width), randFloats(rng, batch*seq*width)
	for name, be := range map[string]compute.Backend{"plain": plain, "decorated": decorated} {
		t.Run(name, func(t *testing.T) {
			store := model.NewStore()
			exec := model.MustNewExec(be, store, func(scope *model.Scope, q, k, v *graph.Node) *graph.Node {
				return attention.MultiHeadAttention(scope, q, k, v, heads, headDim).
					WithPreProjected(true).UseProjectionBias(false).Done()
			})
			defer exec.Finalize()
			in := func(x []float32) *tensors.Tensor { return tensors.FromFlatDataAndDimensions(x, batch, seq, width) }
			got := tensors.MustCopyFlatData[float32](exec.MustExec1(in(q), in(k), in(v)))

			var wOut []float32
			for variable := range store.IterVariables() {
				if variable.Name() == "weights" {
					wOut = tensors.MustCopyFlatData[float32](variable.MustValue())
				}
			}
			if len(wOut) != width*width {
				t.Fatalf("output projection weights: %d values, want %d", len(wOut), width*width)
			}
			once := refAttention(q, k, v, wOut, batch, seq, heads, headDim, 1/math.Sqrt(headDim))
			twice := refAttention(q, k, v, wOut, batch, seq, heads, headDim, 1/float64(headDim))
			if err := closeSlices(once, got, 1e-5); err != nil {
				t.Errorf("attention differs from the reference scaled once: %v", err)
			}
			if closeSlices(twice, got, 1e-3) == nil {
				t.Error("attention also matches a reference scaled twice: the test cannot tell them apart")
			}
		})
	}
}

// refAttention computes softmax(q·kᵀ·scale)·v per head, concatenates the heads and multiplies
// by the output projection w [width, width]. Inputs are [batch, seq, heads·headDim].
func refAttention(q, k, v, w []float32, batch, seq, heads, headDim int, scale float64) []float32 {
	width := heads * headDim
	at := func(x []float32, b, s, h, d int) float64 { return float64(x[(b*seq+s)*width+h*headDim+d]) }
	concat := make([]float64, batch*seq*width)
	for b := range batch {
		for h := range heads {
			for i := range seq {
				logits := make([]float64, seq)
				maxLogit := math.Inf(-1)
				for j := range seq {
					for d := range headDim {
						logits[j] += at(q, b, i, h, d) * at(k, b, j, h, d)
					}
					logits[j] *= scale
					maxLogit = max(maxLogit, logits[j])
				}
				var sum float64
				for j := range logits {
					logits[j] = math.Exp(logits[j] - maxLogit)
					sum += logits[j]
				}
				for d := range headDim {
					var o float64
					for j := range seq {
						o += logits[j] / sum * at(v, b, j, h, d)
					}
					concat[(b*seq+i)*width+h*headDim+d] = o
				}
			}
		}
	}
	out := make([]float32, batch*seq*width)
	for r := range batch * seq {
		for c := range width {
			var s float64
			for i := range width {
				s += concat[r*width+i] * float64(w[i*width+c])
			}
			out[r*width+c] = float32(s)
		}
	}
	return out
}

// TestGoBackendPad checks that the Go backend implements Pad, with edge and interior padding.
func TestGoBackendPad(t *testing.T) {
	plain, decorated := newBackends(t)
	want := []float32{
		9, 9, 9, 9, 9,
		1, 9, 2, 9, 3,
		4, 9, 5, 9, 6,
		9, 9, 9, 9, 9,
		9, 9, 9, 9, 9,
	}
	for name, be := range map[string]compute.Backend{"plain": plain, "decorated": decorated} {
		t.Run(name, func(t *testing.T) {
			got := run(t, be, func(g *graph.Graph, _ []*graph.Node) []*graph.Node {
				x := graph.Const(g, [][]float32{{1, 2, 3}, {4, 5, 6}})
				return []*graph.Node{graph.Pad(x, graph.Const(g, float32(9)),
					compute.PadAxis{Start: 1, End: 2}, compute.PadAxis{Interior: 1})}
			})[0]
			if !slices.Equal(got, want) {
				t.Errorf("Pad = %v, want %v", got, want)
			}
		})
	}
}

// TestDotGradientsAreDotGenerals checks that the gradients of Dot and DotGeneral are built as
// DotGenerals: the graph holds one DotGeneral per operand gradient and no intermediate larger
// than the operands (a broadcast-multiply would hold batch·N·M·K values), and the gradients
// have the right values.
func TestDotGradientsAreDotGenerals(t *testing.T) {
	plain, _ := newBackends(t)
	tests := []struct {
		name       string
		lhs, rhs   []int
		dot        func(a, b *graph.Node) *graph.Node
		broadcastN int // size of the broadcast-multiply intermediate of the v0.26 gradient
	}{
		{"Dot.Product matrix", []int{64, 32}, []int{32, 48},
			func(a, b *graph.Node) *graph.Node { return graph.Dot(a, b).Product() }, 64 * 32 * 48},
		{"DotGeneral batched", []int{4, 32, 16}, []int{4, 16, 24},
			func(a, b *graph.Node) *graph.Node {
				return graph.DotGeneral(a, []int{2}, []int{0}, b, []int{1}, []int{0})
			},
			4 * 32 * 16 * 24},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, 14))
			aVals, bVals := randFloats(rng, prod(tc.lhs)), randFloats(rng, prod(tc.rhs))
			g := graph.NewGraph(plain, "grad")
			defer g.Finalize()
			a := graph.Parameter(g, "a", shapes.Make(dtypes.Float32, tc.lhs...))
			b := graph.Parameter(g, "b", shapes.Make(dtypes.Float32, tc.rhs...))
			y := tc.dot(a, b)
			// loss = Σ y·y/2, so ∂loss/∂y = y.
			loss := graph.DivScalar(graph.ReduceAllSum(graph.Square(y)), 2)
			grads := graph.Gradient(loss, a, b)
			if err := g.Compile(grads...); err != nil {
				t.Fatal(err)
			}
			var dots, largest int
			for _, n := range g.Nodes() {
				if n.Type() == graph.NodeTypeDotGeneral {
					dots++
				}
				if n.NumOutputs() == 1 {
					largest = max(largest, n.Shape().Size())
				}
			}
			limit := max(prod(tc.lhs), prod(tc.rhs), y.Shape().Size())
			if dots != 3 {
				t.Errorf("graph holds %d DotGenerals, want 3 (forward and one per gradient)", dots)
			}
			if largest > limit {
				t.Errorf("largest intermediate holds %d values, more than any operand or output (%d); "+
					"a broadcast-multiply gradient holds %d", largest, limit, tc.broadcastN)
			}
			outs := g.Run(tensors.FromFlatDataAndDimensions(aVals, tc.lhs...), tensors.FromFlatDataAndDimensions(bVals, tc.rhs...))
			// Reference: y = a·b; da = y·bᵀ; db = aᵀ·y (per batch).
			batch := 1
			if len(tc.lhs) == 3 {
				batch = tc.lhs[0]
			}
			n, kk, m := tc.lhs[len(tc.lhs)-2], tc.lhs[len(tc.lhs)-1], tc.rhs[len(tc.rhs)-1]
			yRef := make([]float64, batch*n*m)
			for bi := range batch {
				for i := range n {
					for j := range m {
						for l := range kk {
							yRef[(bi*n+i)*m+j] += float64(aVals[(bi*n+i)*kk+l]) * float64(bVals[(bi*kk+l)*m+j])
						}
					}
				}
			}
			da, db := make([]float32, len(aVals)), make([]float32, len(bVals))
			for bi := range batch {
				for i := range n {
					for l := range kk {
						var s float64
						for j := range m {
							s += yRef[(bi*n+i)*m+j] * float64(bVals[(bi*kk+l)*m+j])
						}
						da[(bi*n+i)*kk+l] = float32(s)
					}
				}
				for l := range kk {
					for j := range m {
						var s float64
						for i := range n {
							s += float64(aVals[(bi*n+i)*kk+l]) * yRef[(bi*n+i)*m+j]
						}
						db[(bi*kk+l)*m+j] = float32(s)
					}
				}
			}
			if err := closeSlices(da, tensors.MustCopyFlatData[float32](outs[0]), 1e-5); err != nil {
				t.Errorf("∂loss/∂a: %v", err)
			}
			if err := closeSlices(db, tensors.MustCopyFlatData[float32](outs[1]), 1e-5); err != nil {
				t.Errorf("∂loss/∂b: %v", err)
			}
		})
	}
}

// deadlockChildEnv makes the test binary run the deadlock workload instead of the test.
// deadlockConfigEnv set to "default" runs it on the Go backend's default configuration,
// which reproduces the deadlock: with GOMAXPROCS=2 it hung in the first round in 7 runs of 7.
const (
	deadlockChildEnv  = "SFTLAB_BACKEND_DEADLOCK_CHILD"
	deadlockConfigEnv = "SFTLAB_BACKEND_DEADLOCK_CONFIG"
)

// TestGoBackendParallelismDoesNotDeadlock runs graphs of concurrent matmuls and Erf
// repeatedly on our cpu backend with GOMAXPROCS=2, in a subprocess with a deadline, so a
// deadlock fails the test instead of hanging it.
func TestGoBackendParallelismDoesNotDeadlock(t *testing.T) {
	if os.Getenv(deadlockChildEnv) != "" {
		deadlockWorkload(t)
		return
	}
	if testing.Short() {
		t.Skip("runs a subprocess for several seconds")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestGoBackendParallelismDoesNotDeadlock$", "-test.v")
	cmd.Env = append(os.Environ(), deadlockChildEnv+"=1", "GOMAXPROCS=2")
	out, err := cmd.CombinedOutput()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the workload did not finish within 90 s: the backend deadlocked\n%s", out)
	}
	if err != nil {
		t.Fatalf("workload failed: %v\n%s", err, out)
	}
}

// deadlockWorkload builds and runs, 20 times, a graph of four independent
// [256,256]·[256,256] matmuls followed by Erf, plus batched small matmuls.
func deadlockWorkload(t *testing.T) {
	var be compute.Backend
	var err error
	if os.Getenv(deadlockConfigEnv) == "default" {
		be, err = compute.NewWithConfig("go")
	} else {
		be, err = New(Config{})
	}
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	rng := rand.New(rand.NewPCG(15, 16))
	x := randFloats(rng, 256*256)
	for round := range 20 {
		exec := graph.MustNewExec(be, func(x *graph.Node) *graph.Node {
			var sum *graph.Node
			for i := range 4 {
				y := graph.Erf(graph.MulScalar(graph.Dot(x, x).Product(), 0.01*float64(i+1)))
				small := graph.Reshape(y, 64, 32, 32)
				y = graph.Reshape(graph.Erf(graph.DotGeneral(small, []int{2}, []int{0}, small, []int{1}, []int{0})), 256, 256)
				if sum == nil {
					sum = y
				} else {
					sum = graph.Add(sum, y)
				}
			}
			return sum
		})
		for range 3 {
			exec.MustExec1(tensors.FromFlatDataAndDimensions(x, 256, 256)).MustFinalizeAll()
		}
		exec.Finalize()
		t.Logf("round %d done", round)
	}
}
