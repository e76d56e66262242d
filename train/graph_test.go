package train_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/train"
)

func TestClipByGlobalNorm(t *testing.T) {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	// Two gradients with global norm sqrt(3²+4²+12²) = 13.
	a, b := []float32{3, 4}, []float32{12}
	tests := []struct {
		name    string
		maxNorm float64
		scale   float64
	}{
		{"clipped", 1, 1 / (13 + 1e-6)},
		{"below the limit", 100, 1},
		{"disabled", 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := graph.NewExec(be, func(x, y *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
				c, norm := train.ClipByGlobalNorm([]*graph.Node{x, y}, tt.maxNorm)
				return c[0], c[1], norm
			})
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.Exec(tensors.FromValue(a), tensors.FromValue(b))
			if err != nil {
				t.Fatal(err)
			}
			if n := tensors.ToScalar[float32](out[2]); n != 13 {
				t.Errorf("norm %v, want 13", n)
			}
			got := append(tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])...)
			for i, g := range []float32{3, 4, 12} {
				if want := float32(float64(g) * tt.scale); math.Abs(float64(got[i]-want)) > 1e-6 {
					t.Errorf("grad %d = %v, want %v", i, got[i], want)
				}
			}
		})
	}
}

// adamRef is torch.optim.AdamW's single-tensor update in float64.
func adamRef(p, g, m, v []float64, lr, wd float64, step int) {
	bc1 := 1 - math.Pow(0.9, float64(step))
	bc2 := 1 - math.Pow(0.999, float64(step))
	for i := range p {
		p[i] *= 1 - lr*wd
		m[i] = 0.9*m[i] + 0.1*g[i]
		v[i] = 0.999*v[i] + 0.001*g[i]*g[i]
		p[i] -= lr / bc1 * m[i] / (math.Sqrt(v[i])/math.Sqrt(bc2) + 1e-8)
	}
}

func TestAdamWUpdate(t *testing.T) {
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	for _, decay := range []bool{false, true} {
		t.Run(map[bool]string{false: "no decay", true: "decay"}[decay], func(t *testing.T) {
			e, err := graph.NewExec(be, func(p, g, m, v, h *graph.Node) (*graph.Node, *graph.Node, *graph.Node) {
				return train.AdamWUpdate(p, g, m, v, h, decay)
			})
			if err != nil {
				t.Fatal(err)
			}
			const lr, wd = 0.01, 0.1
			p := []float64{0.5, -1, 2}
			m, v := make([]float64, 3), make([]float64, 3)
			pf := []float32{0.5, -1, 2}
			mf, vf := make([]float32, 3), make([]float32, 3)
			for step := 1; step <= 5; step++ {
				g := []float64{0.1 * float64(step), -0.3, 1e-3}
				gf := []float32{float32(g[0]), float32(g[1]), float32(g[2])}
				wdRef := 0.0
				if decay {
					wdRef = wd
				}
				adamRef(p, g, m, v, lr, wdRef, step)
				h := []float32{float32(-lr / (1 - math.Pow(0.9, float64(step)))), float32(math.Sqrt(1 - math.Pow(0.999, float64(step)))), float32(1 - lr*wd)}
				out, err := e.Exec(tensors.FromValue(pf), tensors.FromValue(gf), tensors.FromValue(mf), tensors.FromValue(vf), tensors.FromValue(h))
				if err != nil {
					t.Fatal(err)
				}
				pf, mf, vf = tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1]), tensors.MustCopyFlatData[float32](out[2])
				for i := range p {
					if math.Abs(float64(pf[i])-p[i]) > 1e-6 {
						t.Errorf("step %d param %d = %v, reference %v", step, i, pf[i], p[i])
					}
				}
			}
		})
	}
}
