// Sftlab-tinybase is a tool to build the small pretrained model that sftlab's LoRA experiments
// fine-tune in CI time: a Qwen3-architecture model with a reduced Qwen3 tokenizer, trained from
// scratch on the training split of the built-in teaching data.
//
// The tokenizer keeps, of Qwen3's byte-level BPE, the 256 byte tokens, every token the built-in
// data uses in any format, the tokens their merges build on and every added (special) token,
// renumbered densely, with the merges among them in Qwen3's order. BPE applies its
// lowest-ranked merge first, so every text of the data tokenizes into the same tokens as with
// Qwen3's tokenizer (the tool checks it), and any other text still encodes, byte by byte where
// the merges are gone.
//
// The model is trained in the sft format on the examples that the experiments' default split
// (valid_fraction 0.2, split_seed 42) puts in training, never on their held-out ones, and is
// written in bfloat16 with the tokenizer files as a Hugging Face model directory.
//
// Usage:
//
//	sftlab-tinybase -out experiments/models/qwen3-tiny-zh [-steps 60]
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/datasets"
	"github.com/sftlab/sftlab/internal/atomicfile"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/safetensors"
	"github.com/sftlab/sftlab/tokenizer"
	"github.com/sftlab/sftlab/train"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sftlab-tinybase", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "experiments/models/qwen3-tiny-zh", "model directory to write")
	qwen3Dir := fs.String("qwen3", "tokenizer/qwen3", "directory of Qwen3's tokenizer.json(.gz) and tokenizer_config.json")
	steps := fs.Int("steps", 60, "training steps")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := build(ctx, *qwen3Dir, *out, *steps, stdout); err != nil {
		fmt.Fprintln(stderr, "sftlab-tinybase:", err)
		return 1
	}
	return 0
}

// The model: Qwen3's architecture at a size that trains in seconds.
const (
	hidden, intermediate, layers = 128, 384, 2
	heads, kvHeads, headDim      = 4, 2, 32
	contextLen                   = 1024
	seed                         = 1
	dataset                      = "builtin:teaching_zh"
	validFraction, splitSeed     = 0.2, 42
)

func build(ctx context.Context, qwen3Dir, out string, steps int, stdout io.Writer) error {
	recs, err := datasets.Load(dataset)
	if err != nil {
		return err
	}
	full, err := tokenizer.Load(qwen3Dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	texts, err := renderAll(full, recs)
	if err != nil {
		return err
	}
	if err := writeReducedTokenizer(qwen3Dir, out, full, texts); err != nil {
		return err
	}
	tok, err := tokenizer.Load(out)
	if err != nil {
		return fmt.Errorf("the reduced tokenizer does not load: %w", err)
	}
	if err := sameTokens(full, tok, texts); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tokenizer: %d tokens (Qwen3: %d); the data tokenizes as with Qwen3's\n", tok.VocabSize(), full.VocabSize())

	trainRecs, validRecs := datasets.Split(recs, validFraction, splitSeed)
	encode := func(recs []datasets.Record) ([]train.Example, error) {
		var out []train.Example
		for _, r := range recs {
			ex, err := datasets.Encode(tok, r, datasets.EncodeOptions{Format: datasets.FormatSFT, Masking: datasets.MaskEOSSafe, MaxLength: contextLen})
			if err != nil {
				return nil, err
			}
			out = append(out, train.Example{IDs: ex.IDs, Labels: ex.Labels})
		}
		return out, nil
	}
	examples, err := encode(trainRecs)
	if err != nil {
		return err
	}
	held, err := encode(validRecs)
	if err != nil {
		return err
	}
	vocab := (tok.VocabSize() + 63) / 64 * 64 // padded like Qwen's vocab_size
	cfgJSON := fmt.Sprintf(`{"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": %d,
		"hidden_size": %d, "intermediate_size": %d, "num_hidden_layers": %d, "num_attention_heads": %d,
		"num_key_value_heads": %d, "head_dim": %d, "rms_norm_eps": 1e-6, "rope_theta": 1000000,
		"max_position_embeddings": %d, "tie_word_embeddings": true, "initializer_range": 0.02,
		"bos_token_id": %d, "eos_token_id": %d, "torch_dtype": "bfloat16"}`,
		vocab, hidden, intermediate, layers, heads, kvHeads, headDim, contextLen, tok.Pad(), tok.EOS())
	cfg, err := decoder.ParseConfig("config.json", []byte(cfgJSON))
	if err != nil {
		return err
	}
	m, err := decoder.New(cfg)
	if err != nil {
		return err
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		return err
	}
	tr, err := train.New(be, m, train.Config{MaxSteps: steps, LR: 3e-3, WarmupSteps: steps / 20, WeightDecay: 0.01,
		MaxGradNorm: 1, BatchSize: 8, Seed: seed, Padding: train.PadLongest, EvalEvery: 10})
	if err != nil {
		return err
	}
	// The held-out examples are only measured (never trained on), to show where the model stops
	// generalising; -steps is chosen from these numbers.
	res, err := tr.Run(ctx, examples, map[string][]train.Example{"train": examples, "valid": held}, train.Hooks{
		OnEval: func(e train.EvalMetrics) error {
			fmt.Fprintf(stdout, "step %d %s loss %.4f accuracy %.3f\n", e.Step, e.Split, e.Loss, e.TokenAccuracy)
			return nil
		}})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trained %d steps on %d examples: train loss %.4f; held-out loss %.4f, token accuracy %.3f\n",
		res.Steps, len(examples), res.Evals["train"].Loss, res.Evals["valid"].Loss, res.Evals["valid"].TokenAccuracy)
	if err := m.SaveAs(tr.Store(), out, safetensors.BF16); err != nil {
		return err
	}
	return writeGenerationConfig(out, tok)
}

// renderAll renders every record in every format, prompts and responses as the model sees them.
func renderAll(tok *tokenizer.Tokenizer, recs []datasets.Record) ([]string, error) {
	var texts []string
	for _, r := range recs {
		for _, format := range datasets.Formats() {
			ex, err := datasets.Encode(tok, r, datasets.EncodeOptions{Format: format, Masking: datasets.MaskEOSSafe, MaxLength: math.MaxInt32})
			if err != nil {
				return nil, err
			}
			texts = append(texts, ex.Text)
		}
	}
	return texts, nil
}

// writeReducedTokenizer writes out/tokenizer.json and out/tokenizer_config.json: Qwen3's,
// restricted to the tokens texts need (see the package doc), renumbered.
func writeReducedTokenizer(qwen3Dir, out string, full *tokenizer.Tokenizer, texts []string) error {
	raw, err := readTokenizerJSON(qwen3Dir)
	if err != nil {
		return err
	}
	var tj map[string]any
	if err := json.Unmarshal(raw, &tj); err != nil {
		return err
	}
	modelJSON := tj["model"].(map[string]any)
	vocab := modelJSON["vocab"].(map[string]any)
	byID := make(map[int]string, len(vocab))
	for tokStr, id := range vocab {
		byID[int(id.(float64))] = tokStr
	}
	var merges [][2]string
	builtBy := map[string][][2]string{}
	for _, m := range modelJSON["merges"].([]any) {
		var pair [2]string
		switch x := m.(type) {
		case []any:
			pair = [2]string{x[0].(string), x[1].(string)}
		default:
			return fmt.Errorf("tokenizer.json: merges in an unexpected form %T", m)
		}
		merges = append(merges, pair)
		builtBy[pair[0]+pair[1]] = append(builtBy[pair[0]+pair[1]], pair)
	}
	keep := map[string]bool{}
	for _, r := range byteAlphabet() {
		keep[string(r)] = true
	}
	var stack []string
	for _, text := range texts {
		for _, id := range full.Encode(text) {
			if s, ok := byID[id]; ok { // not an added token
				stack = append(stack, s)
			}
		}
	}
	for len(stack) > 0 { // the tokens used, and those their merges are made of
		s := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if keep[s] {
			continue
		}
		keep[s] = true
		for _, pair := range builtBy[s] {
			stack = append(stack, pair[0], pair[1])
		}
	}
	kept := make([]string, 0, len(keep))
	for s := range keep {
		if _, ok := vocab[s]; !ok {
			return fmt.Errorf("byte token %q is not in Qwen3's vocabulary", s)
		}
		kept = append(kept, s)
	}
	sort.Slice(kept, func(i, j int) bool { return vocab[kept[i]].(float64) < vocab[kept[j]].(float64) })
	newVocab := make(map[string]any, len(kept))
	for i, s := range kept {
		newVocab[s] = i
	}
	var newMerges []any
	for _, m := range merges {
		if keep[m[0]] && keep[m[1]] && keep[m[0]+m[1]] {
			newMerges = append(newMerges, []string{m[0], m[1]})
		}
	}
	modelJSON["vocab"], modelJSON["merges"] = newVocab, newMerges
	renumber := map[string]string{} // old added-token id → new
	added := tj["added_tokens"].([]any)
	for i, a := range added {
		at := a.(map[string]any)
		old := int(at["id"].(float64))
		at["id"] = len(kept) + i
		renumber[strconv.Itoa(old)] = strconv.Itoa(len(kept) + i)
	}
	tokJSON, err := marshal(tj, "")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(out, "tokenizer.json"), tokJSON); err != nil {
		return err
	}
	cfgRaw, err := os.ReadFile(filepath.Join(qwen3Dir, "tokenizer_config.json"))
	if err != nil {
		return err
	}
	var tc map[string]any
	if err := json.Unmarshal(cfgRaw, &tc); err != nil {
		return err
	}
	decoderMap := map[string]any{}
	for old, v := range tc["added_tokens_decoder"].(map[string]any) {
		id, ok := renumber[old]
		if !ok {
			return fmt.Errorf("tokenizer_config.json: added token %s is not in tokenizer.json", old)
		}
		decoderMap[id] = v
	}
	tc["added_tokens_decoder"] = decoderMap
	cfgJSON, err := marshal(tc, "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(out, "tokenizer_config.json"), cfgJSON)
}

// marshal encodes v as JSON without escaping <, > and & (special tokens stay readable).
func marshal(v any, indent string) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", indent)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sameTokens checks that the reduced tokenizer splits every text into the tokens Qwen3's does.
func sameTokens(full, reduced *tokenizer.Tokenizer, texts []string) error {
	for _, text := range texts {
		a, b := full.Encode(text), reduced.Encode(text)
		as, bs := make([]string, len(a)), make([]string, len(b))
		for i, id := range a {
			as[i] = full.TokenText(id)
		}
		for i, id := range b {
			bs[i] = reduced.TokenText(id)
		}
		if !slices.Equal(as, bs) {
			return fmt.Errorf("the reduced tokenizer splits %q into %q, Qwen3's into %q", text, bs, as)
		}
	}
	return nil
}

// byteAlphabet is byte-level BPE's 256 characters, one per byte (GPT-2's bytes_to_unicode).
func byteAlphabet() []rune {
	var out []rune
	n := 0
	for b := range 256 {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			out = append(out, rune(b))
		} else {
			out = append(out, rune(256+n))
			n++
		}
	}
	return out
}

// readTokenizerJSON reads tokenizer.json, or tokenizer.json.gz, of dir.
func readTokenizerJSON(dir string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Join(dir, "tokenizer.json"))
	if !errors.Is(err, os.ErrNotExist) {
		return data, err
	}
	f, err := os.Open(filepath.Join(dir, "tokenizer.json.gz"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, zr); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeGenerationConfig writes generation_config.json as Qwen3's, with the reduced ids.
func writeGenerationConfig(out string, tok *tokenizer.Tokenizer) error {
	js, err := json.MarshalIndent(map[string]any{
		"bos_token_id": tok.Pad(), "eos_token_id": []int{tok.EOS(), tok.Pad()}, "pad_token_id": tok.Pad(),
		"do_sample": false, "transformers_version": "4.51.0",
	}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(filepath.Join(out, "generation_config.json"), append(js, '\n'))
}
