package decoder

import (
	"fmt"
	"strings"
)

// weightKind says how a weight is stored, initialised and regularised.
type weightKind int

const (
	kindLinear    weightKind = iota // nn.Linear weight: HF [out, in], stored transposed [in, out]
	kindEmbedding                   // embedding table [vocab, hidden], stored as is
	kindNorm                        // RMSNorm gain [n], stored as is, initialised to ones
	kindBias                        // nn.Linear bias [out], stored as is, initialised to zeros
)

// weightSpec is one tensor of a checkpoint.
type weightSpec struct {
	Name  string // Hugging Face name, e.g. "model.layers.0.mlp.up_proj.weight"
	Shape []int  // Hugging Face shape
	Kind  weightKind
}

// storeShape is the shape of the variable that holds the weight.
func (w weightSpec) storeShape() []int {
	if w.Kind == kindLinear {
		return []int{w.Shape[1], w.Shape[0]}
	}
	return w.Shape
}

// VarPath returns the store path of the variable that holds the Hugging Face tensor name,
// relative to the model's scope: "model.norm.weight" → "model/norm/weight".
func VarPath(name string) string { return strings.ReplaceAll(name, ".", "/") }

// weightSpecs lists the tensors of a checkpoint with configuration c, in a fixed order.
func (c Config) weightSpecs() []weightSpec {
	h, d, inter := c.HiddenSize, c.HeadDim, c.IntermediateSize
	qDim, kvDim := c.NumAttentionHeads*d, c.NumKeyValueHeads*d
	specs := []weightSpec{{"model.embed_tokens.weight", []int{c.VocabSize, h}, kindEmbedding}}
	for l := range c.NumHiddenLayers {
		p := fmt.Sprintf("model.layers.%d.", l)
		specs = append(specs,
			weightSpec{p + "input_layernorm.weight", []int{h}, kindNorm},
			weightSpec{p + "self_attn.q_proj.weight", []int{qDim, h}, kindLinear},
			weightSpec{p + "self_attn.k_proj.weight", []int{kvDim, h}, kindLinear},
			weightSpec{p + "self_attn.v_proj.weight", []int{kvDim, h}, kindLinear},
			weightSpec{p + "self_attn.o_proj.weight", []int{h, qDim}, kindLinear})
		if c.QKVBias() {
			specs = append(specs,
				weightSpec{p + "self_attn.q_proj.bias", []int{qDim}, kindBias},
				weightSpec{p + "self_attn.k_proj.bias", []int{kvDim}, kindBias},
				weightSpec{p + "self_attn.v_proj.bias", []int{kvDim}, kindBias})
		}
		if c.OBias() {
			specs = append(specs, weightSpec{p + "self_attn.o_proj.bias", []int{h}, kindBias})
		}
		if c.QKNorm() {
			specs = append(specs,
				weightSpec{p + "self_attn.q_norm.weight", []int{d}, kindNorm},
				weightSpec{p + "self_attn.k_norm.weight", []int{d}, kindNorm})
		}
		specs = append(specs,
			weightSpec{p + "post_attention_layernorm.weight", []int{h}, kindNorm},
			weightSpec{p + "mlp.gate_proj.weight", []int{inter, h}, kindLinear},
			weightSpec{p + "mlp.up_proj.weight", []int{inter, h}, kindLinear},
			weightSpec{p + "mlp.down_proj.weight", []int{h, inter}, kindLinear},
		)
	}
	specs = append(specs, weightSpec{"model.norm.weight", []int{h}, kindNorm})
	if !c.TieWordEmbeddings {
		specs = append(specs, weightSpec{"lm_head.weight", []int{c.VocabSize, h}, kindLinear})
	}
	return specs
}

// transpose2D returns the [cols, rows] transpose of the row-major [rows, cols] matrix m.
func transpose2D(m []float32, rows, cols int) []float32 {
	out := make([]float32, len(m))
	transpose2DInto(out, m, rows, cols)
	return out
}

// transpose2DInto writes the [cols, rows] transpose of the row-major [rows, cols] matrix m to out.
func transpose2DInto(out, m []float32, rows, cols int) {
	const block = 64
	for i0 := 0; i0 < rows; i0 += block {
		for j0 := 0; j0 < cols; j0 += block {
			for i := i0; i < min(i0+block, rows); i++ {
				for j := j0; j < min(j0+block, cols); j++ {
					out[j*rows+i] = m[i*cols+j]
				}
			}
		}
	}
}
