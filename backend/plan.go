package backend

import "slices"

// Layout is the form of the right operand of a canonical DotGeneral, whose left operand is
// always [B, N, K] (or [N, K] without batch axes) and whose output is [B, N, M].
type Layout int

const (
	// LayoutNonTransposed is the matmul layout, right operand [B, K, M].
	LayoutNonTransposed Layout = iota
	// LayoutTransposed has the right operand [B, M, K].
	LayoutTransposed
)

// String implements fmt.Stringer.
func (l Layout) String() string {
	if l == LayoutTransposed {
		return "transposed"
	}
	return "non-transposed"
}

// OperandPlan says how one operand is brought into its canonical form.
type OperandPlan struct {
	// Transpose is true when the operand's data must be permuted by Perm. It is false when the
	// permutation moves only axes of size 1 (or none): a reshape is enough.
	Transpose bool
	// Perm is the permutation of the operand's axes into (batch, cross, contracting) for the
	// left operand, or the order of Layout for the right one.
	Perm []int
	// Dims are the canonical dimensions after the reshape: 2 axes, or 3 with a batch axis.
	Dims []int
}

// DotPlan is a DotGeneral rewritten into a canonical matmul.
type DotPlan struct {
	// Swap computes the transposed product (rhs·lhs) and transposes its [B, M, N] output back.
	Swap bool
	// Layout of the canonical DotGeneral's right operand.
	Layout Layout
	// Batched is true when the canonical operands carry a leading batch axis.
	Batched bool
	// A and B are the canonical left and right operands: lhs and rhs, or rhs and lhs if Swap.
	A, B OperandPlan
	// OutputDims are the dimensions of the original DotGeneral's output.
	OutputDims []int
	// Cost is the number of elements copied by transpositions (operands and output).
	Cost int
}

// PlanDotGeneral chooses how to compute a DotGeneral fastest on the Go backend of this
// machine. It returns false when the call should be passed to the backend unchanged: invalid
// or dynamic shapes (the backend reports the error), a layout the backend runs well as it is,
// or no plan better than the backend's own rewriting.
//
// The Go backend runs two layouts directly: lhs [B,N,K] with rhs [B,K,M] (non-transposed) or
// rhs [B,M,K] (transposed), with at most one leading batch axis. Any other DotGeneral it
// transposes both operands into the transposed layout, which for gradients (xᵀ·dy and the
// like) copies both operands. Plans use either layout, with the operands in order or swapped
// (computing the transposed product and transposing the output back):
//
// the plan that copies the fewest elements wins, the non-transposed layout on ties, and layouts
// the backend takes directly are left alone. (With GoMLX v0.28.2 small products also had to
// avoid the AVX2 kernel of the transposed layout, 10× slower than the other; v0.28.16's kernels
// run both layouts at similar speeds.)
func PlanDotGeneral(lhsDims, lhsContracting, lhsBatch, rhsDims, rhsContracting, rhsBatch []int) (DotPlan, bool) {
	if !validDotAxes(lhsDims, lhsContracting, lhsBatch, rhsDims, rhsContracting, rhsBatch) {
		return DotPlan{}, false
	}
	lhsCross := crossAxes(len(lhsDims), lhsContracting, lhsBatch)
	rhsCross := crossAxes(len(rhsDims), rhsContracting, rhsBatch)
	n, m := prodAxes(lhsDims, lhsCross), prodAxes(rhsDims, rhsCross)

	out := make([]int, 0, len(lhsBatch)+len(lhsCross)+len(rhsCross))
	for _, a := range lhsBatch {
		out = append(out, lhsDims[a])
	}
	for _, a := range lhsCross {
		out = append(out, lhsDims[a])
	}
	for _, a := range rhsCross {
		out = append(out, rhsDims[a])
	}

	lhs := side{dims: lhsDims, batch: lhsBatch, cross: lhsCross, contracting: lhsContracting}
	rhs := side{dims: rhsDims, batch: rhsBatch, cross: rhsCross, contracting: rhsContracting}
	plan := func(swap bool, layout Layout) DotPlan {
		a, b := lhs, rhs
		if swap {
			a, b = rhs, lhs
		}
		p := DotPlan{Swap: swap, Layout: layout, Batched: len(lhsBatch) > 0, OutputDims: out}
		p.A = a.arrange(LayoutTransposed, p.Batched) // [B, N, K]: the left operand's only form
		p.B = b.arrange(layout, p.Batched)
		if p.A.Transpose {
			p.Cost += prod(a.dims)
		}
		if p.B.Transpose {
			p.Cost += prod(b.dims)
		}
		if swap && n > 1 && m > 1 {
			p.Cost += prod(out) // [B, M, N] → [B, N, M]
		}
		return p
	}

	if backendLayout(lhsDims, lhsContracting, lhsBatch, rhsDims, rhsContracting, rhsBatch) != layoutIncompatible {
		return DotPlan{}, false
	}
	// The backend's own rewriting: both operands into the transposed layout.
	baseline := plan(false, LayoutTransposed)
	best := plan(false, LayoutNonTransposed)
	for _, c := range []DotPlan{plan(true, LayoutNonTransposed), baseline, plan(true, LayoutTransposed)} {
		if c.Cost < best.Cost {
			best = c
		}
	}
	if best.Cost > baseline.Cost || (best.Cost == baseline.Cost && best.Layout == LayoutTransposed && !best.Swap) {
		return DotPlan{}, false
	}
	return best, true
}

// transposesData reports whether permuting an array of the given dimensions moves data.
func transposesData(dims, perm []int) bool {
	last := -1
	for _, a := range perm {
		if dims[a] == 1 {
			continue
		}
		if a < last {
			return true
		}
		last = a
	}
	return false
}

// side is one DotGeneral operand with its axes classified.
type side struct {
	dims                      []int
	batch, cross, contracting []int
}

// arrange plans the operand's canonical form: (batch, cross, contracting) for
// LayoutTransposed, (batch, contracting, cross) for LayoutNonTransposed.
func (s side) arrange(layout Layout, batched bool) OperandPlan {
	perm := slices.Concat(s.batch, s.cross, s.contracting)
	cross, contracting := prodAxes(s.dims, s.cross), prodAxes(s.dims, s.contracting)
	dims := []int{cross, contracting}
	if layout == LayoutNonTransposed {
		perm = slices.Concat(s.batch, s.contracting, s.cross)
		dims = []int{contracting, cross}
	}
	if batched {
		dims = append([]int{prodAxes(s.dims, s.batch)}, dims...)
	}
	return OperandPlan{Transpose: transposesData(s.dims, perm), Perm: perm, Dims: dims}
}

// Layout classes of an unmodified DotGeneral, as the Go backend sees it.
const (
	layoutIncompatible = iota
	layoutNonTransposedDirect
	layoutTransposedDirect
)

// backendLayout mirrors the Go backend's own layout test: one contracting axis, last in lhs,
// at most one batch axis, leading in both operands.
func backendLayout(lhsDims, lhsContracting, lhsBatch, rhsDims, rhsContracting, rhsBatch []int) int {
	if len(lhsContracting) != 1 || len(rhsContracting) != 1 || len(lhsBatch) > 1 || len(rhsBatch) != len(lhsBatch) {
		return layoutIncompatible
	}
	if len(lhsBatch) == 1 && (lhsBatch[0] != 0 || rhsBatch[0] != 0) {
		return layoutIncompatible
	}
	if lhsContracting[0] != len(lhsDims)-1 {
		return layoutIncompatible
	}
	switch rhsContracting[0] {
	case len(lhsBatch):
		return layoutNonTransposedDirect
	case len(rhsDims) - 1:
		return layoutTransposedDirect
	}
	return layoutIncompatible
}

// validDotAxes reports whether the axes describe a valid DotGeneral on static, non-empty shapes.
func validDotAxes(lhsDims, lhsContracting, lhsBatch, rhsDims, rhsContracting, rhsBatch []int) bool {
	if len(lhsContracting) != len(rhsContracting) || len(lhsBatch) != len(rhsBatch) {
		return false
	}
	for _, d := range slices.Concat(lhsDims, rhsDims) {
		if d <= 0 {
			return false
		}
	}
	if !distinctAxes(len(lhsDims), lhsContracting, lhsBatch) || !distinctAxes(len(rhsDims), rhsContracting, rhsBatch) {
		return false
	}
	for i := range lhsContracting {
		if lhsDims[lhsContracting[i]] != rhsDims[rhsContracting[i]] {
			return false
		}
	}
	for i := range lhsBatch {
		if lhsDims[lhsBatch[i]] != rhsDims[rhsBatch[i]] {
			return false
		}
	}
	return true
}

// distinctAxes reports whether all axes are in [0, rank) and appear once.
func distinctAxes(rank int, lists ...[]int) bool {
	seen := make([]bool, rank)
	for _, axes := range lists {
		for _, a := range axes {
			if a < 0 || a >= rank || seen[a] {
				return false
			}
			seen[a] = true
		}
	}
	return true
}

// crossAxes returns the axes that are neither contracting nor batch, in increasing order.
func crossAxes(rank int, contracting, batch []int) []int {
	var cross []int
	for a := range rank {
		if !slices.Contains(contracting, a) && !slices.Contains(batch, a) {
			cross = append(cross, a)
		}
	}
	return cross
}

func prodAxes(dims, axes []int) int {
	p := 1
	for _, a := range axes {
		p *= dims[a]
	}
	return p
}

func prod(dims []int) int {
	p := 1
	for _, d := range dims {
		p *= d
	}
	return p
}
