package decoder

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
)

// LoRA configures low-rank adapters with PEFT's semantics (peft.LoraConfig): each targeted
// projection y = x·Wᵀ (+ b) becomes y + (Alpha/Rank)·dropout(x)·Aᵀ·Bᵀ with A [Rank, in] and
// B [out, Rank], W and b frozen.
type LoRA struct {
	Rank    int      // r
	Alpha   float64  // lora_alpha; the adapter output is scaled by Alpha/Rank
	Dropout float64  // lora_dropout: dropout on the adapter's input, in training only
	Targets []string // target_modules: projection names, see LoRAModules
}

// LoRAModules are the projections LoRA can target, in the order of a layer's weights.
func LoRAModules() []string {
	return []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}
}

// modulePath is the module of a projection inside a layer: "q_proj" → "self_attn.q_proj".
func modulePath(name string) string {
	switch name {
	case "gate_proj", "up_proj", "down_proj":
		return "mlp." + name
	}
	return "self_attn." + name
}

// Validate reports every problem of l at once, naming PEFT's keys.
func (l LoRA) Validate() error {
	var errs []error
	if l.Rank <= 0 {
		errs = append(errs, fmt.Errorf("lora key \"r\": must be > 0, got %d", l.Rank))
	}
	if !(l.Alpha > 0) || math.IsInf(l.Alpha, 0) {
		errs = append(errs, fmt.Errorf("lora key \"lora_alpha\": must be a finite number > 0, got %v", l.Alpha))
	}
	if !(l.Dropout >= 0 && l.Dropout < 1) {
		errs = append(errs, fmt.Errorf("lora key \"lora_dropout\": must be in [0, 1), got %v", l.Dropout))
	}
	if len(l.Targets) == 0 {
		errs = append(errs, fmt.Errorf("lora key \"target_modules\": empty: name some of %s", strings.Join(LoRAModules(), ", ")))
	}
	seen := map[string]bool{}
	for _, t := range l.Targets {
		if !slices.Contains(LoRAModules(), t) {
			errs = append(errs, fmt.Errorf("lora key \"target_modules\": %q is not a projection of these models (want some of %s)", t, strings.Join(LoRAModules(), ", ")))
		}
		if seen[t] {
			errs = append(errs, fmt.Errorf("lora key \"target_modules\": %q is listed twice", t))
		}
		seen[t] = true
	}
	return errors.Join(errs...)
}

// Scale is the factor of the adapter's output, Alpha/Rank.
func (l LoRA) Scale() float64 { return l.Alpha / float64(l.Rank) }

// targets reports whether the projection name is adapted.
func (l *LoRA) targets(name string) bool { return slices.Contains(l.Targets, name) }

// AddLoRA puts fresh adapters on the model: after it, Init freezes the base weights and creates
// A (kaiming-uniform from the seed) and B (zero) for every targeted projection of every layer.
// Call it before Init.
func (m *Model) AddLoRA(l LoRA) error {
	if err := l.Validate(); err != nil {
		return err
	}
	l.Targets = slices.Clone(l.Targets)
	m.lora, m.adapter = &l, nil
	return nil
}

// LoRA returns the model's adapter settings, nil when it has none.
func (m *Model) LoRA() *LoRA {
	if m.lora == nil {
		return nil
	}
	l := *m.lora
	l.Targets = slices.Clone(l.Targets)
	return &l
}

// adapterSpec is one adapter matrix of a projection: A [r, in] or B [out, r] in Hugging Face
// (PEFT) layout.
type adapterSpec struct {
	Name  string // Hugging Face name without PEFT's prefix, e.g. "model.layers.0.self_attn.q_proj.lora_A.weight"
	Shape []int  // PEFT's shape: [r, in] for A, [out, r] for B
	IsA   bool
}

// storeShape is the shape of the variable that holds the adapter matrix: transposed, as the
// linear weights are.
func (a adapterSpec) storeShape() []int { return []int{a.Shape[1], a.Shape[0]} }

// NumLoRAParams returns the number of parameters of the adapters l puts on a model of c.
func (c Config) NumLoRAParams(l LoRA) int {
	n := 0
	for _, spec := range c.adapterSpecs(&l) {
		n += spec.Shape[0] * spec.Shape[1]
	}
	return n
}

// adapterSpecs lists the adapter matrices of l on configuration c, layer by layer, projections
// in the order of LoRAModules, A before B.
func (c Config) adapterSpecs(l *LoRA) []adapterSpec {
	var out []adapterSpec
	shapes := map[string][2]int{} // projection → [out, in]
	for _, spec := range c.weightSpecs() {
		if spec.Kind == kindLinear && strings.HasPrefix(spec.Name, "model.layers.0.") {
			name := strings.TrimSuffix(strings.TrimPrefix(spec.Name, "model.layers.0."), ".weight")
			shapes[moduleName(name)] = [2]int{spec.Shape[0], spec.Shape[1]}
		}
	}
	for layer := range c.NumHiddenLayers {
		for _, mod := range LoRAModules() {
			if !l.targets(mod) {
				continue
			}
			s := shapes[mod]
			p := fmt.Sprintf("model.layers.%d.%s.", layer, modulePath(mod))
			out = append(out,
				adapterSpec{Name: p + "lora_A.weight", Shape: []int{l.Rank, s[1]}, IsA: true},
				adapterSpec{Name: p + "lora_B.weight", Shape: []int{s[0], l.Rank}})
		}
	}
	return out
}

// initAdapters creates the trainable adapter variables after the (frozen) base weights: the
// loaded adapter's values, or A kaiming-uniform with a = √5 (torch's default for nn.Linear, as
// PEFT initialises lora_A: U(−1/√in, 1/√in)) drawn from seed and B zero.
func (m *Model) initAdapters(store *mlmodel.Store, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x4c6f5241)) // a stream of its own: the base never draws from it
	for _, spec := range m.cfg.adapterSpecs(m.lora) {
		hf := make([]float32, spec.Shape[0]*spec.Shape[1])
		switch {
		case m.adapter != nil:
			values, ok := m.adapter.tensors[spec.Name]
			if !ok { // checked when the adapter was read
				return fmt.Errorf("adapter %s: tensor %q is missing", m.adapter.dir, spec.Name)
			}
			copy(hf, values)
		case spec.IsA:
			bound := 1 / math.Sqrt(float64(spec.Shape[1]))
			for i := range hf {
				hf[i] = float32((2*rng.Float64() - 1) * bound)
			}
		}
		t := tensors.FromShape(shapes.Make(dtypes.Float32, spec.storeShape()...))
		tensors.MustMutableFlatData(t, func(flat []float32) { transpose2DInto(flat, hf, spec.Shape[0], spec.Shape[1]) })
		if err := setVariable(store, spec.Name, t, true); err != nil {
			return err
		}
	}
	return nil
}
