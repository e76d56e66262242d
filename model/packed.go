package model

import (
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // the model code reads like the math.
)

// PackedMask describes attention over packed rows: segments [B, T] (Int32) numbers the
// sequences packed one after another into each row 1, 2, …, with 0 on the padding after them.
// It returns visible [B, T, T] (Bool), true where key k is in query q's segment and k ≤ q (a
// block-diagonal causal mask), and positions [B, T] (Int32), each position's index within its
// own sequence: the number of keys it sees, minus one. Padding forms one more segment of its
// own, so every query sees at least itself.
func PackedMask(segments *Node) (visible, positions *Node) {
	g := segments.Graph()
	b, t := segments.Shape().Dim(0), segments.Shape().Dim(1)
	dims := []int{b, t, t}
	query := BroadcastToDims(Reshape(segments, b, t, 1), dims...)
	key := BroadcastToDims(Reshape(segments, b, 1, t), dims...)
	causal := GreaterOrEqual(Iota(g, shapes.Make(dtypes.Int32, 1, t, t), 1), Iota(g, shapes.Make(dtypes.Int32, 1, t, t), 2))
	visible = LogicalAnd(Equal(query, key), BroadcastToDims(causal, dims...))
	positions = AddScalar(ReduceSum(ConvertDType(visible, dtypes.Int32), -1), -1)
	return visible, positions
}
