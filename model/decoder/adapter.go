package decoder

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/safetensors"
)

// Files of a PEFT adapter directory (what peft's save_pretrained writes and from_pretrained
// reads).
const (
	AdapterConfigFile  = "adapter_config.json"
	AdapterWeightsFile = "adapter_model.safetensors"
)

// peftPrefix is what PEFT puts before a model's own tensor names in adapter_model.safetensors.
const peftPrefix = "base_model.model."

// adapterConfig is adapter_config.json, as PEFT (≥ 0.10) writes it for a LoRA adapter.
type adapterConfig struct {
	PeftType              string         `json:"peft_type"`
	TaskType              string         `json:"task_type"`
	BaseModelNameOrPath   string         `json:"base_model_name_or_path"`
	R                     int            `json:"r"`
	LoraAlpha             float64        `json:"lora_alpha"`
	LoraDropout           float64        `json:"lora_dropout"`
	TargetModules         any            `json:"target_modules"`
	Bias                  string         `json:"bias"`
	FanInFanOut           bool           `json:"fan_in_fan_out"`
	InferenceMode         bool           `json:"inference_mode"`
	InitLoraWeights       bool           `json:"init_lora_weights"`
	UseRSLoRA             bool           `json:"use_rslora"`
	UseDoRA               bool           `json:"use_dora"`
	ModulesToSave         []string       `json:"modules_to_save"`
	LayersToTransform     any            `json:"layers_to_transform"`
	LayersPattern         any            `json:"layers_pattern"`
	RankPattern           map[string]any `json:"rank_pattern"`
	AlphaPattern          map[string]any `json:"alpha_pattern"`
	Revision              any            `json:"revision"`
	AutoMapping           any            `json:"auto_mapping"`
	MegatronConfig        any            `json:"megatron_config"`
	MegatronCore          string         `json:"megatron_core"`
	LoftqConfig           map[string]any `json:"loftq_config"`
	TargetParameters      any            `json:"target_parameters,omitempty"`
	ExcludeModules        any            `json:"exclude_modules,omitempty"`
	TrainableTokenIndices any            `json:"trainable_token_indices,omitempty"`
}

// adapterFile is an adapter read from disk: its directory and tensors, in PEFT's layout, by
// the model's own names.
type adapterFile struct {
	dir     string
	tensors map[string][]float32
}

// SaveAdapter writes the model's adapters from store to dir in PEFT's layout: adapter_config.json
// (peft_type LORA, task_type CAUSAL_LM, r, lora_alpha, lora_dropout, target_modules,
// base_model_name_or_path = base) and adapter_model.safetensors (float32) with PEFT's names,
// "base_model.model.model.layers.N.self_attn.q_proj.lora_A.weight" [r, in] and "….lora_B.weight"
// [out, r]. peft.PeftModel.from_pretrained(base, dir) loads it. Each file is written atomically.
func (m *Model) SaveAdapter(store *mlmodel.Store, dir, base string) error {
	if m.lora == nil {
		return fmt.Errorf("save adapter %s: the model has no LoRA adapters", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save adapter: %w", err)
	}
	specs := m.cfg.adapterSpecs(m.lora)
	ts := make([]safetensors.Tensor, 0, len(specs))
	for _, spec := range specs {
		values, err := variableValues(store, spec.Name)
		if err != nil {
			return fmt.Errorf("save adapter %s: %w", dir, err)
		}
		ts = append(ts, safetensors.NewF32(peftPrefix+spec.Name, spec.Shape, transpose2D(values, spec.Shape[1], spec.Shape[0])))
	}
	if err := safetensors.Write(filepath.Join(dir, AdapterWeightsFile), ts, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("save adapter: %w", err)
	}
	targets := slices.Clone(m.lora.Targets)
	slices.Sort(targets) // PEFT writes a set
	js, err := json.MarshalIndent(adapterConfig{
		PeftType: "LORA", TaskType: "CAUSAL_LM", BaseModelNameOrPath: base,
		R: m.lora.Rank, LoraAlpha: m.lora.Alpha, LoraDropout: m.lora.Dropout, TargetModules: targets,
		Bias: "none", InferenceMode: true, InitLoraWeights: true,
		RankPattern: map[string]any{}, AlphaPattern: map[string]any{}, LoftqConfig: map[string]any{}, MegatronCore: "megatron.core",
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("save adapter %s: %w", dir, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, AdapterConfigFile), append(js, '\n'))
}

// ReadAdapterConfig reads the LoRA settings and base_model_name_or_path of the PEFT adapter
// directory dir, refusing, by key, the PEFT features this package does not implement (DoRA,
// rsLoRA, trained biases, per-module ranks, regular-expression targets, ...).
func ReadAdapterConfig(dir string) (LoRA, string, error) {
	path := filepath.Join(dir, AdapterConfigFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return LoRA{}, "", fmt.Errorf("adapter: %w", err)
	}
	var ac adapterConfig
	if err := json.Unmarshal(data, &ac); err != nil {
		return LoRA{}, "", fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: key %q: %s", path, key, fmt.Sprintf(format, args...)))
	}
	if ac.PeftType != "LORA" {
		bad("peft_type", "%q is not supported (want \"LORA\")", ac.PeftType)
	}
	if ac.TaskType != "" && ac.TaskType != "CAUSAL_LM" {
		bad("task_type", "%q is not supported (want \"CAUSAL_LM\")", ac.TaskType)
	}
	if ac.UseDoRA {
		bad("use_dora", "DoRA is not supported (want false)")
	}
	if ac.UseRSLoRA {
		bad("use_rslora", "rank-stabilised scaling is not supported (want false)")
	}
	if ac.Bias != "" && ac.Bias != "none" {
		bad("bias", "%q: trained biases are not supported (want \"none\")", ac.Bias)
	}
	if ac.FanInFanOut {
		bad("fan_in_fan_out", "is for Conv1D (GPT-2) layers (want false)")
	}
	if len(ac.ModulesToSave) > 0 {
		bad("modules_to_save", "%v: fully trained extra modules are not supported", ac.ModulesToSave)
	}
	if ac.LayersToTransform != nil {
		bad("layers_to_transform", "adapting only some layers is not supported (want null)")
	}
	if len(ac.RankPattern) > 0 || len(ac.AlphaPattern) > 0 {
		bad("rank_pattern", "per-module ranks or alphas are not supported (want {})")
	}
	if ac.TargetParameters != nil || ac.ExcludeModules != nil || ac.TrainableTokenIndices != nil {
		bad("target_modules", "target_parameters, exclude_modules and trainable_token_indices are not supported")
	}
	l := LoRA{Rank: ac.R, Alpha: ac.LoraAlpha, Dropout: ac.LoraDropout}
	switch t := ac.TargetModules.(type) {
	case []any:
		for _, x := range t {
			s, ok := x.(string)
			if !ok {
				bad("target_modules", "%v is not a module name", x)
				continue
			}
			l.Targets = append(l.Targets, s)
		}
	case string:
		if slices.Contains(LoRAModules(), t) {
			l.Targets = []string{t}
		} else {
			bad("target_modules", "%q: a regular expression is not supported; list the projections (some of %s)", t, strings.Join(LoRAModules(), ", "))
		}
	default:
		bad("target_modules", "missing: list the projections (some of %s)", strings.Join(LoRAModules(), ", "))
	}
	if len(errs) == 0 {
		if err := l.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return LoRA{}, "", err
	}
	slices.SortFunc(l.Targets, func(a, b string) int {
		return slices.Index(LoRAModules(), a) - slices.Index(LoRAModules(), b)
	})
	return l, ac.BaseModelNameOrPath, nil
}

// LoadAdapter puts the trained PEFT adapter of directory dir on the model: its settings from
// adapter_config.json (see ReadAdapterConfig) and its weights from adapter_model.safetensors,
// every tensor checked against the model's configuration (present, shaped [r, in] or [out, r],
// a float dtype, none unknown). Init then creates the adapters with these weights. Call it
// before Init; it returns the adapter's base_model_name_or_path.
func (m *Model) LoadAdapter(dir string) (string, error) {
	l, base, err := ReadAdapterConfig(dir)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, AdapterWeightsFile)
	f, err := safetensors.Open(path)
	if err != nil {
		return "", fmt.Errorf("adapter: %w", err)
	}
	defer f.Close()
	af := &adapterFile{dir: dir, tensors: map[string][]float32{}}
	var errs []error
	want := map[string]bool{}
	for _, spec := range m.cfg.adapterSpecs(&l) {
		name := peftPrefix + spec.Name
		want[name] = true
		info, ok := f.Info(name)
		if !ok {
			errs = append(errs, fmt.Errorf("tensor %q is missing", name))
			continue
		}
		if !slices.Equal(info.Shape, spec.Shape) {
			errs = append(errs, fmt.Errorf("tensor %q has shape %v, adapter_config.json (r=%d) and the model's config.json imply %v", name, info.Shape, l.Rank, spec.Shape))
			continue
		}
		values, _, err := f.Float32(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		af.tensors[spec.Name] = values
	}
	for _, name := range f.Names() {
		if !want[name] {
			errs = append(errs, fmt.Errorf("unexpected tensor %q (not an adapter of target_modules %v on this %s model)", name, l.Targets, m.cfg.ModelType))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("adapter %s: %w", path, err)
	}
	m.lora, m.adapter = &l, af
	return base, nil
}

// mergeInto adds (alpha/r)·B·A to values, the store-layout ([in, out]) weight of spec, when
// spec is a targeted projection; it leaves any other weight unchanged. The products are summed
// in float64.
func (m *Model) mergeInto(store *mlmodel.Store, spec weightSpec, values []float32) error {
	if spec.Kind != kindLinear || !strings.HasPrefix(spec.Name, "model.layers.") {
		return nil
	}
	module := strings.TrimSuffix(spec.Name, ".weight")
	if !m.lora.targets(moduleName(module)) {
		return nil
	}
	a, err := variableValues(store, module+".lora_A.weight") // [in, r]
	if err != nil {
		return err
	}
	b, err := variableValues(store, module+".lora_B.weight") // [r, out]
	if err != nil {
		return err
	}
	in, out, r := spec.Shape[1], spec.Shape[0], m.lora.Rank
	scale := m.lora.Scale()
	row := make([]float64, out)
	for i := range in {
		clear(row)
		for k := range r {
			aik := float64(a[i*r+k])
			if aik == 0 {
				continue
			}
			for j, bkj := range b[k*out : (k+1)*out] {
				row[j] += aik * float64(bkj)
			}
		}
		w := values[i*out : (i+1)*out]
		for j := range w {
			w[j] = float32(float64(w[j]) + scale*row[j])
		}
	}
	return nil
}
