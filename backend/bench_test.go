package backend

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// benchDotCases are the DotGenerals of a GPT training step with batch 8, 4 heads of 32,
// 128 tokens, d_model 128 and MLP 512: attention scores and their gradients (batch·heads
// merged, and GoMLX's BSHD einsum form), and dense-layer gradients.
var benchDotCases = []dotCase{
	{name: "scores_q·kᵀ_[32,128,32]x[32,128,32]", lhsDims: []int{32, 128, 32}, lc: []int{2}, lb: []int{0},
		rhsDims: []int{32, 128, 32}, rc: []int{2}, rb: []int{0}},
	{name: "grad_dq=ds·k_[32,128,128]x[32,128,32]", lhsDims: []int{32, 128, 128}, lc: []int{2}, lb: []int{0},
		rhsDims: []int{32, 128, 32}, rc: []int{1}, rb: []int{0}},
	{name: "grad_dk=dsᵀ·q_[32,128,128]x[32,128,32]", lhsDims: []int{32, 128, 128}, lc: []int{1}, lb: []int{0},
		rhsDims: []int{32, 128, 32}, rc: []int{1}, rb: []int{0}},
	{name: "einsum_bqhd,bkhd->bhqk_[8,128,4,32]", lhsDims: []int{8, 128, 4, 32}, lc: []int{3}, lb: []int{0, 2},
		rhsDims: []int{8, 128, 4, 32}, rc: []int{3}, rb: []int{0, 2}},
	{name: "einsum_grad_bhqk,bkhd->bqhd_[8,4,128,128]", lhsDims: []int{8, 4, 128, 128}, lc: []int{3}, lb: []int{0, 1},
		rhsDims: []int{8, 128, 4, 32}, rc: []int{1}, rb: []int{0, 2}},
	{name: "dense_grad_dw=xᵀ·dy_[1024,128]x[1024,512]", lhsDims: []int{1024, 128}, lc: []int{0},
		rhsDims: []int{1024, 512}, rc: []int{0}},
	{name: "dense_grad_dx=dy·wᵀ_[1024,512]x[128,512]", lhsDims: []int{1024, 512}, lc: []int{1},
		rhsDims: []int{128, 512}, rc: []int{1}},
}

// pairedBench runs plain and decorated alternately in each iteration, so both see the same
// machine load, and reports each one's mean wall time and process CPU time and the speed-ups
// plain/decorated. On a shared machine the CPU-time ratio is the steadier of the two.
func pairedBench(b *testing.B, plain, decorated func()) {
	plain() // compile and upload outside the timing
	decorated()
	var wall, cpu [2]time.Duration
	order := []int{0, 1}
	for b.Loop() {
		for _, i := range order {
			w0, c0 := time.Now(), cpuTime(b)
			[]func(){plain, decorated}[i]()
			wall[i] += time.Since(w0)
			cpu[i] += cpuTime(b) - c0
		}
		order[0], order[1] = order[1], order[0] // alternate which one runs first
	}
	n := float64(b.N)
	b.ReportMetric(wall[0].Seconds()*1e3/n, "plain-ms")
	b.ReportMetric(wall[1].Seconds()*1e3/n, "decorated-ms")
	b.ReportMetric(wall[0].Seconds()/wall[1].Seconds(), "speedup-wall")
	b.ReportMetric(cpu[0].Seconds()/cpu[1].Seconds(), "speedup-cpu")
}

// cpuTime returns the CPU time used so far by this process (user and system).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDotGeneral compares the plain Go backend with the decorated one on each case.
func BenchmarkDotGeneral(b *testing.B) {
	plainBE, decoratedBE := newBackends(b)
	for _, tc := range benchDotCases {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(5, 6))
			lhs, rhs := randFloats(rng, prod(tc.lhsDims)), randFloats(rng, prod(tc.rhsDims))
			runner := func(be compute.Backend) func() {
				exec := graph.MustNewExec(be, func(l, r *graph.Node) *graph.Node {
					return graph.DotGeneral(l, tc.lc, tc.lb, r, tc.rc, tc.rb)
				})
				b.Cleanup(exec.Finalize)
				l := tensors.FromFlatDataAndDimensions(lhs, tc.lhsDims...)
				r := tensors.FromFlatDataAndDimensions(rhs, tc.rhsDims...)
				return func() { exec.MustExec1(l, r).MustFinalizeAll() }
			}
			pairedBench(b, runner(plainBE), runner(decoratedBE))
		})
	}
}

// BenchmarkTrainingGraph compares the backends on the forward and backward pass of
// trainingGraph at the size of a small GPT (batch 8, 128 tokens, d_model 128, 4 heads, MLP 512).
func BenchmarkTrainingGraph(b *testing.B) {
	plainBE, decoratedBE := newBackends(b)
	const B, T, D, H, E, F = 8, 128, 128, 4, 32, 512
	shapesList := [][]int{{B, T, D}, {D, H, E}, {D, H, E}, {D, H, E}, {D, F}, {F, D}}
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([][]float32, len(shapesList))
	for i, s := range shapesList {
		data[i] = randFloats(rng, prod(s))
	}
	runner := func(be compute.Backend) func() {
		exec := graph.MustNewExec(be, trainingGraph)
		b.Cleanup(exec.Finalize)
		args := make([]any, len(shapesList))
		for i, s := range shapesList {
			args[i] = tensors.FromFlatDataAndDimensions(data[i], s...)
		}
		return func() {
			for _, t := range exec.MustExec(args...) {
				t.MustFinalizeAll()
			}
		}
	}
	pairedBench(b, runner(plainBE), runner(decoratedBE))
}
