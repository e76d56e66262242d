package backend

import (
	"fmt"
	"log/slog"
	"reflect"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
)

// DecorateOptions selects what the decorator returned by [Decorate] changes.
type DecorateOptions struct {
	// RewriteDotGeneral rewrites each DotGeneral into the operand layout that the Go backend's
	// fastest kernels take (see [PlanDotGeneral]), for forward and gradient graphs alike.
	RewriteDotGeneral bool
	// DisableFusion makes every fused op return compute.ErrNotImplemented, so GoMLX falls back
	// to the decomposed graph (the per-backend equivalent of GOMLX_FUSION=false).
	DisableFusion bool
	// Schedule is the inner Go backend's schedule, recorded here for [Describe]: the decorator
	// does not change it.
	Schedule Schedule
}

// Decorate wraps inner (normally the pure-Go backend) so that graphs built on it are
// rewritten as opts says. Everything else is delegated to inner.
//
// The wrapper wraps the whole object family of compute: Backend, Builder, Function,
// Executable and Buffer. GoMLX tensors remember buffer.Backend() and refuse buffers of
// another backend instance, so buffers handed out carry the wrapper as their backend and are
// unwrapped before they reach inner. The Go backend type-asserts closures to its own function
// type, so functions passed to Call, Sort, While and If are unwrapped too.
func Decorate(inner compute.Backend, opts DecorateOptions) compute.Backend {
	return &decorated{Backend: inner, opts: opts}
}

// Undecorate returns the backend wrapped by [Decorate] and its options; for any other backend
// it returns be itself and false.
func Undecorate(be compute.Backend) (inner compute.Backend, opts DecorateOptions, ok bool) {
	if d, isDecorated := be.(*decorated); isDecorated {
		return d.Backend, d.opts, true
	}
	return be, DecorateOptions{}, false
}

// decorated is the compute.Backend returned by Decorate.
type decorated struct {
	compute.Backend
	opts DecorateOptions
}

// Description implements compute.Backend.
func (d *decorated) Description() string {
	return fmt.Sprintf("%s, decorated (dotgeneral layout rewrite=%t, fusion=%t)",
		d.Backend.Description(), d.opts.RewriteDotGeneral, !d.opts.DisableFusion)
}

// Capabilities implements compute.Backend. It never advertises PreferConstantsForVariables:
// with it, GoMLX bakes variables' current values into a graph as constants unless the graph is
// marked as training, and sftlab caches its graphs (eval, gradient accumulation, generation),
// so a cached graph would go on computing with the weights of the step it was built at.
// Without fusion, fused ops are not advertised either.
func (d *decorated) Capabilities() compute.Capabilities {
	c := d.Backend.Capabilities().Clone()
	c.PreferConstantsForVariables = false
	if d.opts.DisableFusion {
		for _, op := range fusedOps {
			delete(c.Operations, op)
		}
	}
	return c
}

// fusedOps are the operations refused when fusion is disabled.
var fusedOps = []compute.OpType{
	compute.OpTypeFusedActivation, compute.OpTypeFusedActivationVJP,
	compute.OpTypeFusedSoftmax, compute.OpTypeFusedLayerNorm, compute.OpTypeFusedGelu,
	compute.OpTypeFusedDense, compute.OpTypeFusedDenseVJP, compute.OpTypeFusedScaledDotProductAttention,
	compute.OpTypeFusedScaledDotProductAttentionVJP, compute.OpTypeFusedAttentionQKVProjection,
	compute.OpTypeFusedQuantizedDense,
}

// Builder implements compute.Backend.
func (d *decorated) Builder(name string) compute.Builder {
	return &builder{Builder: d.Backend.Builder(name), backend: d}
}

// BufferFromFlatData implements compute.Backend.
func (d *decorated) BufferFromFlatData(deviceNum compute.DeviceNum, flat any, shape shapes.Shape) (compute.Buffer, error) {
	buf, err := d.Backend.BufferFromFlatData(deviceNum, flat, shape)
	if err != nil {
		return nil, err
	}
	return d.wrapBuffer(buf), nil
}

// NewSharedBuffer implements compute.Backend.
func (d *decorated) NewSharedBuffer(deviceNum compute.DeviceNum, shape shapes.Shape) (compute.Buffer, any, error) {
	buf, flat, err := d.Backend.NewSharedBuffer(deviceNum, shape)
	if err != nil {
		return nil, nil, err
	}
	return d.wrapBuffer(buf), flat, nil
}

func (d *decorated) wrapBuffer(buf compute.Buffer) compute.Buffer {
	if buf == nil {
		return nil
	}
	return &buffer{Buffer: buf, backend: d}
}

// buffer is a Buffer of the inner backend that reports the decorator as its backend.
type buffer struct {
	compute.Buffer
	backend *decorated
}

// Backend implements compute.Buffer.
func (b *buffer) Backend() compute.Backend { return b.backend }

// CopyToDevice implements compute.Buffer.
func (b *buffer) CopyToDevice(deviceNum compute.DeviceNum) (compute.Buffer, error) {
	buf, err := b.Buffer.CopyToDevice(deviceNum)
	if err != nil {
		return nil, err
	}
	return b.backend.wrapBuffer(buf), nil
}

// unwrapBuffer returns the inner backend's buffer.
func unwrapBuffer(buf compute.Buffer) compute.Buffer {
	if b, ok := buf.(*buffer); ok {
		return b.Buffer
	}
	return buf
}

// builder wraps a compute.Builder so its functions are decorated.
type builder struct {
	compute.Builder
	backend *decorated
	main    *function
}

// Main implements compute.Builder; it returns the same decorated function every time.
func (b *builder) Main() compute.Function {
	if b.main == nil {
		b.main = &function{Function: b.Builder.Main(), builder: b}
	}
	return b.main
}

// NewFunction implements compute.Builder.
func (b *builder) NewFunction(name string) (compute.Function, error) {
	fn, err := b.Builder.NewFunction(name)
	if err != nil {
		return nil, err
	}
	return &function{Function: fn, builder: b}, nil
}

// Compile implements compute.Builder.
func (b *builder) Compile() (compute.Executable, error) {
	exec, err := b.Builder.Compile()
	if err != nil {
		return nil, err
	}
	return &executable{Executable: exec, backend: b.backend}, nil
}

// executable unwraps input buffers and wraps output buffers.
type executable struct {
	compute.Executable
	backend *decorated
}

// Execute implements compute.Executable.
func (e *executable) Execute(inputs []compute.Buffer, donate []bool, defaultDevice compute.DeviceNum) ([]compute.Buffer, error) {
	innerInputs := make([]compute.Buffer, len(inputs))
	for i, in := range inputs {
		innerInputs[i] = unwrapBuffer(in)
	}
	outputs, err := e.Executable.Execute(innerInputs, donate, defaultDevice)
	if err != nil {
		return nil, err
	}
	for i, out := range outputs {
		outputs[i] = e.backend.wrapBuffer(out)
	}
	return outputs, nil
}

// function decorates a compute.Function: it rewrites DotGeneral and unwraps closures.
type function struct {
	compute.Function
	builder *builder
	parent  *function
	// dots remembers the operands of the DotGenerals built in this function, by their
	// result, so that Transpose can build a transposed product directly (see Transpose).
	dots map[compute.Value]dotCall
}

// dotCall is the arguments of one DotGeneral.
type dotCall struct {
	lhs, rhs                     compute.Value
	lhsContracting, lhsBatch     []int
	rhsContracting, rhsBatch     []int
	lhsCrossCount, rhsCrossCount int
	config                       compute.DotGeneralConfig
}

// swappedPerm is the permutation that turns the DotGeneral's output [batch, lhs cross, rhs
// cross] into the output of the same product with its operands swapped, [batch, rhs cross,
// lhs cross].
func (d dotCall) swappedPerm() []int {
	nb := len(d.lhsBatch)
	perm := make([]int, 0, nb+d.lhsCrossCount+d.rhsCrossCount)
	for i := range nb {
		perm = append(perm, i)
	}
	for i := range d.rhsCrossCount {
		perm = append(perm, nb+d.lhsCrossCount+i)
	}
	for i := range d.lhsCrossCount {
		perm = append(perm, nb+i)
	}
	return perm
}

// unwrapFunction returns the inner backend's function.
func unwrapFunction(fn compute.Function) compute.Function {
	if f, ok := fn.(*function); ok {
		return f.Function
	}
	return fn
}

// Builder implements compute.Function.
func (f *function) Builder() compute.Builder { return f.builder }

// Parent implements compute.Function.
func (f *function) Parent() compute.Function {
	if f.parent == nil {
		return nil
	}
	return f.parent
}

// Closure implements compute.Function.
func (f *function) Closure() (compute.Function, error) {
	c, err := f.Function.Closure()
	if err != nil {
		return nil, err
	}
	return &function{Function: c, builder: f.builder, parent: f}, nil
}

// Call implements compute.Function.
func (f *function) Call(fn compute.Function, inputs ...compute.Value) ([]compute.Value, error) {
	return f.Function.Call(unwrapFunction(fn), inputs...)
}

// Sort implements compute.Function.
func (f *function) Sort(comparator compute.Function, axis int, isStable bool, inputs ...compute.Value) ([]compute.Value, error) {
	return f.Function.Sort(unwrapFunction(comparator), axis, isStable, inputs...)
}

// While implements compute.Function.
func (f *function) While(cond, body compute.Function, initialState ...compute.Value) ([]compute.Value, error) {
	return f.Function.While(unwrapFunction(cond), unwrapFunction(body), initialState...)
}

// If implements compute.Function.
func (f *function) If(pred compute.Value, trueBranch, falseBranch compute.Function) ([]compute.Value, error) {
	return f.Function.If(pred, unwrapFunction(trueBranch), unwrapFunction(falseBranch))
}

// Transpose implements compute.Function. A transposition that keeps every axis in place is
// emitted as an Identity: GoMLX's DotGeneral gradient transposes its result "back" even when the
// permutation is the identity, and the Go backend copies the data for it, which for the
// gradient of a 151,936 × 1,024 embedding is a 600 MB buffer and copy per step. An Identity
// hands the buffer through when nothing else reads it.
//
// A transposition of a DotGeneral's result that only swaps its two groups of free axes is
// built as the DotGeneral with its operands swapped: GoMLX's DotGeneral gradient computes
// every weight gradient as [out, in] and transposes it to the weight's [in, out], which for
// Qwen3-0.6B copied 440 M elements per step. The first product is then used by nothing, and
// the Go backend does not run it.
func (f *function) Transpose(x compute.Value, permutation ...int) (compute.Value, error) {
	if isIdentityPermutation(permutation) {
		return f.Function.Identity(x)
	}
	if d, ok := f.dotOf(x); ok && slices.Equal(permutation, d.swappedPerm()) {
		return f.DotGeneral(d.rhs, d.rhsContracting, d.rhsBatch, d.lhs, d.lhsContracting, d.lhsBatch, d.config)
	}
	return f.Function.Transpose(x, permutation...)
}

// dotOf returns the arguments of the DotGeneral that produced v in this function, if one did.
func (f *function) dotOf(v compute.Value) (dotCall, bool) {
	if f.dots == nil || !reflect.ValueOf(v).Comparable() {
		return dotCall{}, false
	}
	d, ok := f.dots[v]
	return d, ok
}

// rememberDot records the arguments of the DotGeneral whose result is v.
func (f *function) rememberDot(v compute.Value, d dotCall) {
	if v == nil || !reflect.ValueOf(v).Comparable() {
		return
	}
	if f.dots == nil {
		f.dots = map[compute.Value]dotCall{}
	}
	f.dots[v] = d
}

// isIdentityPermutation reports whether perm maps every axis to itself.
func isIdentityPermutation(perm []int) bool {
	for i, a := range perm {
		if a != i {
			return false
		}
	}
	return true
}

// DotGeneral implements compute.Function, emitting the layout chosen by PlanDotGeneral when
// rewriting is on, and remembering the product for Transpose.
func (f *function) DotGeneral(lhs compute.Value, lhsContractingAxes, lhsBatchAxes []int,
	rhs compute.Value, rhsContractingAxes, rhsBatchAxes []int,
	config compute.DotGeneralConfig) (compute.Value, error) {
	passThrough := func() (compute.Value, error) {
		return f.Function.DotGeneral(lhs, lhsContractingAxes, lhsBatchAxes, rhs, rhsContractingAxes, rhsBatchAxes, config)
	}
	if !f.builder.backend.opts.RewriteDotGeneral {
		return passThrough()
	}
	lhsShape, err := f.Function.Shape(lhs)
	if err != nil {
		return nil, err
	}
	rhsShape, err := f.Function.Shape(rhs)
	if err != nil {
		return nil, err
	}
	var out compute.Value
	plan, ok := PlanDotGeneral(lhsShape.Dimensions, lhsContractingAxes, lhsBatchAxes,
		rhsShape.Dimensions, rhsContractingAxes, rhsBatchAxes)
	if lhsShape.DType != rhsShape.DType || lhsShape.DType == dtypes.InvalidDType || !ok {
		out, err = passThrough()
	} else {
		slog.Debug("backend: DotGeneral rewritten", "lhs", lhsShape.Dimensions, "lhs_contracting", lhsContractingAxes,
			"lhs_batch", lhsBatchAxes, "rhs", rhsShape.Dimensions, "rhs_contracting", rhsContractingAxes,
			"rhs_batch", rhsBatchAxes, "swap", plan.Swap, "layout", plan.Layout, "elements_copied", plan.Cost)
		out, err = f.emit(plan, lhs, rhs, config)
	}
	if err != nil {
		return nil, err
	}
	f.rememberDot(out, dotCall{lhs: lhs, rhs: rhs,
		lhsContracting: lhsContractingAxes, lhsBatch: lhsBatchAxes,
		rhsContracting: rhsContractingAxes, rhsBatch: rhsBatchAxes,
		lhsCrossCount: len(lhsShape.Dimensions) - len(lhsContractingAxes) - len(lhsBatchAxes),
		rhsCrossCount: len(rhsShape.Dimensions) - len(rhsContractingAxes) - len(rhsBatchAxes),
		config:        config})
	return out, nil
}

// emit builds the graph of plan: operand permutations, reshapes, the canonical DotGeneral and
// the output transposition and reshape.
func (f *function) emit(p DotPlan, lhs, rhs compute.Value, config compute.DotGeneralConfig) (compute.Value, error) {
	a, b := lhs, rhs
	if p.Swap {
		a, b = rhs, lhs
	}
	a, err := f.arrange(a, p.A)
	if err != nil {
		return nil, err
	}
	b, err = f.arrange(b, p.B)
	if err != nil {
		return nil, err
	}
	var batch []int
	if p.Batched {
		batch = []int{0}
	}
	rank := 2
	if p.Batched {
		rank = 3
	}
	bContract := rank - 2 // [B,K,M] or [K,M]: K comes first after the batch axis
	if p.Layout == LayoutTransposed {
		bContract = rank - 1 // [B,M,K]
	}
	out, err := f.Function.DotGeneral(a, []int{rank - 1}, batch, b, []int{bContract}, batch, config)
	if err != nil {
		return nil, err
	}
	if p.Swap {
		// out is [B,M,N]; the caller wants [B,N,M]: a transposition unless M or N is 1, when the
		// final reshape suffices.
		shape, err := f.Function.Shape(out)
		if err != nil {
			return nil, err
		}
		r := shape.Rank()
		if shape.Dimensions[r-1] > 1 && shape.Dimensions[r-2] > 1 {
			perm := []int{1, 0}
			if p.Batched {
				perm = []int{0, 2, 1}
			}
			if out, err = f.Function.Transpose(out, perm...); err != nil {
				return nil, err
			}
		}
	}
	return f.Function.Reshape(out, p.OutputDims...)
}

// arrange permutes (or, when the permutation moves only size-1 axes, just reshapes) an
// operand into the plan's canonical 2D or 3D form.
func (f *function) arrange(v compute.Value, op OperandPlan) (compute.Value, error) {
	var err error
	if op.Transpose {
		if v, err = f.Function.Transpose(v, op.Perm...); err != nil {
			return nil, err
		}
	}
	shape, err := f.Function.Shape(v)
	if err != nil {
		return nil, err
	}
	if slices.Equal(shape.Dimensions, op.Dims) {
		return v, nil
	}
	return f.Function.Reshape(v, op.Dims...)
}

// notImplemented is returned by fused ops when fusion is disabled.
func notImplemented(op string) error {
	return fmt.Errorf("%s disabled by backend option DisableFusion: %w", op, compute.ErrNotImplemented)
}

// FusedSoftmax implements compute.Function.
func (f *function) FusedSoftmax(x compute.Value, axis int) (compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, notImplemented("FusedSoftmax")
	}
	return f.Function.FusedSoftmax(x, axis)
}

// FusedActivation implements compute.Function.
func (f *function) FusedActivation(x compute.Value, cfg compute.ActivationConfig) (compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, notImplemented("FusedActivation")
	}
	return f.Function.FusedActivation(x, cfg)
}

// FusedActivationVJP implements compute.Function.
func (f *function) FusedActivationVJP(y, x, dOutput compute.Value, cfg compute.ActivationConfig) (compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, notImplemented("FusedActivationVJP")
	}
	return f.Function.FusedActivationVJP(y, x, dOutput, cfg)
}

// FusedLayerNorm implements compute.Function.
func (f *function) FusedLayerNorm(x compute.Value, axes []int, epsilon float64, gamma, beta compute.Value) (compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, notImplemented("FusedLayerNorm")
	}
	return f.Function.FusedLayerNorm(x, axes, epsilon, gamma, beta)
}

// FusedDense implements compute.Function.
func (f *function) FusedDense(x, weight, bias compute.Value, options compute.DenseConfig) (compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, notImplemented("FusedDense")
	}
	return f.Function.FusedDense(x, weight, bias, options)
}

// FusedDenseVJP implements compute.Function.
func (f *function) FusedDenseVJP(x, weight, bias, y, dOutput compute.Value, options compute.DenseConfig) (dx, dWeight, dBias compute.Value, err error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, nil, nil, notImplemented("FusedDenseVJP")
	}
	return f.Function.FusedDenseVJP(x, weight, bias, y, dOutput, options)
}

// FusedScaledDotProductAttention implements compute.Function.
func (f *function) FusedScaledDotProductAttention(query, key, value compute.Value,
	axesLayout compute.AttentionAxesLayout, options *compute.ScaledDotProductAttentionConfig,
) (compute.Value, []compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, nil, notImplemented("FusedScaledDotProductAttention")
	}
	return f.Function.FusedScaledDotProductAttention(query, key, value, axesLayout, options)
}

// FusedScaledDotProductAttentionVJP implements compute.Function.
func (f *function) FusedScaledDotProductAttentionVJP(query, key, value compute.Value,
	axesLayout compute.AttentionAxesLayout, options *compute.ScaledDotProductAttentionConfig,
	output compute.Value, statesForVJP []compute.Value, dOutput compute.Value,
) (compute.Value, compute.Value, compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, nil, nil, notImplemented("FusedScaledDotProductAttentionVJP")
	}
	return f.Function.FusedScaledDotProductAttentionVJP(query, key, value, axesLayout, options,
		output, statesForVJP, dOutput)
}

// FusedQuantizedDense implements compute.Function.
func (f *function) FusedQuantizedDense(x, weights, bias compute.Value,
	weightsQuantization *compute.Quantization, activation compute.ActivationType) (compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, notImplemented("FusedQuantizedDense")
	}
	return f.Function.FusedQuantizedDense(x, weights, bias, weightsQuantization, activation)
}

// FusedAttentionQKVProjection implements compute.Function.
func (f *function) FusedAttentionQKVProjection(x, wQKV, biasQ, biasK, biasV compute.Value,
	queryDim, keyValueDim int) (compute.Value, compute.Value, compute.Value, error) {
	if f.builder.backend.opts.DisableFusion {
		return nil, nil, nil, notImplemented("FusedAttentionQKVProjection")
	}
	return f.Function.FusedAttentionQKVProjection(x, wQKV, biasQ, biasK, biasV, queryDim, keyValueDim)
}
