package decoder

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/safetensors"
)

var allProjections = LoRA{Rank: 4, Alpha: 8, Targets: LoRAModules()}

// loadWithLoRA loads fixture dir with fresh adapters l into a new store.
func loadWithLoRA(t *testing.T, dir string, l LoRA, seed uint64) (*Model, *mlmodel.Store) {
	t.Helper()
	m, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	if err := m.AddLoRA(l); err != nil {
		t.Fatal(err)
	}
	store := mlmodel.NewStore()
	if err := m.Init(store, seed); err != nil {
		t.Fatal(err)
	}
	return m, store
}

// randomizeB gives every lora_B matrix random values (fresh ones are zero, which makes the
// adapters inert and A's gradient zero).
func randomizeB(t *testing.T, store *mlmodel.Store, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for v := range store.IterVariables() {
		if !strings.HasSuffix(v.Path(), "lora_B/weight") {
			continue
		}
		values := make([]float32, v.Shape().Size())
		for i := range values {
			values[i] = float32(rng.NormFloat64() * 0.05)
		}
		v.MustSetValue(tensors.FromFlatDataAndDimensions(values, v.Shape().Dimensions...))
	}
}

func TestLoRAInit(t *testing.T) {
	for _, fixture := range []string{"tiny", "qwen2"} {
		t.Run(fixture, func(t *testing.T) {
			l := LoRA{Rank: 4, Alpha: 16, Targets: []string{"v_proj", "q_proj", "down_proj"}}
			m, store := loadWithLoRA(t, filepath.Join("testdata", fixture), l, 5)
			cfg := m.Config()
			var trainable []string
			for v := range store.IterVariables() {
				isAdapter := strings.Contains(v.Path(), "/lora_")
				if v.Trainable != isAdapter {
					t.Errorf("%s: trainable %v, want %v (only adapters train)", v.Path(), v.Trainable, isAdapter)
				}
				if v.Trainable {
					trainable = append(trainable, v.Path())
				}
			}
			if want := 2 * 3 * cfg.NumHiddenLayers; len(trainable) != want {
				t.Fatalf("%d adapter variables, want %d: %v", len(trainable), want, trainable)
			}
			// Adapters follow the base weights, layer by layer, projections in module order.
			if trainable[0] != "/model/layers/0/self_attn/q_proj/lora_A/weight" || trainable[3] != "/model/layers/0/self_attn/v_proj/lora_B/weight" {
				t.Errorf("adapter order: %v", trainable[:6])
			}
			a := store.GetVariable("/model/layers/1/mlp/down_proj/lora_A/weight")
			if got := a.Shape().Dimensions; !slices.Equal(got, []int{cfg.IntermediateSize, 4}) {
				t.Errorf("down_proj lora_A stored as %v, want [in, r] = [%d 4]", got, cfg.IntermediateSize)
			}
			bound := float32(1 / math.Sqrt(float64(cfg.IntermediateSize)))
			values := tensors.MustCopyFlatData[float32](a.MustValue())
			var maxAbs float32
			for _, x := range values {
				maxAbs = max(maxAbs, float32(math.Abs(float64(x))))
			}
			if maxAbs > bound || maxAbs < 0.9*bound {
				t.Errorf("max |lora_A| = %g, want kaiming-uniform(a=√5) up to 1/√in = %g", maxAbs, bound)
			}
			b := tensors.MustCopyFlatData[float32](store.GetVariable("/model/layers/1/mlp/down_proj/lora_B/weight").MustValue())
			if slices.ContainsFunc(b, func(x float32) bool { return x != 0 }) {
				t.Error("lora_B is not zero")
			}
		})
	}
}

// TestLoRAZeroBIsBase checks that fresh adapters (B = 0) leave the logits bit-identical.
func TestLoRAZeroBIsBase(t *testing.T) {
	be := newBackend(t)
	for _, fixture := range []string{"tiny", "llama_bias"} {
		t.Run(fixture, func(t *testing.T) {
			dir := filepath.Join("testdata", fixture)
			ref := loadReference(t, dir)
			base, baseStore := loadInto(t, dir)
			lm, loraStore := loadWithLoRA(t, dir, LoRA{Rank: 8, Alpha: 16, Dropout: 0.1, Targets: LoRAModules()}, 3)
			want, _ := logits(t, be, base, baseStore, [][]int32{ref.InputIDs})
			got, _ := logits(t, be, lm, loraStore, [][]int32{ref.InputIDs})
			if !slices.Equal(got, want) {
				t.Errorf("logits with B = 0 differ from the base's (max diff %g)", maxAbsDiff(got, reshape(want, len(ref.InputIDs))))
			}
		})
	}
}

func reshape(flat []float32, rows int) [][]float64 {
	n := len(flat) / rows
	out := make([][]float64, rows)
	for i := range out {
		out[i] = make([]float64, n)
		for j := range n {
			out[i][j] = float64(flat[i*n+j])
		}
	}
	return out
}

// TestLoRAGradientFiniteDifference checks the adapters' autodiff gradients against central
// differences, with random B so that both A and B have gradients.
func TestLoRAGradientFiniteDifference(t *testing.T) {
	for _, fixture := range []string{"tiny_untied", "qwen2"} {
		t.Run(fixture, func(t *testing.T) {
			dir := filepath.Join("testdata", fixture)
			m, store := loadWithLoRA(t, dir, allProjections, 11)
			randomizeB(t, store, 2)
			checkGradients(t, m, store, loadReference(t, dir), []string{
				"model.layers.0.self_attn.q_proj.lora_A.weight", "model.layers.0.self_attn.k_proj.lora_B.weight",
				"model.layers.0.self_attn.v_proj.lora_A.weight", "model.layers.1.self_attn.o_proj.lora_B.weight",
				"model.layers.1.mlp.gate_proj.lora_A.weight", "model.layers.1.mlp.up_proj.lora_B.weight",
				"model.layers.0.mlp.down_proj.lora_A.weight", "model.layers.1.mlp.down_proj.lora_B.weight",
			})
		})
	}
}

// hiddenTraining runs HiddenTraining on ids with the random state from seed.
func hiddenTraining(t *testing.T, be compute.Backend, m *Model, store *mlmodel.Store, ids []int32, seed int64) []float32 {
	t.Helper()
	rng, err := RNGStateFromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	out, err := mlmodel.CallOnce(be, store, func(scope *mlmodel.Scope, x, r *Node) *Node {
		return m.HiddenTraining(scope, x, nil, r)
	}, tensors.FromFlatDataAndDimensions(ids, 1, len(ids)), rng)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out)
}

func hidden(t *testing.T, be compute.Backend, m *Model, store *mlmodel.Store, ids []int32) []float32 {
	t.Helper()
	out, err := mlmodel.CallOnce(be, store, func(scope *mlmodel.Scope, x *Node) *Node {
		return m.Hidden(scope, x, nil)
	}, tensors.FromFlatDataAndDimensions(ids, 1, len(ids)))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out)
}

// TestLoRADropout checks that dropout acts only in training graphs, on the adapters only, and
// that its masks are a function of the random state.
func TestLoRADropout(t *testing.T) {
	be := newBackend(t)
	dir := filepath.Join("testdata", "tiny")
	ids := loadReference(t, dir).InputIDs
	withDropout := allProjections
	withDropout.Dropout = 0.3
	m, store := loadWithLoRA(t, dir, withDropout, 1)
	zeroB := hiddenTraining(t, be, m, store, ids, 1)
	eval := hidden(t, be, m, store, ids)
	if !slices.Equal(zeroB, eval) {
		t.Error("with B = 0 dropout changed the output: it must act on the adapter's input only")
	}
	randomizeB(t, store, 4)
	eval = hidden(t, be, m, store, ids)
	a1, a2, b := hiddenTraining(t, be, m, store, ids, 1), hiddenTraining(t, be, m, store, ids, 1), hiddenTraining(t, be, m, store, ids, 2)
	if !slices.Equal(a1, a2) {
		t.Error("the same random state gave different dropout masks")
	}
	if slices.Equal(a1, b) || slices.Equal(a1, eval) {
		t.Error("dropout did not change the training output, or did not depend on the random state")
	}
	noDropout, store0 := loadWithLoRA(t, dir, allProjections, 1)
	randomizeB(t, store0, 4)
	if got := hiddenTraining(t, be, noDropout, store0, ids, 1); !slices.Equal(got, eval) {
		t.Error("without dropout the training graph differs from the evaluation graph")
	}
}

// TestPEFTAdapterReference loads testdata/qwen2_lora, a PEFT adapter written by
// make_family_fixtures.py (not by this package), onto the qwen2 fixture and compares the logits
// with the PyTorch peer's for the base with the adapter merged in (W + (alpha/r)·B·A, computed
// in NumPy): PEFT's names, shapes and scale, checked against code that shares none of ours.
func TestPEFTAdapterReference(t *testing.T) {
	be := newBackend(t)
	ref := loadReference(t, filepath.Join("testdata", "qwen2_lora"))
	m, err := LoadDir(filepath.Join("testdata", "qwen2"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.LoadAdapter(filepath.Join("testdata", "qwen2_lora")); err != nil {
		t.Fatal(err)
	}
	store := mlmodel.NewStore()
	if err := m.Init(store, 0); err != nil {
		t.Fatal(err)
	}
	got, _ := logits(t, be, m, store, [][]int32{ref.InputIDs})
	if diff := maxAbsDiff(got, ref.Logits); diff > 1e-5 {
		t.Errorf("max |logit − reference| = %.3g, want ≤ 1e-5", diff)
	}
	base := loadReference(t, filepath.Join("testdata", "qwen2"))
	if d := maxAbsDiff(got, base.Logits); d < 1e-2 {
		t.Errorf("the adapter moves the logits by only %.3g: the comparison checks nothing", d)
	}
}

// TestAdapterSaveLoad saves trained-looking adapters in PEFT's layout, checks the files, loads
// them onto a fresh copy of the base and compares the logits bit for bit.
func TestAdapterSaveLoad(t *testing.T) {
	be := newBackend(t)
	dir := filepath.Join("testdata", "qwen2")
	ref := loadReference(t, dir)
	l := LoRA{Rank: 4, Alpha: 16, Dropout: 0.05, Targets: []string{"q_proj", "v_proj", "up_proj"}}
	m, store := loadWithLoRA(t, dir, l, 9)
	randomizeB(t, store, 3)
	out := filepath.Join(t.TempDir(), "adapter")
	if err := m.SaveAdapter(store, out, "/models/Qwen2.5-0.5B"); err != nil {
		t.Fatal(err)
	}
	var ac map[string]any
	data, err := os.ReadFile(filepath.Join(out, AdapterConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &ac); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]any{"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": 4.0, "lora_alpha": 16.0,
		"lora_dropout": 0.05, "base_model_name_or_path": "/models/Qwen2.5-0.5B", "bias": "none", "use_dora": false} {
		if ac[k] != want {
			t.Errorf("adapter_config.json %q = %v, want %v", k, ac[k], want)
		}
	}
	if got := ac["target_modules"]; len(got.([]any)) != 3 {
		t.Errorf("target_modules = %v", got)
	}
	f, err := safetensors.Open(filepath.Join(out, AdapterWeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	names := f.Names()
	infoA, _ := f.Info("base_model.model.model.layers.1.mlp.up_proj.lora_A.weight")
	infoB, _ := f.Info("base_model.model.model.layers.1.mlp.up_proj.lora_B.weight")
	f.Close()
	if len(names) != 2*3*2 {
		t.Errorf("%d tensors, want 12: %v", len(names), names)
	}
	if !slices.Equal(infoA.Shape, []int{4, 64}) || !slices.Equal(infoB.Shape, []int{128, 4}) {
		t.Errorf("up_proj lora_A %v, lora_B %v; want PEFT's [r, in] = [4 64] and [out, r] = [128 4]", infoA.Shape, infoB.Shape)
	}

	loaded, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer loaded.Close()
	base, err := loaded.LoadAdapter(out)
	if err != nil {
		t.Fatal(err)
	}
	if base != "/models/Qwen2.5-0.5B" || !slices.Equal(loaded.LoRA().Targets, []string{"q_proj", "v_proj", "up_proj"}) {
		t.Errorf("base %q, lora %+v", base, loaded.LoRA())
	}
	store2 := mlmodel.NewStore()
	if err := loaded.Init(store2, 123); err != nil { // another seed: the adapter's values win
		t.Fatal(err)
	}
	want, _ := logits(t, be, m, store, [][]int32{ref.InputIDs})
	got, _ := logits(t, be, loaded, store2, [][]int32{ref.InputIDs})
	if !slices.Equal(got, want) {
		t.Error("logits after saving and loading the adapter differ")
	}
	base0, store0 := loadInto(t, dir)
	plain, _ := logits(t, be, base0, store0, [][]int32{ref.InputIDs})
	if slices.Equal(plain, want) {
		t.Error("the adapters do not change the logits: the test checks nothing")
	}
}

// TestSaveMerged folds adapters into a plain model directory and compares its logits with the
// base plus adapters, within 1e-5 relative.
func TestSaveMerged(t *testing.T) {
	be := newBackend(t)
	for _, fixture := range []string{"tiny", "llama"} {
		t.Run(fixture, func(t *testing.T) {
			dir := filepath.Join("testdata", fixture)
			ref := loadReference(t, dir)
			m, store := loadWithLoRA(t, dir, allProjections, 2)
			randomizeB(t, store, 8)
			out := t.TempDir()
			if err := m.SaveMerged(store, out, safetensors.F32); err != nil {
				t.Fatal(err)
			}
			st, err := safetensors.Open(filepath.Join(out, safetensors.SingleFileName))
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range st.Names() {
				if strings.Contains(name, "lora") {
					t.Errorf("merged directory holds adapter tensor %q", name)
				}
			}
			st.Close()
			merged, mergedStore := loadInto(t, out)
			if merged.LoRA() != nil {
				t.Error("merged model has adapters")
			}
			want, _ := logits(t, be, m, store, [][]int32{ref.InputIDs})
			got, _ := logits(t, be, merged, mergedStore, [][]int32{ref.InputIDs})
			var worst, scale float64
			for i := range want {
				worst = math.Max(worst, math.Abs(float64(got[i]-want[i])))
				scale = math.Max(scale, math.Abs(float64(want[i])))
			}
			if worst > 1e-5*scale {
				t.Errorf("merged logits differ by %.3g (relative %.3g), want ≤ 1e-5 relative", worst, worst/scale)
			}
			base, baseStore := loadInto(t, dir)
			plain, _ := logits(t, be, base, baseStore, [][]int32{ref.InputIDs})
			if d := maxAbsDiff(plain, reshape(want, len(ref.InputIDs))); d < 100*worst || d < 1e-3 {
				t.Errorf("the adapters move the logits by only %.3g: the comparison checks nothing", d)
			}
			t.Logf("merged vs adapters: max |Δlogit| %.3g (max |logit| %.3g); adapters moved logits by up to %.3g", worst, scale, maxAbsDiff(plain, reshape(want, len(ref.InputIDs))))
		})
	}
}

func TestLoRAValidate(t *testing.T) {
	tests := []struct {
		name    string
		l       LoRA
		wantErr []string
	}{
		{"ok", LoRA{Rank: 8, Alpha: 16, Dropout: 0.05, Targets: []string{"q_proj", "v_proj"}}, nil},
		{"bad values", LoRA{Rank: 0, Alpha: -1, Dropout: 1, Targets: []string{"qkv", "q_proj", "q_proj"}},
			[]string{`"r": must be > 0`, `"lora_alpha": must be a finite number > 0`, `"lora_dropout": must be in [0, 1)`, `"qkv" is not a projection`, `"q_proj" is listed twice`}},
		{"no targets", LoRA{Rank: 8, Alpha: 8}, []string{`"target_modules": empty`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.l.Validate()
			if tc.wantErr == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant %q", err, w)
				}
			}
		})
	}
}

// TestLoadAdapterErrors breaks a saved adapter in different ways.
func TestLoadAdapterErrors(t *testing.T) {
	dir := filepath.Join("testdata", "tiny")
	m, store := loadWithLoRA(t, dir, LoRA{Rank: 2, Alpha: 4, Targets: []string{"q_proj"}}, 1)
	good := t.TempDir()
	if err := m.SaveAdapter(store, good, "base"); err != nil {
		t.Fatal(err)
	}
	cfgJSON, err := os.ReadFile(filepath.Join(good, AdapterConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	weights, err := os.ReadFile(filepath.Join(good, AdapterWeightsFile))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string { return strings.Replace(string(cfgJSON), old, new, 1) }
	tests := []struct {
		name    string
		config  string
		weights func(dir string) error
		wantErr []string
	}{
		{name: "dora", config: edit(`"use_dora": false`, `"use_dora": true`), wantErr: []string{`key "use_dora": DoRA is not supported`}},
		{name: "regex targets", config: edit(`"target_modules": [
    "q_proj"
  ]`, `"target_modules": ".*attn.*"`), wantErr: []string{`key "target_modules": ".*attn.*": a regular expression is not supported`}},
		{name: "other peft type", config: edit(`"peft_type": "LORA"`, `"peft_type": "IA3"`), wantErr: []string{`key "peft_type": "IA3" is not supported`}},
		{name: "rank disagrees", config: edit(`"r": 2`, `"r": 3`), wantErr: []string{`has shape [2 64], adapter_config.json (r=3)`}},
		{name: "more targets than tensors", config: edit(`"q_proj"`, `"q_proj", "k_proj"`), wantErr: []string{`tensor "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight" is missing`}},
		{name: "unknown tensor", weights: func(d string) error {
			return safetensors.Write(filepath.Join(d, AdapterWeightsFile), []safetensors.Tensor{
				safetensors.NewF32("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", []int{2, 64}, make([]float32, 128)),
				safetensors.NewF32("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", []int{64, 2}, make([]float32, 128)),
				safetensors.NewF32("base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight", []int{2, 64}, make([]float32, 128)),
				safetensors.NewF32("base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight", []int{64, 2}, make([]float32, 128)),
				safetensors.NewF32("base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector", []int{64}, make([]float32, 64)),
			}, nil)
		}, wantErr: []string{`unexpected tensor "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"`}},
		{name: "no config", config: "-", wantErr: []string{AdapterConfigFile}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := t.TempDir()
			cfg := tc.config
			if cfg == "" {
				cfg = string(cfgJSON)
			}
			if cfg != "-" {
				if err := os.WriteFile(filepath.Join(d, AdapterConfigFile), []byte(cfg), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			write := tc.weights
			if write == nil {
				write = func(d string) error { return os.WriteFile(filepath.Join(d, AdapterWeightsFile), weights, 0o644) }
			}
			if err := write(d); err != nil {
				t.Fatal(err)
			}
			fresh, err := LoadDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			_, err = fresh.LoadAdapter(d)
			if err == nil {
				t.Fatalf("LoadAdapter succeeded, want %q", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant %q", err, w)
				}
			}
		})
	}
}
