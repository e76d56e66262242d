package model_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model"
)

var tiny = model.Config{Vocab: 40, DModel: 16, Heads: 2, Layers: 2, MLP: 32, Context: 12}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     model.Config
		wantErr []string
	}{
		{"ok", tiny, nil},
		{"heads do not divide", model.Config{Vocab: 4, DModel: 10, Heads: 3, Layers: 1, MLP: 4, Context: 4}, []string{`"d_model": 10 is not a multiple of heads=3`}},
		{"all zero", model.Config{}, []string{`"vocab"`, `"d_model"`, `"heads"`, `"layers"`, `"mlp"`, `"context"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate() = nil, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestNumParams checks the counts against the PyTorch peer's for the same sizes
// (train/testdata/peer_gpt_small/trace.json's config: params 167680, non-embedding 132864).
func TestNumParams(t *testing.T) {
	tests := []struct {
		name                string
		cfg                 model.Config
		total, nonEmbedding int
	}{
		{"peer small", model.Config{Vocab: 512, DModel: 64, Heads: 4, Layers: 2, MLP: 256, Context: 32}, 167680, 132864},
		{"tied drops the head", model.Config{Vocab: 512, DModel: 64, Heads: 4, Layers: 2, MLP: 256, Context: 32, Tied: true}, 167680 - 512*64, 132864 - 512*64},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			total, non := tt.cfg.NumParams()
			if total != tt.total || non != tt.nonEmbedding {
				t.Errorf("NumParams() = %d, %d; want %d, %d", total, non, tt.total, tt.nonEmbedding)
			}
		})
	}
}

func TestDecay(t *testing.T) {
	gpt, err := model.NewGPT(tiny)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		want bool
	}{
		{"/layer_0/attn/qkv/weights", true},
		{"/layer_1/mlp/proj/weights", true},
		{"/lm_head/weights", true},
		{"/layer_0/attn/qkv/biases", false},
		{"/layer_0/ln_1/gain", false},
		{"/ln_f/offset", false},
		{"/token_embed/embeddings", false},
		{"/pos_embed/embeddings", false},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := gpt.Decay(tt.path); got != tt.want {
				t.Errorf("Decay(%q) = %v, want %v", tt.path, got, tt.want)
			}
		})
	}
}

// hidden runs the model body on ids [B, T] and returns the flat hidden states.
func hidden(t *testing.T, cfg model.Config, ids [][]int32) (*mlmodel.Store, []float32) {
	t.Helper()
	gpt, err := model.NewGPT(cfg)
	if err != nil {
		t.Fatal(err)
	}
	store := mlmodel.NewStore()
	if err := gpt.Init(store, 7); err != nil {
		t.Fatal(err)
	}
	before := store.NumVariables()
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	// Both outputs are returned: the Go backend fails on graphs with unused nodes.
	e, err := mlmodel.NewExec(be, store, func(scope *mlmodel.Scope, ids *graph.Node) (*graph.Node, *graph.Node) {
		h := gpt.Hidden(scope, ids, graph.OnesLike(ids))
		logits := gpt.Head(scope, graph.Reshape(h, ids.Shape().Size(), cfg.DModel))
		logits.AssertDims(ids.Shape().Size(), cfg.Vocab)
		return h, logits
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := e.Exec(tensors.FromValue(ids))
	if err != nil {
		t.Fatal(err)
	}
	if after := store.NumVariables(); after != before {
		t.Errorf("the graph created %d variables beyond Init's %d", after-before, before)
	}
	if want := []int{len(ids), len(ids[0]), cfg.DModel}; !slices.Equal(out[0].Shape().Dimensions, want) {
		t.Errorf("hidden shape %v, want %v", out[0].Shape().Dimensions, want)
	}
	return store, tensors.MustCopyFlatData[float32](out[0])
}

// TestCausal changes the last token and checks that no earlier position sees it.
func TestCausal(t *testing.T) {
	for _, tied := range []bool{false, true} {
		t.Run(map[bool]string{false: "untied", true: "tied"}[tied], func(t *testing.T) {
			cfg := tiny
			cfg.Tied = tied
			a := [][]int32{{1, 2, 3, 4, 5, 6}, {7, 8, 9, 10, 11, 12}}
			b := [][]int32{{1, 2, 3, 4, 5, 39}, {7, 8, 9, 10, 11, 0}}
			_, ha := hidden(t, cfg, a)
			store, hb := hidden(t, cfg, b)
			d, seq := cfg.DModel, len(a[0])
			for row := range 2 {
				for pos := range seq {
					off := (row*seq + pos) * d
					same := slices.Equal(ha[off:off+d], hb[off:off+d])
					if want := pos < seq-1; same != want {
						t.Errorf("row %d position %d: unchanged=%v, want %v", row, pos, same, want)
					}
				}
			}
			if _, hasHead := hasVariable(store, "/lm_head/weights"); hasHead == tied {
				t.Errorf("tied=%v but /lm_head/weights present=%v", tied, hasHead)
			}
		})
	}
}

func hasVariable(store *mlmodel.Store, path string) (*mlmodel.Variable, bool) {
	v := store.GetVariable(path)
	return v, v != nil
}

// TestInit checks the initial values: N(0, 0.02) weights, zero biases, unit gains, and the
// same values for the same seed.
func TestInit(t *testing.T) {
	gpt, err := model.NewGPT(tiny)
	if err != nil {
		t.Fatal(err)
	}
	values := func(seed uint64) map[string][]float32 {
		store := mlmodel.NewStore()
		if err := gpt.Init(store, seed); err != nil {
			t.Fatal(err)
		}
		out := map[string][]float32{}
		for _, p := range gpt.VariablePaths() {
			out[p] = tensors.MustCopyFlatData[float32](store.GetVariable(p).MustValue())
		}
		return out
	}
	a, b, c := values(1), values(1), values(2)
	for _, p := range gpt.VariablePaths() {
		if !slices.Equal(a[p], b[p]) {
			t.Errorf("%s: seed 1 twice gives different values", p)
		}
		switch mlmodel.BasePath(p) {
		case "biases", "offset":
			if slices.ContainsFunc(a[p], func(x float32) bool { return x != 0 }) {
				t.Errorf("%s: want zeros", p)
			}
		case "gain":
			if slices.ContainsFunc(a[p], func(x float32) bool { return x != 1 }) {
				t.Errorf("%s: want ones", p)
			}
		default:
			if slices.Equal(a[p], c[p]) {
				t.Errorf("%s: seeds 1 and 2 give the same values", p)
			}
			var sum, sq float64
			for _, x := range a[p] {
				sum += float64(x)
				sq += float64(x) * float64(x)
			}
			n := float64(len(a[p]))
			if std := math.Sqrt(sq/n - (sum/n)*(sum/n)); math.Abs(std-0.02) > 0.003 {
				t.Errorf("%s: std %.4f, want 0.02", p, std)
			}
		}
	}
}

func TestCompactVocab(t *testing.T) {
	seqs := [][]int32{{50, 7, 7, -100}, {3, 50}}
	v, err := model.NewCompactVocab(100, []int{99, 0}, seqs...)
	if err != nil {
		t.Fatal(err)
	}
	rev, err := model.NewCompactVocab(100, []int{0, 99}, seqs[1], seqs[0])
	if err != nil {
		t.Fatal(err)
	}
	ja, _ := json.Marshal(v)
	jb, _ := json.Marshal(rev)
	if string(ja) != string(jb) || string(ja) != `{"full_vocab_size":100,"ids":[0,3,7,50,99]}` {
		t.Fatalf("JSON %s and %s, want both {\"full_vocab_size\":100,\"ids\":[0,3,7,50,99]}", ja, jb)
	}
	var back model.CompactVocab
	if err := json.Unmarshal(ja, &back); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		full    []int32
		dense   []int32
		wantErr string
	}{
		{"labels keep -100", []int32{50, -100, 3, 99}, []int32{3, -100, 1, 4}, ""},
		{"unknown id", []int32{4}, nil, "token id 4 does not occur"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, cv := range []*model.CompactVocab{v, &back} {
				got, err := cv.ToDense(tt.full)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("ToDense(%v) error %v, want %q", tt.full, err, tt.wantErr)
					}
					continue
				}
				if err != nil || !slices.Equal(got, tt.dense) {
					t.Fatalf("ToDense(%v) = %v, %v; want %v", tt.full, got, err, tt.dense)
				}
				full, err := cv.ToFull(got)
				if err != nil || !slices.Equal(full, tt.full) {
					t.Fatalf("ToFull(%v) = %v, %v; want %v", got, full, err, tt.full)
				}
			}
		})
	}
	if v.Size() != 5 || v.FullSize() != 100 {
		t.Errorf("Size, FullSize = %d, %d; want 5, 100", v.Size(), v.FullSize())
	}
	if _, err := model.NewCompactVocab(10, nil, []int32{10}); err == nil {
		t.Error("id 10 in a vocabulary of 10: want an error")
	}
	if err := json.Unmarshal([]byte(`{"full_vocab_size":10,"ids":[3,2]}`), &back); err == nil {
		t.Error("unsorted ids: want an error")
	}
}
