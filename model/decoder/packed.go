package decoder

import (
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // model code reads like the math
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/model"
)

// HiddenPacked is Hidden for rows that hold several sequences one after the other: segments
// [B, T] (Int32) numbers them 1, 2, … within each row, 0 on the padding after them. Attention
// stays within each sequence (a block-diagonal causal mask) and rotary positions restart at 0
// with each sequence, so every sequence gets the hidden states Hidden gives it alone.
func (m *Model) HiddenPacked(scope *mlmodel.Scope, ids, segments *Node) *Node {
	visible, positions := model.PackedMask(segments)
	p := m.pass(nil)
	p.Visible = visible
	return m.body(scope, p, ids, positions, nil)
}
