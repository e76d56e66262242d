// Sftlab-bench is a tool to measure the training speed of sftlab's GPT on the CPU backend,
// next to the PyTorch peer run in the same invocation.
//
// It trains each benchmark configuration (T1, T2) for a number of steps on fresh random
// batches, each in its own child process so that peak RSS is per configuration, then runs the
// peer script for the same configurations when /usr/bin/python3 can import torch. Its last
// lines are one JSON object per configuration:
//
//	{"config":"T1","ms_per_step":…,"tokens_per_s":…,"gflops":…,"peak_rss_mb":…,"torch_tokens_per_s":…,"ratio":…}
//
// Usage:
//
//	sftlab-bench [-configs T1,T2] [-steps 20] [-repeat 1] [-peer ../shared/peer/peer_torch_gpt.py] [-cpuprofile FILE]
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
	"github.com/sftlab/sftlab/train"
)

// benchConfig is one benchmark point: a model size preset of configs (the peer's T1 and T2
// sizes are the presets t1 and t2), a vocabulary and a batch shape.
type benchConfig struct {
	Name              string
	Vocab             int
	SeqLen, BatchSize int
	configs.ModelSize
}

// benchConfigs are the peer's benchmark configurations.
var benchConfigs = []benchConfig{
	{Name: "T1", Vocab: 512, SeqLen: 128, BatchSize: 8, ModelSize: mustPreset("t1")},
	{Name: "T2", Vocab: 8192, SeqLen: 256, BatchSize: 8, ModelSize: mustPreset("t2")},
}

// mustPreset returns the dimensions of a model preset that configs defines.
func mustPreset(name string) configs.ModelSize {
	size, ok := configs.Preset(name)
	if !ok {
		panic("sftlab-bench: configs has no model preset " + name)
	}
	return size
}

// result is one configuration's figures; the torch fields are nil when the peer did not run.
type result struct {
	Config          string   `json:"config"`
	MsPerStep       float64  `json:"ms_per_step"`
	TokensPerS      float64  `json:"tokens_per_s"`
	GFLOPs          float64  `json:"gflops"`
	PeakRSSMB       float64  `json:"peak_rss_mb"`
	TorchTokensPerS *float64 `json:"torch_tokens_per_s"`
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
	steps := fs.Int("steps", 20, "training steps per configuration (the first is not timed)")
	peer := fs.String("peer", "../shared/peer/peer_torch_gpt.py", "PyTorch peer script; empty to skip")
	python := fs.String("python", "/usr/bin/python3", "Python interpreter with torch")
	threads := fs.Int("threads", 2, "torch threads for the peer")
	child := fs.Bool("child", false, "internal: run one configuration in this process and print its JSON")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps (with -child or a single config)")
	repeat := fs.Int("repeat", 1, "alternate the Go and PyTorch runs this many times and keep each side's best median (for noisy machines)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var selected []benchConfig
	for _, name := range strings.Split(*configs, ",") {
		i := slices.IndexFunc(benchConfigs, func(c benchConfig) bool { return c.Name == name })
		if i < 0 {
			fmt.Fprintf(stderr, "sftlab-bench: -configs: unknown configuration %q (want T1 or T2)\n", name)
			return 2
		}
		selected = append(selected, benchConfigs[i])
	}
	if *child {
		if len(selected) != 1 {
			fmt.Fprintln(stderr, "sftlab-bench: -child runs exactly one configuration")
			return 2
		}
		r, err := measure(selected[0], *steps, *cpuProfile, stderr)
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
		childArgs := []string{"-child", "-configs", c.Name, "-steps", strconv.Itoa(*steps)}
		if *cpuProfile != "" {
			childArgs = append(childArgs, "-cpuprofile", *cpuProfile+"."+c.Name)
		}
		withPeer := *peer != "" && torchAvailable(ctx, *python)
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
			fmt.Fprintf(stdout, "%s go: %.1f ms/step (fastest %.1f), %.0f tokens/s, %.2f GFLOP/s, peak RSS %.0f MB\n",
				c.Name, cr.MsPerStep, cr.MinMs, cr.TokensPerS, cr.GFLOPs, cr.PeakRSSMB)
			if i == 0 || cr.MsPerStep < r.MsPerStep {
				r, minMs = cr.result, cr.MinMs
			}
			if withPeer {
				ps, err := runPeer(ctx, *python, *peer, c, *steps, *threads)
				if err != nil {
					fmt.Fprintf(stderr, "sftlab-bench: %s: peer: %v\n", c.Name, err)
					continue
				}
				fmt.Fprintf(stdout, "%s torch: %.1f ms/step (fastest %.1f), %.0f tokens/s\n", c.Name, ps.MedianMs, ps.MinMs, ps.TokensPerS)
				if best == nil || ps.TokensPerS > best.TokensPerS {
					best = &ps
				}
			}
		}
		if best != nil {
			ratio := r.TokensPerS / best.TokensPerS
			r.TorchTokensPerS, r.Ratio = &best.TokensPerS, &ratio
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

// measure trains c for steps steps on random batches (labels = ids, as in the peer) and
// returns the median time of the steps after the first.
func measure(c benchConfig, steps int, cpuProfile string, logw io.Writer) (result, error) {
	mcfg := model.Config{Vocab: c.Vocab, DModel: c.DModel, Heads: c.NHeads, Layers: c.NLayers, MLP: c.DMLP, Context: c.SeqLen}
	gpt, err := model.NewGPT(mcfg)
	if err != nil {
		return result{}, err
	}
	be, err := backend.New(backend.Config{Name: "cpu"})
	if err != nil {
		return result{}, err
	}
	tcfg := train.Config{MaxSteps: steps, LR: 1e-3, WarmupSteps: max(1, steps/10), MaxGradNorm: 1,
		BatchSize: c.BatchSize, Padding: train.PadLongest, Seed: 42}
	tr, err := train.New(be, gpt, tcfg)
	if err != nil {
		return result{}, err
	}
	rng := rand.New(rand.NewPCG(1234, 0))
	var times []float64
	for s := range steps {
		batch := make([]train.Example, c.BatchSize)
		for i := range batch {
			ids := make([]int32, c.SeqLen)
			for j := range ids {
				ids[j] = int32(rng.IntN(c.Vocab))
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
	return result{
		Config:     c.Name,
		MsPerStep:  med,
		TokensPerS: tokens / (med / 1e3),
		GFLOPs:     mcfg.TrainFLOPs(c.BatchSize, c.SeqLen) / (med / 1e3) / 1e9,
		PeakRSSMB:  peakRSSMB(),
		minMs:      fastest,
	}, nil
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
}

// runPeer runs the PyTorch peer on c and returns its summary.
func runPeer(ctx context.Context, python, script string, c benchConfig, steps, threads int) (peerSummary, error) {
	args := []string{script, "--vocab", strconv.Itoa(c.Vocab), "--d_model", strconv.Itoa(c.DModel),
		"--heads", strconv.Itoa(c.NHeads), "--layers", strconv.Itoa(c.NLayers), "--mlp", strconv.Itoa(c.DMLP),
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
