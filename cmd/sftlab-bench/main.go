// Sftlab-bench is a tool to measure the training speed of sftlab's models on the CPU backend,
// next to the PyTorch peers run in the same invocation.
//
// It trains each benchmark configuration for a number of steps on fresh random batches, each in
// its own child process so that peak RSS is per configuration, then runs the matching peer
// script when /usr/bin/python3 can import torch. T1 and T2 are GPTs, compared with
// peer_torch_gpt.py (-peer); Q0.6B and Q0.6B-LoRA16 are Qwen3-0.6B's real shapes (28 layers,
// hidden 1024, 16 heads, 8 key/value heads, head_dim 128, MLP 3072, vocabulary 151,936, tied;
// random weights drawn in the benchmark, nothing read from disk) at batch 2 × 128 tokens, fully
// fine-tuned or with rank-16 LoRA adapters on all seven projections, compared with
// peer_torch_qwen3.py speed --preset 0.6b [--lora 16] (-peer-qwen3). Its last lines are one
// JSON object per configuration:
//
//	{"config":"T1","ms_per_step":…,"tokens_per_s":…,"gflops":…,"peak_rss_mb":…,"torch_tokens_per_s":…,"torch_peak_rss_mb":…,"ratio":…}
//
// Usage:
//
//	sftlab-bench [-configs T1,T2,Q0.6B,Q0.6B-LoRA16] [-steps N] [-repeat 1] [-peer ../shared/peer/peer_torch_gpt.py]
//	             [-peer-qwen3 ../shared/peer/peer_torch_qwen3.py] [-schedule auto] [-cpuprofile FILE]
//
// -steps 0 uses each configuration's own count: 20 for the GPTs, 4 for the 0.6B shapes (a full
// 0.6B step takes seconds and about 12 GB on a CPU). Each configuration runs as `sftlab run`
// would run it: with -schedule auto (backend.schedule) full fine-tuning of the 0.6B shapes
// gets the sequential schedule, LoRA and the GPTs the parallel one, and both 0.6B
// configurations the collector target of large models (backend.LimitHeapGrowth).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/configs"
	"github.com/sftlab/sftlab/model"
	"github.com/sftlab/sftlab/model/decoder"
	"github.com/sftlab/sftlab/train"
)

// benchConfig is one benchmark point: the peer's model sizes and batch shape. A GPT gives its
// sizes; a Qwen3 point names the peer's preset and the decoder configuration.
type benchConfig struct {
	Name              string
	Vocab             int
	GPT               configs.ModelSize // a GPT's sizes: the configs presets t1 and t2 are the peer's T1 and T2
	SeqLen, BatchSize int
	Steps             int // default number of steps (the first is not timed)

	Qwen3    *decoder.Config // non-nil: a decoder of this configuration instead of a GPT
	Preset   string          // the Qwen3 peer's --preset
	LoRARank int             // > 0: LoRA of this rank (alpha 32, the peer's) on all seven projections
}

// qwen3_06B is Qwen/Qwen3-0.6B's config.json, the peer's preset "0.6b".
var qwen3_06B = decoder.Config{ModelType: "qwen3", VocabSize: 151936, HiddenSize: 1024, IntermediateSize: 3072,
	NumHiddenLayers: 28, NumAttentionHeads: 16, NumKeyValueHeads: 8, HeadDim: 128, RMSNormEps: 1e-6,
	RopeTheta: 1e6, MaxPositionEmbeddings: 40960, TieWordEmbeddings: true, InitializerRange: 0.02}

// mustPreset returns the dimensions of a model preset that configs defines.
func mustPreset(name string) configs.ModelSize {
	size, ok := configs.Preset(name)
	if !ok {
		panic("sftlab-bench: configs has no model preset " + name)
	}
	return size
}

var benchConfigs = []benchConfig{
	{Name: "T1", Vocab: 512, GPT: mustPreset("t1"), SeqLen: 128, BatchSize: 8, Steps: 20},
	{Name: "T2", Vocab: 8192, GPT: mustPreset("t2"), SeqLen: 256, BatchSize: 8, Steps: 20},
	{Name: "Q0.6B", SeqLen: 128, BatchSize: 2, Steps: 4, Qwen3: &qwen3_06B, Preset: "0.6b"},
	{Name: "Q0.6B-LoRA16", SeqLen: 128, BatchSize: 2, Steps: 4, Qwen3: &qwen3_06B, Preset: "0.6b", LoRARank: 16},
}

// result is one configuration's figures; the torch fields are nil when the peer did not run.
type result struct {
	Config          string   `json:"config"`
	MsPerStep       float64  `json:"ms_per_step"`
	TokensPerS      float64  `json:"tokens_per_s"`
	GFLOPs          float64  `json:"gflops,omitempty"` // GPTs only
	PeakRSSMB       float64  `json:"peak_rss_mb"`
	Schedule        string   `json:"schedule"`       // the Go backend's schedule
	GOGC            string   `json:"gogc,omitempty"` // the Go collector's target when not Go's default
	TorchTokensPerS *float64 `json:"torch_tokens_per_s"`
	TorchMsPerStep  *float64 `json:"torch_ms_per_step,omitempty"`
	TorchPeakRSSMB  *float64 `json:"torch_peak_rss_mb,omitempty"`
	Ratio           *float64 `json:"ratio"`

	minMs float64 // fastest timed step, reported by a child next to its result
}

// childResult is what a child process reports: the result plus its fastest step.
type childResult struct {
	result
	MinMs float64 `json:"min_ms_per_step"`
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sftlab-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configs := fs.String("configs", "T1,T2", "comma-separated configurations to run")
	steps := fs.Int("steps", 0, "training steps per configuration (the first is not timed); 0 = the configuration's default")
	peer := fs.String("peer", "../shared/peer/peer_torch_gpt.py", "PyTorch GPT peer script; empty to skip")
	peerQwen3 := fs.String("peer-qwen3", "../shared/peer/peer_torch_qwen3.py", "PyTorch Qwen3 peer script; empty to skip")
	python := fs.String("python", "/usr/bin/python3", "Python interpreter with torch")
	threads := fs.Int("threads", 2, "torch threads for the peer")
	child := fs.Bool("child", false, "internal: run one configuration in this process and print its JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps (with -child or a single config)")
	schedule := fs.String("schedule", "auto", "the Go backend's schedule, as backend.schedule: auto, parallel or sequential")
	repeat := fs.Int("repeat", 1, "alternate the Go and PyTorch runs this many times and keep each side's best median (for noisy machines)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var selected []benchConfig
	for _, name := range strings.Split(*configs, ",") {
		i := slices.IndexFunc(benchConfigs, func(c benchConfig) bool { return c.Name == name })
		if i < 0 {
			names := make([]string, len(benchConfigs))
			for j, c := range benchConfigs {
				names[j] = c.Name
			}
			fmt.Fprintf(stderr, "sftlab-bench: -configs: unknown configuration %q (want some of %s)\n", name, strings.Join(names, ","))
			return 2
		}
		selected = append(selected, benchConfigs[i])
	}
	if !slices.Contains([]string{"auto", "parallel", "sequential"}, *schedule) {
		fmt.Fprintf(stderr, "sftlab-bench: -schedule: %q is not auto, parallel or sequential\n", *schedule)
		return 2
	}
	if *child {
		if len(selected) != 1 {
			fmt.Fprintln(stderr, "sftlab-bench: -child runs exactly one configuration")
			return 2
		}
		r, err := measure(selected[0], stepsOf(selected[0], *steps), *schedule, *cpuProfile, stderr)
		if err != nil {
			fmt.Fprintf(stderr, "sftlab-bench: %s: %v\n", selected[0].Name, err)
			return 1
		}
		js, _ := json.Marshal(childResult{result: r, MinMs: r.minMs})
		fmt.Fprintln(stdout, string(js))
		return 0
	}

	var results []result
	for _, c := range selected {
		n := stepsOf(c, *steps)
		childArgs := []string{"-child", "-configs", c.Name, "-steps", strconv.Itoa(n), "-schedule", *schedule}
		if *cpuProfile != "" {
			childArgs = append(childArgs, "-cpuprofile", *cpuProfile+"."+c.Name)
		}
		script := *peer
		if c.Qwen3 != nil {
			script = *peerQwen3
		}
		withPeer := script != "" && torchAvailable(ctx, *python)
		var (
			r     result
			minMs float64
			best  *peerSummary
		)
		for i := range max(1, *repeat) {
			cmd := exec.CommandContext(ctx, os.Args[0], childArgs...)
			cmd.Stderr = stderr
			out, err := cmd.Output()
			if err != nil {
				fmt.Fprintf(stderr, "sftlab-bench: %s: %v\n", c.Name, err)
				return 1
			}
			var cr childResult
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if err := json.Unmarshal([]byte(lines[len(lines)-1]), &cr); err != nil {
				fmt.Fprintf(stderr, "sftlab-bench: %s: reading the child's result: %v\n", c.Name, err)
				return 1
			}
			fmt.Fprintf(stdout, "%s go: %.1f ms/step (fastest %.1f), %.1f tokens/s, %.2f GFLOP/s, peak RSS %.0f MB\n",
				c.Name, cr.MsPerStep, cr.MinMs, cr.TokensPerS, cr.GFLOPs, cr.PeakRSSMB)
			if i == 0 || cr.MsPerStep < r.MsPerStep {
				r, minMs = cr.result, cr.MinMs
			}
			if withPeer {
				run := runPeer
				if c.Qwen3 != nil {
					run = runPeerQwen3
				}
				ps, err := run(ctx, *python, script, c, n, *threads)
				if err != nil {
					fmt.Fprintf(stderr, "sftlab-bench: %s: peer: %v\n", c.Name, err)
					continue
				}
				fmt.Fprintf(stdout, "%s torch: %.1f ms/step (fastest %.1f), %.1f tokens/s, peak RSS %.0f MB\n", c.Name, ps.MedianMs, ps.MinMs, ps.TokensPerS, ps.PeakRSSMB)
				if best == nil || ps.TokensPerS > best.TokensPerS {
					best = &ps
				}
			}
		}
		if best != nil {
			ratio := r.TokensPerS / best.TokensPerS
			r.TorchTokensPerS, r.TorchMsPerStep, r.Ratio = &best.TokensPerS, &best.MedianMs, &ratio
			if best.PeakRSSMB > 0 {
				r.TorchPeakRSSMB = &best.PeakRSSMB
			}
			fmt.Fprintf(stdout, "%s go/torch tokens/s = %.3f (fastest steps: %.3f)\n", c.Name, ratio, best.MinMs/minMs)
		}
		results = append(results, r)
	}
	for _, r := range results {
		js, _ := json.Marshal(r)
		fmt.Fprintln(stdout, string(js))
	}
	return 0
}

// stepsOf is the number of steps to run c for: n, or c's default when n is 0.
func stepsOf(c benchConfig, n int) int {
	if n > 0 {
		return n
	}
	return c.Steps
}

// measure trains c for steps steps on random batches (labels = ids, as in the peer) and
// returns the median time of the steps after the first.
func measure(c benchConfig, steps int, schedule, cpuProfile string, logw io.Writer) (result, error) {
	var (
		m       train.Model
		mcfg    model.Config
		vocab   = c.Vocab
		lr      = 1e-3
		params  int // the model's
		trained int // those trained
	)
	if c.Qwen3 != nil {
		dm, err := decoder.New(*c.Qwen3)
		if err != nil {
			return result{}, err
		}
		params = c.Qwen3.NumParams()
		trained = params // as the runner counts them (pretrainedKind.numParams)
		if c.LoRARank > 0 {
			l := decoder.LoRA{Rank: c.LoRARank, Alpha: 32, Targets: decoder.LoRAModules()}
			if err := dm.AddLoRA(l); err != nil {
				return result{}, err
			}
			trained = c.Qwen3.NumLoRAParams(l)
		}
		m, vocab, lr = dm, c.Qwen3.VocabSize, 5e-5 // the peer's learning rate
	} else {
		mcfg = model.Config{Vocab: c.Vocab, DModel: c.GPT.DModel, Heads: c.GPT.NHeads, Layers: c.GPT.NLayers, MLP: c.GPT.DMLP, Context: c.SeqLen}
		gpt, err := model.NewGPT(mcfg)
		if err != nil {
			return result{}, err
		}
		m = gpt
		params, _ = mcfg.NumParams()
		trained = params
	}
	// As a run with backend.schedule set to schedule.
	sched := backend.AutoSchedule(trained)
	switch schedule {
	case "parallel":
		sched = backend.SchedulePar
	case "sequential":
		sched = backend.ScheduleSeq
	}
	be, err := backend.New(backend.Config{Name: "cpu", Schedule: sched})
	defer backend.LimitHeapGrowth(params)() // as sftlab run does
	if err != nil {
		return result{}, err
	}
	tcfg := train.Config{MaxSteps: steps, LR: lr, WarmupSteps: max(1, steps/10), MaxGradNorm: 1,
		BatchSize: c.BatchSize, Padding: train.PadLongest, Seed: 42}
	initStart := time.Now()
	tr, err := train.New(be, m, tcfg)
	if err != nil {
		return result{}, err
	}
	fmt.Fprintf(logw, "%s: model initialised in %.1f s\n", c.Name, time.Since(initStart).Seconds())
	rng := rand.New(rand.NewPCG(1234, 0))
	var times []float64
	for s := range steps {
		batch := make([]train.Example, c.BatchSize)
		for i := range batch {
			ids := make([]int32, c.SeqLen)
			for j := range ids {
				ids[j] = int32(rng.IntN(vocab))
			}
			batch[i] = train.Example{IDs: ids, Labels: ids}
		}
		if s == 1 && cpuProfile != "" {
			f, err := os.Create(cpuProfile)
			if err != nil {
				return result{}, err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return result{}, err
			}
			defer pprof.StopCPUProfile()
		}
		start := time.Now()
		loss, _, err := tr.TrainStep(batch)
		if err != nil {
			return result{}, err
		}
		ms := float64(time.Since(start).Microseconds()) / 1e3
		times = append(times, ms)
		fmt.Fprintf(logw, "%s step %d loss %.4f %.1f ms\n", c.Name, s+1, loss, ms)
	}
	timed := times
	if len(times) > 1 {
		timed = times[1:]
	}
	slices.Sort(timed)
	fastest := timed[0]
	med := timed[len(timed)/2]
	if len(timed)%2 == 0 {
		med = (timed[len(timed)/2-1] + timed[len(timed)/2]) / 2
	}
	tokens := float64(c.BatchSize * c.SeqLen)
	r := result{
		Config:     c.Name,
		Schedule:   sched.String(),
		GOGC:       gcPercent(params),
		MsPerStep:  med,
		TokensPerS: tokens / (med / 1e3),
		PeakRSSMB:  peakRSSMB(),
		minMs:      fastest,
	}
	if c.Qwen3 == nil {
		r.GFLOPs = mcfg.TrainFLOPs(c.BatchSize, c.SeqLen) / (med / 1e3) / 1e9
	}
	return r, nil
}

// gcPercent is the Go collector's target a model of params parameters trains with, "" for Go's
// default (see backend.LimitHeapGrowth).
func gcPercent(params int) string {
	if env := os.Getenv("GOGC"); env != "" {
		return env
	}
	if params >= backend.LargeModelParams {
		return strconv.Itoa(backend.LargeModelGCPercent)
	}
	return ""
}

// peakRSSMB reads this process's peak resident set size (VmHWM) from /proc; 0 if unavailable.
func peakRSSMB() float64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

func torchAvailable(ctx context.Context, python string) bool {
	return exec.CommandContext(ctx, python, "-c", "import torch").Run() == nil
}

// peerSummary holds the fields of the peer's JSON summary line that the benchmark reports.
type peerSummary struct {
	TokensPerS float64 `json:"tokens_per_s"`
	MedianMs   float64 `json:"median_step_ms"`
	MinMs      float64 `json:"min_step_ms"`
	PeakRSSMB  float64 `json:"peak_rss_mb"` // the Qwen3 peer only
}

// runPeer runs the PyTorch peer on c and returns its summary.
func runPeer(ctx context.Context, python, script string, c benchConfig, steps, threads int) (peerSummary, error) {
	args := []string{script, "--vocab", strconv.Itoa(c.Vocab), "--d_model", strconv.Itoa(c.GPT.DModel),
		"--heads", strconv.Itoa(c.GPT.NHeads), "--layers", strconv.Itoa(c.GPT.NLayers), "--mlp", strconv.Itoa(c.GPT.DMLP),
		"--seq_len", strconv.Itoa(c.SeqLen), "--batch", strconv.Itoa(c.BatchSize), "--steps", strconv.Itoa(steps),
		"--threads", strconv.Itoa(threads), "--quiet"}
	out, err := exec.CommandContext(ctx, python, args...).Output()
	if err != nil {
		return peerSummary{}, fmt.Errorf("%s %s: %w", python, script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var summary peerSummary
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &summary); err != nil || summary.TokensPerS <= 0 {
		return peerSummary{}, fmt.Errorf("%s: last line is not its JSON summary (%v)", script, err)
	}
	return summary, nil
}

// runPeerQwen3 runs peer_torch_qwen3.py speed on c (its preset, batch, sequence length and LoRA
// rank) and returns its summary: it prints one JSON line with median_s_per_step, tokens_per_s
// and peak_rss_mb, after one line per step ("step N loss L T ms") from which the fastest is read.
func runPeerQwen3(ctx context.Context, python, script string, c benchConfig, steps, threads int) (peerSummary, error) {
	args := []string{script, "speed", "--preset", c.Preset, "--seq_len", strconv.Itoa(c.SeqLen),
		"--batch", strconv.Itoa(c.BatchSize), "--steps", strconv.Itoa(steps), "--threads", strconv.Itoa(threads)}
	if c.LoRARank > 0 {
		args = append(args, "--lora", strconv.Itoa(c.LoRARank))
	}
	out, err := exec.CommandContext(ctx, python, args...).Output()
	if err != nil {
		return peerSummary{}, fmt.Errorf("%s %s: %w", python, script, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var js struct {
		MedianS    float64 `json:"median_s_per_step"`
		TokensPerS float64 `json:"tokens_per_s"`
		PeakRSSMB  float64 `json:"peak_rss_mb"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &js); err != nil || js.TokensPerS <= 0 {
		return peerSummary{}, fmt.Errorf("%s: last line is not its JSON summary (%v)", script, err)
	}
	s := peerSummary{TokensPerS: js.TokensPerS, MedianMs: js.MedianS * 1e3, PeakRSSMB: js.PeakRSSMB}
	for _, line := range lines[:len(lines)-1] {
		f := strings.Fields(line)
		if len(f) != 6 || f[0] != "step" || f[1] == "1" || f[5] != "ms" {
			continue // the first step is not timed, as ours
		}
		if ms, err := strconv.ParseFloat(f[4], 64); err == nil && (s.MinMs == 0 || ms < s.MinMs) {
			s.MinMs = ms
		}
	}
	return s, nil
}
