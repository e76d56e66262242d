package train

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// AdamW constants, as in torch.optim.AdamW and the Hugging Face Trainer.
const (
	adamBeta1   = 0.9
	adamBeta2   = 0.999
	adamEpsilon = 1e-8
	// clipEpsilon is added to the norm before dividing, as torch.nn.utils.clip_grad_norm_ does.
	clipEpsilon = 1e-6
)

// rowLogits builds the logits [n, V] of the model at the flat positions rows [n] of the batch.
// packed, when set, computes the hidden states of packed rows (the model's HiddenPacked); else
// a training graph of a TrainingModel (rng set) uses HiddenTraining, and any other the model's
// Hidden.
func rowLogits(m Model, packed func(*mlmodel.Scope, *graph.Node, *graph.Node) *graph.Node, scope *mlmodel.Scope, ids, mask, rows, rng *graph.Node) *graph.Node {
	var h *graph.Node // (B, T, D)
	tm, training := m.(TrainingModel)
	switch {
	case packed != nil:
		h = packed(scope, ids, mask)
	case training && rng != nil:
		h = tm.HiddenTraining(scope, ids, mask, rng)
	default:
		h = m.Hidden(scope, ids, mask)
	}
	b, t, d := h.Shape().Dim(0), h.Shape().Dim(1), h.Shape().Dim(2)
	n := rows.Shape().Dim(0)
	sel := graph.Gather(graph.Reshape(h, b*t, d), graph.Reshape(rows, n, 1)) // (n, D)
	return m.Head(scope, sel)                                                // (n, V)
}

// GlobalNorm is the L2 norm of all of grads together, computed as
// torch.nn.utils.clip_grad_norm_ does: the norm of the per-tensor norms.
func GlobalNorm(grads []*graph.Node) *graph.Node {
	norms := make([]*graph.Node, len(grads))
	for i, g := range grads {
		norms[i] = graph.Reshape(graph.Sqrt(graph.ReduceAllSum(graph.Square(g))), 1)
	}
	return graph.Sqrt(graph.ReduceAllSum(graph.Square(graph.Concatenate(norms, 0))))
}

// ClipByGlobalNorm scales grads by min(1, maxNorm/(norm+1e-6)), like clip_grad_norm_, and
// returns them with the pre-clip norm. maxNorm ≤ 0 leaves grads unchanged.
func ClipByGlobalNorm(grads []*graph.Node, maxNorm float64) (clipped []*graph.Node, norm *graph.Node) {
	norm = GlobalNorm(grads)
	if maxNorm <= 0 {
		return grads, norm
	}
	coef := clipScale(norm, maxNorm)
	clipped = make([]*graph.Node, len(grads))
	for i, gr := range grads {
		clipped[i] = graph.Mul(gr, coef)
	}
	return clipped, norm
}

// clipScale is the factor ClipByGlobalNorm scales the gradients by: min(1, maxNorm/(norm+1e-6)),
// or 1 when maxNorm ≤ 0.
func clipScale(norm *graph.Node, maxNorm float64) *graph.Node {
	g := norm.Graph()
	if maxNorm <= 0 {
		return graph.ScalarOne(g, dtypes.Float32)
	}
	coef := graph.Div(graph.Scalar(g, dtypes.Float32, maxNorm), graph.AddScalar(norm, clipEpsilon))
	return graph.Min(coef, graph.ScalarOne(g, dtypes.Float32))
}

// adamHyper holds the per-step scalars of an AdamW update, computed on the host in float64
// exactly as PyTorch does, then rounded to float32 as PyTorch's kernels do.
type adamHyper struct {
	negStepSize float64 // -lr / (1 - β1^t)
	bc2Sqrt     float64 // sqrt(1 - β2^t)
	decayFactor float64 // 1 - lr·weight_decay
}

func (h adamHyper) vector() []float32 {
	return []float32{float32(h.negStepSize), float32(h.bc2Sqrt), float32(h.decayFactor)}
}

// AdamWUpdate applies one torch.optim.AdamW step to param with gradient grad and moments m, v.
// hyper is the [3] vector (−lr/(1−β1^t), sqrt(1−β2^t), 1−lr·wd); decay says whether the
// decoupled weight decay applies to this parameter. It returns the new param, m and v.
func AdamWUpdate(param, grad, m, v, hyper *graph.Node, decay bool) (newParam, newM, newV *graph.Node) {
	at := func(i int) *graph.Node { return graph.Reshape(graph.Slice(hyper, graph.AxisRange(i, i+1))) }
	negStepSize, bc2Sqrt, decayFactor := at(0), at(1), at(2)
	if decay {
		param = graph.Mul(param, decayFactor)
	}
	newM = graph.Add(graph.MulScalar(m, adamBeta1), graph.MulScalar(grad, 1-adamBeta1))
	newV = graph.Add(graph.MulScalar(v, adamBeta2), graph.Mul(graph.MulScalar(grad, 1-adamBeta2), grad))
	denom := graph.AddScalar(graph.Div(graph.Sqrt(newV), bc2Sqrt), adamEpsilon)
	newParam = graph.Add(param, graph.Mul(negStepSize, graph.Div(newM, denom)))
	return newParam, newM, newV
}
