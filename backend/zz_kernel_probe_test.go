package backend

import (
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

func cpuNow() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestZZKernels(t *testing.T) {
	plain, _ := newBackends(t)
	for _, s := range [][4]int{{32, 128, 128, 32}, {32, 128, 32, 128}, {32, 128, 128, 128}, {32, 32, 128, 128}, {32, 128, 128, 8}, {32, 128, 8, 128}, {32, 128, 128, 4}, {1, 128, 128, 512}, {1,1024,512,128}} {
		B, N, M, K := s[0], s[1], s[2], s[3]
		flops := 2 * float64(B*N*M*K)
		rng := rand.New(rand.NewPCG(1, 1))
		type variant struct {
			name string
			exec *graph.Exec
			lhs, rhs *tensors.Tensor
			best, cpu time.Duration
		}
		var vs []*variant
		for _, lay := range []string{"T", "NT", "transp"} {
			var exec *graph.Exec
			rd := []int{B, M, K}
			switch lay {
			case "T":
				exec = graph.MustNewExec(plain, func(l, r *graph.Node) *graph.Node { return graph.DotGeneral(l, []int{2}, []int{0}, r, []int{2}, []int{0}) })
			case "NT":
				rd = []int{B, K, M}
				exec = graph.MustNewExec(plain, func(l, r *graph.Node) *graph.Node { return graph.DotGeneral(l, []int{2}, []int{0}, r, []int{1}, []int{0}) })
			default:
				exec = graph.MustNewExec(plain, func(l, r *graph.Node) *graph.Node { return graph.TransposeAllAxes(r, 0, 2, 1) })
			}
			v := &variant{name: lay, exec: exec, best: time.Hour}
			v.lhs = tensors.FromFlatDataAndDimensions(randFloats(rng, B*N*K), B, N, K)
			v.rhs = tensors.FromFlatDataAndDimensions(randFloats(rng, B*M*K), rd...)
			exec.MustExec1(v.lhs, v.rhs).MustFinalizeAll()
			vs = append(vs, v)
		}
		const rounds, reps = 15, 3
		for range rounds {
			for _, v := range vs {
				c0, w0 := cpuNow(), time.Now()
				for range reps {
					v.exec.MustExec1(v.lhs, v.rhs).MustFinalizeAll()
				}
				w := time.Since(w0) / reps
				v.cpu += (cpuNow() - c0)
				v.best = min(v.best, w)
			}
		}
		line := fmt.Sprintf("B%d N%d M%d K%d:", B, N, M, K)
		for _, v := range vs {
			line += fmt.Sprintf("  %s best %.2fms (%.1f GF/s) cpu %.2fms", v.name, v.best.Seconds()*1e3, flops/v.best.Seconds()/1e9, v.cpu.Seconds()*1e3/rounds/reps)
		}
		t.Log(line)
	}
}
