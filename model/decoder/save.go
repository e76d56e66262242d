package decoder

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/safetensors"
)

// DTypeFor returns the safetensors dtype matching a config.json torch_dtype: BF16 for
// "bfloat16", F16 for "float16", F32 otherwise.
func DTypeFor(torchDtype string) safetensors.DType {
	switch torchDtype {
	case "bfloat16":
		return safetensors.BF16
	case "float16":
		return safetensors.F16
	}
	return safetensors.F32
}

func torchDtypeOf(d safetensors.DType) string {
	switch d {
	case safetensors.BF16:
		return "bfloat16"
	case safetensors.F16:
		return "float16"
	}
	return "float32"
}

// Save writes the model's weights from store to dir as a Hugging Face model directory, in the
// dtype of the config's torch_dtype: model.safetensors (or 5 GB shards with
// model.safetensors.index.json, as save_pretrained does) with Hugging Face's names and layouts,
// and config.json. Each file is written atomically; tensors are converted one at a time. The
// base weights are written as they are in the store: a model with LoRA adapters writes its
// frozen base (see SaveMerged and SaveAdapter).
func (m *Model) Save(store *mlmodel.Store, dir string) error {
	return m.SaveAs(store, dir, DTypeFor(m.cfg.TorchDtype))
}

// SaveAs is Save with the weights' dtype chosen explicitly (F32, BF16 or F16); config.json's
// torch_dtype is set to match.
func (m *Model) SaveAs(store *mlmodel.Store, dir string, dtype safetensors.DType) error {
	return m.save(store, dir, dtype, false)
}

// SaveMerged writes a plain Hugging Face model directory, as SaveAs does, whose targeted
// projections hold W + (alpha/r)·B·A: the adapters folded into the base weights, as PEFT's
// merge_and_unload does. Without adapters it is SaveAs.
func (m *Model) SaveMerged(store *mlmodel.Store, dir string, dtype safetensors.DType) error {
	return m.save(store, dir, dtype, m.lora != nil)
}

func (m *Model) save(store *mlmodel.Store, dir string, dtype safetensors.DType, merge bool) error {
	switch dtype {
	case safetensors.F32, safetensors.BF16, safetensors.F16:
	default:
		return fmt.Errorf("save %s: dtype %s is not supported (want F32, BF16 or F16)", dir, dtype)
	}
	specs := m.cfg.weightSpecs()
	sources := make([]safetensors.Source, 0, len(specs))
	for _, spec := range specs {
		path := "/" + VarPath(spec.Name)
		if store.GetVariable(path) == nil {
			return fmt.Errorf("save %s: variable %s is not in the store", dir, path)
		}
		sources = append(sources, safetensors.Source{
			Name: spec.Name, DType: dtype, Shape: spec.Shape,
			WriteData: func(w io.Writer) error {
				values, err := variableValues(store, spec.Name)
				if err != nil {
					return err
				}
				if merge {
					if err := m.mergeInto(store, spec, values); err != nil {
						return err
					}
				}
				if spec.Kind == kindLinear {
					values = transpose2D(values, spec.Shape[1], spec.Shape[0])
				}
				t, err := safetensors.NewFloat(spec.Name, dtype, spec.Shape, values)
				if err != nil {
					return err
				}
				_, err = w.Write(t.Data)
				return err
			},
		})
	}
	if _, err := safetensors.WriteDir(dir, sources, map[string]string{"format": "pt"}, safetensors.DefaultMaxShardBytes); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	cfg := m.cfg
	cfg.TorchDtype = torchDtypeOf(dtype)
	js, err := cfg.JSON()
	if err != nil {
		return fmt.Errorf("save %s: config.json: %w", dir, err)
	}
	return atomicfile.WriteFile(filepath.Join(dir, "config.json"), js)
}

// variableValues copies the store-layout values of the variable of Hugging Face tensor name.
func variableValues(store *mlmodel.Store, name string) ([]float32, error) {
	path := "/" + VarPath(name)
	v := store.GetVariable(path)
	if v == nil {
		return nil, fmt.Errorf("variable %s is not in the store", path)
	}
	value, err := v.Value()
	if err != nil {
		return nil, fmt.Errorf("variable %s: %w", path, err)
	}
	values, err := tensors.CopyFlatData[float32](value)
	if err != nil {
		return nil, fmt.Errorf("variable %s: %w", path, err)
	}
	return values, nil
}

// WriteRandom writes a randomly initialised model of configuration cfg (weights drawn from seed
// as Init does for a fresh model) to dir as a Hugging Face model directory. It makes test and
// demo checkpoints of any size, e.g. a tiny model with the full Qwen3 vocabulary.
func WriteRandom(dir string, cfg Config, seed uint64) error {
	m, err := New(cfg)
	if err != nil {
		return err
	}
	store := mlmodel.NewStore()
	if err := m.Init(store, seed); err != nil {
		return err
	}
	return m.Save(store, dir)
}
