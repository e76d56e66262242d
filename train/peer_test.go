package train_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	mlmodel "github.com/gomlx/gomlx/ml/model"
	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/train"
)

// npyArray is the content of a little-endian float32 or int32 .npy file (NumPy format 1.0).
type npyArray struct {
	dims    []int
	float32 []float32
	int32   []int32
}

var npyShape = regexp.MustCompile(`'shape': \(([0-9, ]*)\)`)

func readNpy(t *testing.T, path string) npyArray {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("\x93NUMPY\x01")) {
		t.Fatalf("%s: not a NumPy 1.x file", path)
	}
	hlen := int(binary.LittleEndian.Uint16(raw[8:10]))
	header, body := string(raw[10:10+hlen]), raw[10+hlen:]
	if strings.Contains(header, "'fortran_order': True") {
		t.Fatalf("%s: fortran order not supported", path)
	}
	var a npyArray
	m := npyShape.FindStringSubmatch(header)
	if m == nil {
		t.Fatalf("%s: no shape in header %q", path, header)
	}
	for _, f := range strings.Split(m[1], ",") {
		if f = strings.TrimSpace(f); f != "" {
			d, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s: shape %q: %v", path, m[1], err)
			}
			a.dims = append(a.dims, d)
		}
	}
	switch {
	case strings.Contains(header, "'<f4'"):
		a.float32 = make([]float32, len(body)/4)
		for i := range a.float32 {
			a.float32[i] = math.Float32frombits(binary.LittleEndian.Uint32(body[4*i:]))
		}
	case strings.Contains(header, "'<i4'"):
		a.int32 = make([]int32, len(body)/4)
		for i := range a.int32 {
			a.int32[i] = int32(binary.LittleEndian.Uint32(body[4*i:]))
		}
	default:
		t.Fatalf("%s: dtype in %q not supported (want <f4 or <i4)", path, header)
	}
	return a
}

// transpose2 turns a row-major [r, c] matrix into [c, r].
func transpose2(x []float32, r, c int) []float32 {
	out := make([]float32, len(x))
	for i := range r {
		for j := range c {
			out[j*r+i] = x[i*c+j]
		}
	}
	return out
}

// loadPeerWeights sets every variable of the GPT from the peer's PyTorch state dict.
func loadPeerWeights(t *testing.T, dir string, cfg model.Config, store *mlmodel.Store) {
	t.Helper()
	set := func(path string, data []float32) {
		v := store.GetVariable(path)
		if v == nil {
			t.Fatalf("no variable %q", path)
		}
		if v.Shape().Size() != len(data) {
			t.Fatalf("%s: %d values for shape %s", path, len(data), v.Shape())
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(data, v.Shape().Dimensions...)); err != nil {
			t.Fatal(err)
		}
	}
	load := func(name string) npyArray { return readNpy(t, filepath.Join(dir, "param."+name+".npy")) }
	linear := func(torchName, path string) {
		w := load(torchName + ".weight") // torch: [out, in]
		set(path+"/weights", transpose2(w.float32, w.dims[0], w.dims[1]))
		if path != "/lm_head" {
			set(path+"/biases", load(torchName+".bias").float32)
		}
	}
	norm := func(torchName, path string) {
		set(path+"/gain", load(torchName+".weight").float32)
		set(path+"/offset", load(torchName+".bias").float32)
	}
	set("/token_embed/embeddings", load("tok.weight").float32)
	set("/pos_embed/embeddings", load("pos.weight").float32)
	for i := range cfg.Layers {
		l := fmt.Sprintf("/layer_%d", i)
		p := fmt.Sprintf("blocks.%d.", i)
		norm(p+"ln1", l+"/ln_1")
		linear(p+"qkv", l+"/attn/qkv")
		linear(p+"proj", l+"/attn/proj")
		norm(p+"ln2", l+"/ln_2")
		linear(p+"fc1", l+"/mlp/fc")
		linear(p+"fc2", l+"/mlp/proj")
	}
	norm("lnf", "/ln_f")
	linear("head", "/lm_head")
}

// peerGPT wraps model.GPT so that Init loads the peer's initial weights.
type peerGPT struct {
	*model.GPT
	t   *testing.T
	dir string
}

func (p peerGPT) Init(store *mlmodel.Store, seed uint64) error {
	if err := p.GPT.Init(store, seed); err != nil {
		return err
	}
	loadPeerWeights(p.t, p.dir, p.Cfg, store)
	return nil
}

type peerTrace struct {
	Losses    []float64      `json:"losses"`
	LRs       []float64      `json:"lrs"`
	GradNorms []float64      `json:"grad_norms_preclip"`
	Raw       map[string]any `json:"config"`
}

// TestMatchesPyTorch trains the GPT from the PyTorch peer's initial weights on the peer's 30
// batches and compares every step's loss, learning rate and gradient norm.
func TestMatchesPyTorch(t *testing.T) {
	dir := filepath.Join("testdata", "peer_gpt_small")
	js, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tr peerTrace
	if err := json.Unmarshal(js, &tr); err != nil {
		t.Fatal(err)
	}
	num := func(k string) int { return int(tr.Raw[k].(float64)) }
	if g := tr.Raw["gelu"]; g != "none" {
		t.Fatalf("trace uses gelu %v, the model's GELU is exact", g)
	}
	mcfg := model.Config{Vocab: num("vocab"), DModel: num("d_model"), Heads: num("heads"), Layers: num("layers"),
		MLP: num("mlp"), Context: num("seq_len")}
	gpt, err := model.NewGPT(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	steps := num("steps")
	cfg := train.Config{MaxSteps: steps, LR: tr.Raw["lr"].(float64), WarmupSteps: num("warmup"),
		MaxGradNorm: tr.Raw["clip"].(float64), BatchSize: num("batch"), Padding: train.PadLongest, Seed: 1}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		t.Fatal(err)
	}
	trainer, err := train.New(be, peerGPT{GPT: gpt, t: t, dir: dir}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ids := readNpy(t, filepath.Join(dir, "input_ids.npy"))
	labels := readNpy(t, filepath.Join(dir, "labels.npy"))
	b, seq := ids.dims[1], ids.dims[2]
	for s := range steps {
		lr := train.LinearSchedule(cfg.LR, cfg.WarmupSteps, cfg.MaxSteps, s)
		if lr != tr.LRs[s] {
			t.Errorf("step %d: lr %v, PyTorch %v", s+1, lr, tr.LRs[s])
		}
		examples := make([]train.Example, b)
		for i := range b {
			off := (s*b + i) * seq
			examples[i] = train.Example{IDs: ids.int32[off : off+seq], Labels: labels.int32[off : off+seq]}
		}
		loss, norm, err := trainer.TrainStep(examples)
		if err != nil {
			t.Fatal(err)
		}
		if rel := math.Abs(loss-tr.Losses[s]) / tr.Losses[s]; rel > 1e-4 {
			t.Errorf("step %d: loss %.7f, PyTorch %.7f (rel. diff %.2g > 1e-4)", s+1, loss, tr.Losses[s], rel)
		}
		if rel := math.Abs(norm-tr.GradNorms[s]) / tr.GradNorms[s]; rel > 1e-5 {
			t.Errorf("step %d: grad norm %.6f, PyTorch %.6f (rel. diff %.2g > 1e-5)", s+1, norm, tr.GradNorms[s], rel)
		}
		t.Logf("step %2d loss %.7f torch %.7f  norm %.6f torch %.6f", s+1, loss, tr.Losses[s], norm, tr.GradNorms[s])
	}
}
