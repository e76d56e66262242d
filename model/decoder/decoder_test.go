package decoder

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/safetensors"
)

// reference is testdata/*/logits.json, written by testdata/make_fixture.py (tiny, tiny_untied:
// Qwen3) and testdata/make_family_fixtures.py (llama, llama_bias, qwen2: logits from the
// PyTorch peer).
type reference struct {
	InputIDs        []int32     `json:"input_ids"`
	Loss            float64     `json:"loss"`
	Logits          [][]float64 `json:"logits"`
	GreedyPrompt    []int32     `json:"greedy_prompt"`
	GreedyNewTokens []int32     `json:"greedy_new_tokens"`
}

var fixtures = []string{"tiny", "tiny_untied", "llama", "llama_bias", "qwen2"}

func newBackend(t *testing.T) compute.Backend {
	t.Helper()
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	return be
}

func loadReference(t *testing.T, dir string) reference {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(data, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// loadInto loads the model directory dir into a fresh store.
func loadInto(t *testing.T, dir string) (*Model, *mlmodel.Store) {
	t.Helper()
	m, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	store := mlmodel.NewStore()
	if err := m.Init(store, 0); err != nil {
		t.Fatal(err)
	}
	return m, store
}

// logits runs the model on ids [B, T] and returns the logits [B·T, V].
func logits(t *testing.T, be compute.Backend, m *Model, store *mlmodel.Store, ids [][]int32) ([]float32, int) {
	t.Helper()
	flat := slices.Concat(ids...)
	out, err := mlmodel.CallOnce(be, store, func(scope *mlmodel.Scope, x *Node) *Node {
		h := m.Hidden(scope, x, nil)
		return m.Head(scope, Reshape(h, -1, m.cfg.HiddenSize))
	}, tensors.FromFlatDataAndDimensions(flat, len(ids), len(ids[0])))
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out), m.cfg.VocabSize
}

// meanNextTokenLoss is Hugging Face's causal-LM loss with labels = input ids.
func meanNextTokenLoss(logits []float32, v int, ids []int32) float64 {
	var total float64
	for p := 0; p+1 < len(ids); p++ {
		row := logits[p*v : (p+1)*v]
		maxV := float64(slices.Max(row))
		var sum float64
		for _, x := range row {
			sum += math.Exp(float64(x) - maxV)
		}
		total += maxV + math.Log(sum) - float64(row[ids[p+1]])
	}
	return total / float64(len(ids)-1)
}

func maxAbsDiff(got []float32, want [][]float64) float64 {
	var worst float64
	v := len(want[0])
	for i, row := range want {
		for j, w := range row {
			worst = math.Max(worst, math.Abs(float64(got[i*v+j])-w))
		}
	}
	return worst
}

func TestForwardMatchesReference(t *testing.T) {
	be := newBackend(t)
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			ref := loadReference(t, dir)
			m, store := loadInto(t, dir)
			got, v := logits(t, be, m, store, [][]int32{ref.InputIDs})
			diff := maxAbsDiff(got, ref.Logits)
			if diff > 1e-5 {
				t.Errorf("max |logit − reference| = %.3g, want ≤ 1e-5", diff)
			}
			t.Logf("max |logit − reference| = %.3g", diff)
			if loss := meanNextTokenLoss(got, v, ref.InputIDs); math.Abs(loss-ref.Loss) > 1e-5 {
				t.Errorf("loss = %.7f, reference %.7f", loss, ref.Loss)
			}
		})
	}
}

// TestRopeScalingMatters checks that the llama fixture's reference depends on its llama3
// rope_scaling: without it the logits miss the reference by far more than the tolerance, so
// TestForwardMatchesReference tests the scaling.
func TestRopeScalingMatters(t *testing.T) {
	be := newBackend(t)
	dir := filepath.Join("testdata", "llama")
	ref := loadReference(t, dir)
	m, store := loadInto(t, dir)
	if m.cfg.RopeScaling == nil {
		t.Fatal("the llama fixture has no rope_scaling")
	}
	m.cfg.RopeScaling = nil
	got, _ := logits(t, be, m, store, [][]int32{ref.InputIDs})
	if diff := maxAbsDiff(got, ref.Logits); diff < 1e-2 {
		t.Errorf("without rope_scaling: max |logit − reference| = %.3g, want ≥ 1e-2", diff)
	}
}

// TestPaddedBatch checks that a right-padded row of a batch gets the logits it gets alone.
func TestPaddedBatch(t *testing.T) {
	be := newBackend(t)
	dir := filepath.Join("testdata", "tiny_untied")
	ref := loadReference(t, dir)
	m, store := loadInto(t, dir)
	n := 10
	short := append(slices.Clone(ref.InputIDs[:n]), make([]int32, len(ref.InputIDs)-n)...)
	got, v := logits(t, be, m, store, [][]int32{ref.InputIDs, short})
	second := got[len(ref.InputIDs)*v:]
	if diff := maxAbsDiff(second[:n*v], ref.Logits[:n]); diff > 1e-4 {
		t.Errorf("padded row: max |logit − reference| = %.3g, want ≤ 1e-4", diff)
	}
}

func TestBF16Weights(t *testing.T) {
	be := newBackend(t)
	src := filepath.Join("testdata", "tiny")
	ref := loadReference(t, src)
	m32, store32 := loadInto(t, src)
	dir := t.TempDir()
	if err := m32.SaveAs(store32, dir, safetensors.BF16); err != nil {
		t.Fatal(err)
	}
	st, err := safetensors.OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info("model.layers.0.self_attn.q_proj.weight")
	st.Close()
	if info.DType != safetensors.BF16 {
		t.Fatalf("saved dtype = %s, want BF16", info.DType)
	}
	m16, store16 := loadInto(t, dir)
	if m16.Config().TorchDtype != "bfloat16" {
		t.Errorf("torch_dtype = %q, want bfloat16", m16.Config().TorchDtype)
	}
	for v32 := range store32.IterVariables() {
		want := tensors.MustCopyFlatData[float32](v32.MustValue())
		got := tensors.MustCopyFlatData[float32](store16.GetVariable(v32.Path()).MustValue())
		for i := range want {
			if r := safetensors.BF16ToFloat32(safetensors.Float32ToBF16(want[i])); got[i] != r {
				t.Fatalf("%s[%d] = %v, want bf16(%v) = %v", v32.Path(), i, got[i], want[i], r)
			}
		}
	}
	got, v := logits(t, be, m16, store16, [][]int32{ref.InputIDs})
	diff := maxAbsDiff(got, ref.Logits)
	if diff == 0 || diff > 0.05 {
		t.Errorf("bf16 weights: max |logit − f32 reference| = %.3g, want in (0, 0.05]", diff)
	}
	if loss := meanNextTokenLoss(got, v, ref.InputIDs); math.Abs(loss-ref.Loss) > 0.01 {
		t.Errorf("bf16 loss = %.5f, f32 reference %.5f", loss, ref.Loss)
	}
}

// TestWriteRandom writes a fresh model with a larger vocabulary and bf16 weights, and loads it.
func TestWriteRandom(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "tiny", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg.VocabSize, cfg.TorchDtype = 151936, "bfloat16"
	dir := t.TempDir()
	if err := WriteRandom(dir, cfg, 3); err != nil {
		t.Fatal(err)
	}
	m, store := loadInto(t, dir)
	if got := m.Config(); got.VocabSize != 151936 || got.TorchDtype != "bfloat16" {
		t.Errorf("config = %+v", got)
	}
	embed := store.GetVariable("/model/embed_tokens/weight")
	if got := embed.Shape().Dimensions; !slices.Equal(got, []int{151936, 64}) {
		t.Errorf("embedding shape %v", got)
	}
	values := tensors.MustCopyFlatData[float32](embed.MustValue())
	var sumSq float64
	for _, v := range values {
		sumSq += float64(v) * float64(v)
	}
	if std := math.Sqrt(sumSq / float64(len(values))); math.Abs(std-cfg.InitializerRange) > 0.01*cfg.InitializerRange {
		t.Errorf("embedding std = %.4f, want initializer_range %.4f", std, cfg.InitializerRange)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join("testdata", "tiny_untied", "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := mlmodel.NewStore()
	if err := m.Init(store, 7); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := m.Save(store, dir); err != nil {
		t.Fatal(err)
	}
	loaded, store2 := loadInto(t, dir)
	if got := loaded.Config(); got.HiddenSize != cfg.HiddenSize || got.TieWordEmbeddings != cfg.TieWordEmbeddings ||
		got.RopeTheta != cfg.RopeTheta || got.RMSNormEps != cfg.RMSNormEps || got.HeadDim != cfg.HeadDim {
		t.Errorf("config after round trip = %+v, want %+v", got, cfg)
	}
	if got, want := store2.NumVariables(), store.NumVariables(); got != want || want != len(cfg.weightSpecs()) {
		t.Errorf("variables: %d after round trip, %d before, %d specs", got, want, len(cfg.weightSpecs()))
	}
	for v := range store.IterVariables() {
		want := tensors.MustCopyFlatData[float32](v.MustValue())
		other := store2.GetVariable(v.Path())
		if other == nil {
			t.Fatalf("%s missing after round trip", v.Path())
		}
		if got := tensors.MustCopyFlatData[float32](other.MustValue()); !slices.Equal(got, want) {
			t.Errorf("%s differs after round trip", v.Path())
		}
	}
	// Keys this package does not model survive, and the file is Hugging Face's layout.
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var keys map[string]any
	if err := json.Unmarshal(raw, &keys); err != nil {
		t.Fatal(err)
	}
	if keys["bos_token_id"] != 151643.0 || keys["model_type"] != "qwen3" || keys["torch_dtype"] != "float32" {
		t.Errorf("config.json lost keys: %v", keys)
	}
	st, err := safetensors.Open(filepath.Join(dir, safetensors.SingleFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if info, _ := st.Info("model.layers.1.mlp.down_proj.weight"); !slices.Equal(info.Shape, []int{cfg.HiddenSize, cfg.IntermediateSize}) {
		t.Errorf("down_proj saved with shape %v, want Hugging Face's [out, in] = [%d %d]", info.Shape, cfg.HiddenSize, cfg.IntermediateSize)
	}
	if st.Metadata()["format"] != "pt" {
		t.Errorf("metadata = %v, want format=pt", st.Metadata())
	}
}

// TestShardedCheckpoint splits the fixture into two shards with an index and checks the logits.
func TestShardedCheckpoint(t *testing.T) {
	be := newBackend(t)
	src := filepath.Join("testdata", "tiny")
	ref := loadReference(t, src)
	st, err := safetensors.Open(filepath.Join(src, safetensors.SingleFileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	weightMap := map[string]string{}
	shards := [2][]safetensors.Tensor{}
	for i, name := range st.Names() {
		values, shape, err := st.Float32(name)
		if err != nil {
			t.Fatal(err)
		}
		shard := i % 2
		shards[shard] = append(shards[shard], safetensors.NewF32(name, shape, values))
		weightMap[name] = []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[shard]
	}
	for i, ts := range shards {
		name := []string{"model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}[i]
		if err := safetensors.Write(filepath.Join(dir, name), ts, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
	}
	index, _ := json.Marshal(map[string]any{"weight_map": weightMap})
	cfg, _ := os.ReadFile(filepath.Join(src, "config.json"))
	for name, data := range map[string][]byte{safetensors.IndexFileName: index, "config.json": cfg} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m, store := loadInto(t, dir)
	got, _ := logits(t, be, m, store, [][]int32{ref.InputIDs})
	if diff := maxAbsDiff(got, ref.Logits); diff > 1e-4 {
		t.Errorf("sharded: max |logit − reference| = %.3g", diff)
	}
}

func TestGenerate(t *testing.T) {
	be := newBackend(t)
	for _, name := range fixtures {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			ref := loadReference(t, dir)
			m, store := loadInto(t, dir)
			gen := NewGenerator(be, store, m)
			maxNew := len(ref.GreedyNewTokens)
			cached, err := gen.Generate(ref.GreedyPrompt, maxNew, -1)
			if err != nil {
				t.Fatal(err)
			}
			full, err := gen.GenerateNoCache(ref.GreedyPrompt, maxNew, -1)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cached, full) {
				t.Errorf("cached %v != full recompute %v", cached, full)
			}
			if !slices.Equal(cached, ref.GreedyNewTokens) {
				t.Errorf("cached %v != reference %v", cached, ref.GreedyNewTokens)
			}
			// A second, longer prompt reuses the compiled step graph with another position.
			prompt2 := append(slices.Clone(ref.GreedyPrompt), cached[:3]...)
			again, err := gen.Generate(prompt2, maxNew-3, -1)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(again, cached[3:]) {
				t.Errorf("continuing from a longer prompt: %v, want %v", again, cached[3:])
			}
			eos := int(ref.GreedyNewTokens[2])
			stopped, err := gen.Generate(ref.GreedyPrompt, maxNew, eos)
			if err != nil {
				t.Fatal(err)
			}
			if want := ref.GreedyNewTokens[:slices.Index(ref.GreedyNewTokens, int32(eos))]; !slices.Equal(stopped, want) {
				t.Errorf("with eos=%d: %v, want %v", eos, stopped, want)
			}
		})
	}
}

// TestGenerateToContext asks for more tokens than fit: generation stops at max_position_embeddings.
func TestGenerateToContext(t *testing.T) {
	be := newBackend(t)
	m, store := loadInto(t, filepath.Join("testdata", "tiny_untied"))
	gen := NewGenerator(be, store, m)
	prompt := make([]int32, 100)
	for i := range prompt {
		prompt[i] = int32(i * 7 % 512)
	}
	cached, err := gen.Generate(prompt, 50, -1)
	if err != nil {
		t.Fatal(err)
	}
	full, err := gen.GenerateNoCache(prompt, 50, -1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cached) != 28 || !slices.Equal(cached, full) {
		t.Errorf("cached %v (%d tokens), full recompute %v; want 28 equal tokens", cached, len(cached), full)
	}
}

func TestGenerateErrors(t *testing.T) {
	be := newBackend(t)
	m, store := loadInto(t, filepath.Join("testdata", "tiny"))
	gen := NewGenerator(be, store, m)
	tests := []struct {
		name    string
		prompt  []int32
		maxNew  int
		wantErr string
	}{
		{"empty prompt", nil, 3, "empty prompt"},
		{"no new tokens", []int32{1}, 0, "maxNew must be > 0"},
		{"prompt fills the context", make([]int32, 128), 1, "leave no room under max_position_embeddings=128"},
		{"token outside the vocabulary", []int32{1, 512}, 2, "prompt token 512 at position 1 is outside the vocabulary [0, 512)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := gen.Generate(tc.prompt, tc.maxNew, -1); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want %q", err, tc.wantErr)
			}
		})
	}
}
