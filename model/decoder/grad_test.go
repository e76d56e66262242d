package decoder

import (
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// nextTokenLoss builds the mean next-token cross-entropy of ids [1, T] in the graph.
func nextTokenLoss(m *Model, scope *mlmodel.Scope, ids *Node) *Node {
	t := ids.Shape().Dimensions[1]
	h := Reshape(m.Hidden(scope, ids, nil), t, -1)
	logits := m.Head(scope, Slice(h, AxisRange(0, t-1)))              // [T-1, V]
	targets := Reshape(Slice(ids, AxisRange(), AxisRange(1, t)), t-1) // [T-1]
	logp := LogSoftmax(logits, -1)
	picked := ReduceSum(Mul(logp, OneHot(targets, m.cfg.VocabSize, dtypes.Float32)), -1)
	return Neg(ReduceAllMean(picked))
}

// TestGradientFiniteDifference compares the autodiff gradient of the loss with central
// differences for the largest-gradient entries of one weight of each kind, on a Qwen3 fixture
// (q/k norms) and a Llama one with attention biases.
func TestGradientFiniteDifference(t *testing.T) {
	tests := []struct {
		fixture string
		names   []string
	}{
		{"tiny_untied", []string{
			"model.embed_tokens.weight", "model.layers.0.input_layernorm.weight", "model.layers.0.self_attn.q_proj.weight",
			"model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight", "model.layers.0.self_attn.o_proj.weight",
			"model.layers.0.self_attn.q_norm.weight", "model.layers.1.self_attn.k_norm.weight", "model.layers.1.mlp.gate_proj.weight",
			"model.layers.1.mlp.up_proj.weight", "model.layers.1.mlp.down_proj.weight", "model.norm.weight", "lm_head.weight",
		}},
		{"llama_bias", []string{
			"model.layers.0.self_attn.q_proj.bias", "model.layers.0.self_attn.k_proj.bias", "model.layers.1.self_attn.v_proj.bias",
			"model.layers.1.self_attn.o_proj.bias", "model.layers.1.self_attn.q_proj.weight",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			dir := filepath.Join("testdata", tc.fixture)
			m, store := loadInto(t, dir)
			checkGradients(t, m, store, loadReference(t, dir), tc.names)
		})
	}
}

// checkGradients compares, for each variable of the Hugging Face names, the autodiff gradient of
// the reference sequence's loss with central differences at its two largest-gradient entries.
func checkGradients(t *testing.T, m *Model, store *mlmodel.Store, ref reference, names []string) {
	t.Helper()
	be := newBackend(t)
	vars := make([]*mlmodel.Variable, len(names))
	for i, name := range names {
		vars[i] = store.GetVariable("/" + VarPath(name))
		if vars[i] == nil {
			t.Fatalf("no variable for %s", name)
		}
	}
	ids := tensors.FromFlatDataAndDimensions(ref.InputIDs, 1, len(ref.InputIDs))
	gradExec, err := mlmodel.NewExec(be, store, func(scope *mlmodel.Scope, x *Node) []*Node {
		loss := nextTokenLoss(m, scope, x)
		params := make([]*Node, len(vars))
		for i, v := range vars {
			params[i] = v.NodeValue(x.Graph())
		}
		return append([]*Node{loss}, Gradient(loss, params...)...)
	})
	if err != nil {
		t.Fatal(err)
	}
	lossExec, err := mlmodel.NewExec(be, store, func(scope *mlmodel.Scope, x *Node) *Node { return nextTokenLoss(m, scope, x) })
	if err != nil {
		t.Fatal(err)
	}
	out, err := gradExec.Call(ids)
	if err != nil {
		t.Fatal(err)
	}
	if m.lora == nil {
		if loss := float64(tensors.ToScalar[float32](out[0])); math.Abs(loss-ref.Loss) > 1e-5 {
			t.Fatalf("graph loss %.7f, reference %.7f", loss, ref.Loss)
		}
	}
	lossAt := func() float64 {
		o, err := lossExec.Call(ids)
		if err != nil {
			t.Fatal(err)
		}
		return float64(tensors.ToScalar[float32](o[0]))
	}
	const eps = 1e-2
	for i, v := range vars {
		t.Run(names[i], func(t *testing.T) {
			grad := tensors.MustCopyFlatData[float32](out[1+i])
			orig := tensors.MustCopyFlatData[float32](v.MustValue())
			dims := v.Shape().Dimensions
			order := make([]int, len(grad))
			for j := range order {
				order[j] = j
			}
			slices.SortFunc(order, func(a, b int) int { return -cmpAbs(grad[a], grad[b]) })
			if grad[order[0]] == 0 {
				t.Fatalf("the gradient is zero everywhere: nothing to check")
			}
			for _, j := range order[:2] {
				perturbed := slices.Clone(orig)
				perturbed[j] = orig[j] + eps
				v.MustSetValue(tensors.FromFlatDataAndDimensions(perturbed, dims...))
				plus := lossAt()
				perturbed[j] = orig[j] - eps
				v.MustSetValue(tensors.FromFlatDataAndDimensions(perturbed, dims...))
				minus := lossAt()
				v.MustSetValue(tensors.FromFlatDataAndDimensions(orig, dims...))
				fd := (plus - minus) / (2 * eps)
				if g := float64(grad[j]); math.Abs(fd-g) > 2e-4+0.02*math.Abs(g) {
					t.Errorf("[%d]: autodiff %.6g, central difference %.6g", j, g, fd)
				}
			}
		})
	}
}

func cmpAbs(a, b float32) int {
	x, y := math.Abs(float64(a)), math.Abs(float64(b))
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}
