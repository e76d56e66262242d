package backend

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// dotCase is one DotGeneral: operand dimensions and axes, and the plan expected.
type dotCase struct {
	name            string
	lhsDims, lc, lb []int
	rhsDims, rc, rb []int
	want            planWant
}

// planWant is an expected plan; the zero value means "passed through unchanged".
type planWant struct {
	rewrite bool
	swap    bool
	layout  Layout
	moved   int // number of operands transposed
}

var (
	keep        = planWant{}
	directMove0 = planWant{rewrite: true}
	directMove1 = planWant{rewrite: true, moved: 1}
	directMove2 = planWant{rewrite: true, moved: 2}
	swapMove1   = planWant{rewrite: true, swap: true, moved: 1}
)

// namedDotCases are the shapes of a GPT step (attention with 4 heads of 32 on 64 tokens,
// batch 8) and their gradients, plus the layouts the Go backend already takes.
var namedDotCases = []dotCase{
	{name: "attention scores q·kᵀ (backend's transposed layout)", lhsDims: []int{32, 64, 32}, lc: []int{2}, lb: []int{0},
		rhsDims: []int{32, 64, 32}, rc: []int{2}, rb: []int{0}, want: keep},
	{name: "attention output p·v (backend's matmul layout)", lhsDims: []int{32, 64, 64}, lc: []int{2}, lb: []int{0},
		rhsDims: []int{32, 64, 32}, rc: []int{1}, rb: []int{0}, want: keep},
	{name: "grad dk = dsᵀ·q", lhsDims: []int{32, 64, 64}, lc: []int{1}, lb: []int{0},
		rhsDims: []int{32, 64, 32}, rc: []int{1}, rb: []int{0}, want: directMove1},
	{name: "grad dv = pᵀ·do swapped", lhsDims: []int{32, 64, 32}, lc: []int{1}, lb: []int{0},
		rhsDims: []int{32, 64, 8}, rc: []int{1}, rb: []int{0}, want: swapMove1},
	{name: "BSHD einsum bqhd,bkhd->bhqk", lhsDims: []int{2, 16, 4, 8}, lc: []int{3}, lb: []int{0, 2},
		rhsDims: []int{2, 16, 4, 8}, rc: []int{3}, rb: []int{0, 2}, want: directMove2},
	{name: "BSHD einsum grad bhqk,bkhd->bhqd", lhsDims: []int{2, 4, 16, 16}, lc: []int{3}, lb: []int{0, 1},
		rhsDims: []int{2, 16, 4, 8}, rc: []int{1}, rb: []int{0, 2}, want: directMove1},
	{name: "dense x·w (backend's matmul layout)", lhsDims: []int{64, 48}, lc: []int{1},
		rhsDims: []int{48, 96}, rc: []int{0}, want: keep},
	{name: "dense grad dx = dy·wᵀ (backend's transposed layout)", lhsDims: []int{64, 96}, lc: []int{1},
		rhsDims: []int{48, 96}, rc: []int{1}, want: keep},
	{name: "dense grad dw = xᵀ·dy", lhsDims: []int{64, 48}, lc: []int{0},
		rhsDims: []int{64, 96}, rc: []int{0}, want: directMove1},
	{name: "vector first: its transposition is a reshape", lhsDims: []int{24, 1}, lc: []int{0},
		rhsDims: []int{24, 40}, rc: []int{0}, want: directMove0},
	{name: "large dw = xᵀ·dy", lhsDims: []int{2048, 64}, lc: []int{0},
		rhsDims: []int{2048, 96}, rc: []int{0}, want: directMove1},
	{name: "large, backend's transposed layout", lhsDims: []int{512, 256}, lc: []int{1},
		rhsDims: []int{384, 256}, rc: []int{1}, want: keep},
}

func TestPlanDotGeneral(t *testing.T) {
	for _, tc := range namedDotCases {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			plan, ok := PlanDotGeneral(tc.lhsDims, tc.lc, tc.lb, tc.rhsDims, tc.rc, tc.rb)
			if ok != want.rewrite {
				t.Fatalf("rewrite = %v, want %v (plan %+v)", ok, want.rewrite, plan)
			}
			if !ok {
				return
			}
			moved := 0
			for _, op := range []OperandPlan{plan.A, plan.B} {
				if op.Transpose {
					moved++
				}
			}
			if plan.Swap != want.swap || plan.Layout != want.layout || moved != want.moved {
				t.Errorf("plan swap=%v layout=%s moved=%d, want swap=%v layout=%s moved=%d (plan %+v)",
					plan.Swap, plan.Layout, moved, want.swap, want.layout, want.moved, plan)
			}
			_, _, wantOut := refDotGeneralDims(tc)
			if !slices.Equal(plan.OutputDims, wantOut) {
				t.Errorf("output dims %v, want %v", plan.OutputDims, wantOut)
			}
		})
	}
	invalid := []struct {
		name            string
		lhsDims, lc, lb []int
		rhsDims, rc, rb []int
	}{
		{"mismatched contracting sizes", []int{4, 5}, []int{1}, nil, []int{6, 4}, []int{0}, nil},
		{"axis out of range", []int{4, 5}, []int{2}, nil, []int{5, 4}, []int{0}, nil},
		{"repeated axis", []int{5, 5}, []int{1}, []int{1}, []int{5, 5}, []int{0}, []int{1}},
		{"dynamic dimension", []int{-1, 5}, []int{1}, nil, []int{5, 4}, []int{0}, nil},
	}
	for _, tc := range invalid {
		t.Run("passes through "+tc.name, func(t *testing.T) {
			if _, ok := PlanDotGeneral(tc.lhsDims, tc.lc, tc.lb, tc.rhsDims, tc.rc, tc.rb); ok {
				t.Error("planned a rewrite of an invalid DotGeneral")
			}
		})
	}
}

func refDotGeneralDims(tc dotCase) ([]float32, []float32, []int) {
	var out []int
	for _, a := range tc.lb {
		out = append(out, tc.lhsDims[a])
	}
	for _, a := range crossAxes(len(tc.lhsDims), tc.lc, tc.lb) {
		out = append(out, tc.lhsDims[a])
	}
	for _, a := range crossAxes(len(tc.rhsDims), tc.rc, tc.rb) {
		out = append(out, tc.rhsDims[a])
	}
	return nil, nil, out
}

// randomDotCase draws a DotGeneral with 0–2 batch axes, 1–2 contracting axes and 0–2 cross axes
// per operand, each operand's axes in a random order, and at most 2 Mi multiply-adds (so the
// float64 reference stays quick).
func randomDotCase(rng *rand.Rand, i int) dotCase {
	for {
		c := drawDotCase(rng, i)
		_, _, out := refDotGeneralDims(c)
		if prod(out)*prodAxes(c.lhsDims, c.lc) <= 2<<20 {
			return c
		}
	}
}

func drawDotCase(rng *rand.Rand, i int) dotCase {
	nb, nc := rng.IntN(3), 1+rng.IntN(2)
	nlx, nrx := rng.IntN(3), rng.IntN(3)
	dim := func() int { return 1 + rng.IntN(9) }
	if rng.IntN(4) == 0 { // some larger ones, nearer real shapes
		dim = func() int { return []int{1, 8, 16, 33, 64}[rng.IntN(5)] }
	}
	batchDims, contractDims := make([]int, nb), make([]int, nc)
	for j := range batchDims {
		batchDims[j] = dim()
	}
	for j := range contractDims {
		contractDims[j] = dim()
	}
	// place lays out an operand: kinds 0=batch j, 1=contracting j, 2=cross, in a random order.
	place := func(ncross int) (dims, contracting, batch []int) {
		type ax struct{ kind, j, size int }
		var axes []ax
		for j := range nb {
			axes = append(axes, ax{0, j, batchDims[j]})
		}
		for j := range nc {
			axes = append(axes, ax{1, j, contractDims[j]})
		}
		for range ncross {
			axes = append(axes, ax{2, 0, dim()})
		}
		rng.Shuffle(len(axes), func(a, b int) { axes[a], axes[b] = axes[b], axes[a] })
		contracting, batch = make([]int, nc), make([]int, nb)
		for pos, a := range axes {
			dims = append(dims, a.size)
			switch a.kind {
			case 0:
				batch[a.j] = pos
			case 1:
				contracting[a.j] = pos
			}
		}
		return dims, contracting, batch
	}
	c := dotCase{name: fmt.Sprintf("random%02d", i)}
	c.lhsDims, c.lc, c.lb = place(nlx)
	c.rhsDims, c.rc, c.rb = place(nrx)
	return c
}

// TestDecoratedDotGeneralMatchesPlain runs DotGenerals of many layouts on the plain and the
// decorated backends and checks both against a float64 reference and against each other.
func TestDecoratedDotGeneralMatchesPlain(t *testing.T) {
	plain, decorated := newBackends(t)
	rng := rand.New(rand.NewPCG(1, 2))
	cases := slices.Clone(namedDotCases)
	if testing.Short() {
		cases = cases[:len(cases)-2] // the large ones
	}
	for i := range 60 {
		cases = append(cases, randomDotCase(rng, i))
	}
	var identical, total int
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lhs := randFloats(rng, prod(tc.lhsDims))
			rhs := randFloats(rng, prod(tc.rhsDims))
			want, absSum, outDims := refDotGeneral(lhs, tc.lhsDims, tc.lc, tc.lb, rhs, tc.rhsDims, tc.rc, tc.rb)
			fn := func(g *graph.Graph, in []*graph.Node) []*graph.Node {
				return []*graph.Node{graph.DotGeneral(in[0], tc.lc, tc.lb, in[1], tc.rc, tc.rb)}
			}
			inputs := func() []*tensors.Tensor { // a tensor belongs to one backend: one set each
				return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(lhs, tc.lhsDims...),
					tensors.FromFlatDataAndDimensions(rhs, tc.rhsDims...)}
			}
			gotPlain := run(t, plain, fn, inputs()...)[0]
			gotDec := run(t, decorated, fn, inputs()...)[0]
			if len(gotDec) != prod(outDims) || len(gotPlain) != prod(outDims) {
				t.Fatalf("output sizes %d (decorated), %d (plain), want %d", len(gotDec), len(gotPlain), prod(outDims))
			}
			for j := range want {
				tol := 1e-6*absSum[j] + 1e-30
				if d := math.Abs(float64(gotDec[j]) - want[j]); d > tol {
					t.Fatalf("decorated[%d] = %g, reference %g (diff %g > %g)", j, gotDec[j], want[j], d, tol)
				}
				if d := math.Abs(float64(gotDec[j]) - float64(gotPlain[j])); d > tol {
					t.Fatalf("decorated[%d] = %g, plain %g (diff %g > %g)", j, gotDec[j], gotPlain[j], d, tol)
				}
				if gotDec[j] == gotPlain[j] {
					identical++
				}
				total++
			}
		})
	}
	t.Logf("%d of %d outputs bit-identical between plain and decorated backends", identical, total)
}

// trainingGraph is a small attention-and-MLP model: it returns the loss and its gradients
// with respect to every parameter. Shapes: x [B,T,D], wq/wk/wv [D,H,E], w1 [D,F], w2 [F,D].
func trainingGraph(g *graph.Graph, in []*graph.Node) []*graph.Node {
	x, wq, wk, wv, w1, w2 := in[0], in[1], in[2], in[3], in[4], in[5]
	q := graph.Einsum("btd,dhe->bhte", x, wq)
	k := graph.Einsum("btd,dhe->bhte", x, wk)
	v := graph.Einsum("btd,dhe->bhte", x, wv)
	scores := graph.MulScalar(graph.Einsum("bhqe,bhke->bhqk", q, k), 0.25)
	p := graph.Softmax(scores, -1)
	att := graph.Einsum("bhqk,bhke->bqhe", p, v)
	dims := att.Shape().Dimensions
	att = graph.Reshape(att, dims[0], dims[1], dims[2]*dims[3]) // [B, T, H·E] == [B, T, D]
	h := graph.Add(x, att)
	mlp := graph.Tanh(graph.Einsum("btd,df->btf", h, w1))
	y := graph.Add(h, graph.Einsum("btf,fd->btd", mlp, w2))
	loss := graph.ReduceAllMean(graph.Square(y))
	return append([]*graph.Node{loss}, graph.Gradient(loss, wq, wk, wv, w1, w2)...)
}

// TestDecoratedTrainingGraphMatchesPlain runs SGD steps of trainingGraph on both backends and
// compares losses and gradients.
func TestDecoratedTrainingGraphMatchesPlain(t *testing.T) {
	plain, decorated := newBackends(t)
	const B, T, D, H, E, F = 2, 16, 32, 4, 8, 64
	rng := rand.New(rand.NewPCG(3, 4))
	shapesList := [][]int{{B, T, D}, {D, H, E}, {D, H, E}, {D, H, E}, {D, F}, {F, D}}
	params := make([][]float32, len(shapesList))
	for i, s := range shapesList {
		params[i] = randFloats(rng, prod(s))
		if i > 0 {
			for j := range params[i] {
				params[i][j] *= 0.2
			}
		}
	}
	plainParams, decParams := clone2(params), clone2(params)
	step := func(be compute.Backend, ps [][]float32) (float32, [][]float32) {
		ins := make([]*tensors.Tensor, len(ps))
		for i := range ps {
			ins[i] = tensors.FromFlatDataAndDimensions(slices.Clone(ps[i]), shapesList[i]...)
		}
		outs := run(t, be, trainingGraph, ins...)
		for i, grad := range outs[1:] {
			for j := range grad {
				ps[i+1][j] -= 0.5 * grad[j]
			}
		}
		return outs[0][0], outs[1:]
	}
	for s := range 5 {
		lp, gp := step(plain, plainParams)
		ld, gd := step(decorated, decParams)
		if d := math.Abs(float64(lp - ld)); d > 1e-6*math.Abs(float64(lp)) {
			t.Fatalf("step %d: loss plain %g, decorated %g", s, lp, ld)
		}
		for i := range gp {
			if err := closeSlices(gp[i], gd[i], 1e-5); err != nil {
				t.Fatalf("step %d: gradient %d: %v", s, i, err)
			}
		}
	}
}

func clone2(a [][]float32) [][]float32 {
	c := make([][]float32, len(a))
	for i := range a {
		c[i] = slices.Clone(a[i])
	}
	return c
}

// closeSlices checks |a-b| <= rel·max|a| element-wise.
func closeSlices(a, b []float32, rel float64) error {
	if len(a) != len(b) {
		return fmt.Errorf("lengths %d and %d", len(a), len(b))
	}
	var scale float64
	for _, v := range a {
		scale = max(scale, math.Abs(float64(v)))
	}
	for i := range a {
		if d := math.Abs(float64(a[i]) - float64(b[i])); d > rel*scale {
			return fmt.Errorf("element %d: %g vs %g (diff %g > %g)", i, a[i], b[i], d, rel*scale)
		}
	}
	return nil
}

// TestDecoratedControlFlow checks the ops whose closures the Go backend type-asserts to its own
// function type (Sort, While, If) through the decorator.
func TestDecoratedControlFlow(t *testing.T) {
	_, decorated := newBackends(t)
	tests := []struct {
		name string
		fn   func(g *graph.Graph, in []*graph.Node) []*graph.Node
		want []float32
	}{
		{"sort", func(g *graph.Graph, _ []*graph.Node) []*graph.Node {
			return []*graph.Node{graph.Sort(graph.Const(g, []float32{3, 1, 2}), 0, true)}
		}, []float32{1, 2, 3}},
		{"while sums 1..10", func(g *graph.Graph, _ []*graph.Node) []*graph.Node {
			cond := graph.NewClosure(g, func(g *graph.Graph) []*graph.Node {
				i := graph.Parameter(g, "i", shapes.Make(dtypes.Float32))
				_ = graph.Parameter(g, "sum", shapes.Make(dtypes.Float32))
				return []*graph.Node{graph.LessOrEqual(i, graph.Const(g, float32(10)))}
			})
			body := graph.NewClosure(g, func(g *graph.Graph) []*graph.Node {
				i := graph.Parameter(g, "i", shapes.Make(dtypes.Float32))
				sum := graph.Parameter(g, "sum", shapes.Make(dtypes.Float32))
				return []*graph.Node{graph.AddScalar(i, 1), graph.Add(sum, i)}
			})
			res := graph.While(cond, body, graph.Const(g, float32(1)), graph.Const(g, float32(0)))
			return res[1:]
		}, []float32{55}},
		{"if picks the true branch", func(g *graph.Graph, _ []*graph.Node) []*graph.Node {
			yes := graph.NewClosure(g, func(g *graph.Graph) []*graph.Node { return []*graph.Node{graph.Const(g, float32(7))} })
			no := graph.NewClosure(g, func(g *graph.Graph) []*graph.Node { return []*graph.Node{graph.Const(g, float32(-7))} })
			return graph.If(graph.Const(g, true), yes, no)
		}, []float32{7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := run(t, decorated, tc.fn)[0]
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

// TestDecoratedBuffersReportDecorator checks that outputs and uploaded tensors carry the
// decorated backend, so they can be fed back into its executables.
func TestDecoratedBuffersReportDecorator(t *testing.T) {
	_, decorated := newBackends(t)
	exec := graph.MustNewExec(decorated, func(x *graph.Node) *graph.Node { return graph.AddScalar(x, 1) })
	defer exec.Finalize()
	x := tensors.FromValue([]float32{1, 2})
	y := exec.MustExec1(x)
	z := exec.MustExec1(y) // the output of one execution is the input of the next
	if got := tensors.MustCopyFlatData[float32](z); !slices.Equal(got, []float32{3, 4}) {
		t.Fatalf("got %v, want [3 4]", got)
	}
	buf, err := z.Buffer(decorated, 0)
	if err != nil {
		t.Fatal(err)
	}
	if buf.Backend() != decorated {
		t.Errorf("output buffer backend is %v, want the decorated backend", buf.Backend())
	}
	shared, flat, err := decorated.NewSharedBuffer(0, shapes.Make(dtypes.Float32, 2))
	if err != nil {
		t.Fatal(err)
	}
	copy(flat.([]float32), []float32{5, 6})
	if shared.Backend() != decorated {
		t.Errorf("shared buffer backend is %v, want the decorated backend", shared.Backend())
	}
	if err := shared.Finalize(); err != nil {
		t.Fatal(err)
	}
}

// TestDisableFusion checks that without fusion the graph holds no fused op and the result is
// unchanged.
func TestDisableFusion(t *testing.T) {
	fused, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer fused.Finalize()
	unfused, err := New(Config{DisableFusion: true})
	if err != nil {
		t.Fatal(err)
	}
	defer unfused.Finalize()
	x := []float32{0.5, -1, 2, 0, 1, 3}
	results := map[string][]float32{}
	for name, be := range map[string]compute.Backend{"fused": fused, "unfused": unfused} {
		g := graph.NewGraph(be, "softmax")
		in := graph.Parameter(g, "x", shapes.Make(dtypes.Float32, 2, 3))
		out := graph.Softmax(in, -1)
		if err := g.Compile(out); err != nil {
			t.Fatal(err)
		}
		hasFused := out.Type() == graph.NodeTypeFusedSoftmax
		if hasFused != (name == "fused") {
			t.Errorf("%s backend: output node type %s", name, out.Type())
		}
		res := g.Run(tensors.FromFlatDataAndDimensions(x, 2, 3))
		results[name] = tensors.MustCopyFlatData[float32](res[0])
		g.Finalize()
	}
	if err := closeSlices(results["fused"], results["unfused"], 1e-6); err != nil {
		t.Error(err)
	}
	if d := Describe(unfused); !strings.Contains(d, "fusion: off") {
		t.Errorf("Describe = %q, want it to say fusion: off", d)
	}
}

// TestDecoratedDotGeneralHalfPrecision runs DotGenerals in float64, bfloat16 and float16 on
// the decorated backend and checks them against a float64 reference, on whichever kernels the
// machine has. (GoMLX v0.28.2's AVX2 small kernel for the transposed layout dropped about half
// the terms of bfloat16 and float16 sums; v0.28.16's kernels are right, and the plain backend's
// result is logged for comparison.)
func TestDecoratedDotGeneralHalfPrecision(t *testing.T) {
	plain, decorated := newBackends(t)
	rng := rand.New(rand.NewPCG(9, 10))
	for _, tc := range []dotCase{namedDotCases[0], namedDotCases[1], namedDotCases[2]} {
		lhs, rhs := randFloats(rng, prod(tc.lhsDims)), randFloats(rng, prod(tc.rhsDims))
		ref, absSum, _ := refDotGeneral(lhs, tc.lhsDims, tc.lc, tc.lb, rhs, tc.rhsDims, tc.rc, tc.rb)
		for _, dt := range []struct {
			dtype dtypes.DType
			rel   float64 // relative to Σ|lhs·rhs|: input rounding and output rounding
		}{{dtypes.Float64, 1e-6}, {dtypes.BFloat16, 2e-2}, {dtypes.Float16, 3e-3}} {
			t.Run(tc.name+"/"+dt.dtype.String(), func(t *testing.T) {
				fn := func(g *graph.Graph, in []*graph.Node) []*graph.Node {
					l, r := graph.ConvertDType(in[0], dt.dtype), graph.ConvertDType(in[1], dt.dtype)
					return []*graph.Node{graph.ConvertDType(graph.DotGeneral(l, tc.lc, tc.lb, r, tc.rc, tc.rb), dtypes.Float32)}
				}
				inputs := func() []*tensors.Tensor {
					return []*tensors.Tensor{tensors.FromFlatDataAndDimensions(lhs, tc.lhsDims...),
						tensors.FromFlatDataAndDimensions(rhs, tc.rhsDims...)}
				}
				worst := func(got []float32) (int, float64) {
					at, ratio := 0, 0.0
					for i := range ref {
						if r := math.Abs(float64(got[i])-ref[i]) / absSum[i]; r > ratio {
							at, ratio = i, r
						}
					}
					return at, ratio
				}
				got := run(t, decorated, fn, inputs()...)[0]
				if i, r := worst(got); r > dt.rel {
					t.Errorf("decorated[%d] = %g, reference %g: error %.2g·Σ|ab| > %.2g", i, got[i], ref[i], r, dt.rel)
				}
				if _, r := worst(run(t, plain, fn, inputs()...)[0]); r > dt.rel {
					t.Logf("the plain backend is off by %.2g·Σ|ab| here (kernels: %s)", r, simdKernel())
				}
			})
		}
	}
}

// recordingFunction is a compute.Function that records which of Transpose and Identity were
// called; every other method is left nil (calling one panics).
type recordingFunction struct {
	compute.Function
	calls []string
}

func (r *recordingFunction) Transpose(x compute.Value, perm ...int) (compute.Value, error) {
	r.calls = append(r.calls, fmt.Sprintf("Transpose%v", perm))
	return x, nil
}

func (r *recordingFunction) Identity(x compute.Value) (compute.Value, error) {
	r.calls = append(r.calls, "Identity")
	return x, nil
}

func TestIdentityTransposeBecomesIdentity(t *testing.T) {
	for _, tc := range []struct {
		perm []int
		want string
	}{
		{[]int{0, 1}, "Identity"},
		{[]int{0, 1, 2}, "Identity"},
		{nil, "Identity"},
		{[]int{1, 0}, "Transpose[1 0]"},
		{[]int{0, 2, 1}, "Transpose[0 2 1]"},
	} {
		inner := &recordingFunction{}
		f := &function{Function: inner}
		if _, err := f.Transpose(nil, tc.perm...); err != nil {
			t.Fatal(err)
		}
		if len(inner.calls) != 1 || inner.calls[0] != tc.want {
			t.Errorf("Transpose%v called %v on the Go backend, want [%s]", tc.perm, inner.calls, tc.want)
		}
	}
}

// dotRecorder is a compute.Function whose values are strings naming how they were built; it
// records the DotGeneral and Transpose calls the decorator makes.
type dotRecorder struct {
	compute.Function
	shapes map[compute.Value]shapes.Shape
	calls  []string
}

func (r *dotRecorder) Shape(v compute.Value) (shapes.Shape, error) { return r.shapes[v], nil }

func (r *dotRecorder) DotGeneral(lhs compute.Value, lhsContracting, lhsBatch []int, rhs compute.Value,
	rhsContracting, rhsBatch []int, _ compute.DotGeneralConfig) (compute.Value, error) {
	out := fmt.Sprintf("dot(%v,%v)", lhs, rhs)
	l, rr := r.shapes[lhs], r.shapes[rhs]
	r.shapes[out] = shapes.Make(dtypes.Float32, l.Dimensions[0], rr.Dimensions[0])
	r.calls = append(r.calls, out)
	return out, nil
}

func (r *dotRecorder) Transpose(x compute.Value, perm ...int) (compute.Value, error) {
	out := fmt.Sprintf("transpose(%v)", x)
	r.calls = append(r.calls, out)
	return out, nil
}

func TestTransposedProductBuiltSwapped(t *testing.T) {
	inner := &dotRecorder{shapes: map[compute.Value]shapes.Shape{
		"dy": shapes.Make(dtypes.Float32, 4, 3), // [out, M]
		"x":  shapes.Make(dtypes.Float32, 5, 3), // [in, M]
	}}
	f := &function{Function: inner, builder: &builder{backend: &decorated{opts: DecorateOptions{RewriteDotGeneral: true}}}}
	prod, err := f.DotGeneral("dy", []int{1}, nil, "x", []int{1}, nil, compute.DotGeneralConfig{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.Transpose(prod, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "dot(x,dy)"; got != want {
		t.Errorf("Transpose(dy·xᵀ) = %v, want %s", got, want)
	}
	if want := []string{"dot(dy,x)", "dot(x,dy)"}; !slices.Equal(inner.calls, want) {
		t.Errorf("calls %v, want %v", inner.calls, want)
	}
	// A value no DotGeneral produced is transposed.
	inner.shapes["a"] = shapes.Make(dtypes.Float32, 2, 3)
	if _, err := f.Transpose("a", 1, 0); err != nil || inner.calls[len(inner.calls)-1] != "transpose(a)" {
		t.Errorf("Transpose of a non-product: calls %v, err %v", inner.calls, err)
	}
}
