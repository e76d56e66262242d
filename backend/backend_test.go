package backend

import (
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// captureStdout runs fn with os.Stdout redirected and returns what was written to it.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = saved }()
	done := make(chan string)
	go func() {
		data, _ := io.ReadAll(r)
		done <- string(data)
	}()
	fn()
	os.Stdout = saved
	_ = w.Close()
	return <-done
}

func TestNewCPU(t *testing.T) {
	tests := []struct {
		name         string
		cfg          Config
		wantDescribe []string
	}{
		{"default", Config{}, []string{"cpu: ", "parallelism=-1", "dotgeneral layout rewrite: on", "fusion: on"}},
		{"named cpu", Config{Name: CPU}, []string{"cpu: ", "parallelism=-1"}},
		{"plain", Config{DisableLayoutRewrite: true}, []string{"dotgeneral layout rewrite: off", "fusion: on"}},
		{"no fusion", Config{DisableFusion: true}, []string{"dotgeneral layout rewrite: on", "fusion: off"}},
		{"parallel by default", Config{}, []string{"schedule: parallel"}},
		{"sequential", Config{Schedule: ScheduleSeq}, []string{"parallelism=-1", "schedule: sequential"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out string
			var desc string
			stdout := captureStdout(t, func() {
				be, err := New(tc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				defer be.Finalize()
				desc = Describe(be)
				exec := graph.MustNewExec(be, func(x *graph.Node) *graph.Node { return graph.Erf(graph.MulScalar(x, 2)) })
				defer exec.Finalize()
				out = exec.MustExec1(tensors.FromValue([]float32{0, 1})).String()
			})
			if stdout != "" {
				t.Errorf("New(%+v) wrote to stdout: %q", tc.cfg, stdout)
			}
			if !strings.Contains(out, "0.995") {
				t.Errorf("erf(2·[0 1]) = %s, want [0 0.995…]", out)
			}
			for _, want := range tc.wantDescribe {
				if !strings.Contains(desc, want) {
					t.Errorf("Describe = %q, want it to contain %q", desc, want)
				}
			}
			if !strings.Contains(desc, "simd: ") {
				t.Errorf("Describe = %q lacks the SIMD kernel", desc)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(PluginPathEnv, "")
	tests := []struct {
		name     string
		cfg      Config
		env      string
		wantErrs []string
	}{
		{"unknown name", Config{Name: "tpu"}, "", []string{`backend "tpu"`, "backend.name", "cpu", "gpu"}},
		{"gpu without any plugin", Config{Name: GPU}, "",
			[]string{"backend gpu", "backend.plugin", PluginPathEnv, "jax-cuda12-pjrt", "never downloaded"}},
		{"gpu with a missing plugin file", Config{Name: GPU, Plugin: filepath.Join(dir, "nope.so")}, "",
			[]string{"key backend.plugin", "nope.so", "no such file"}},
		{"gpu with a directory lacking plugins", Config{Name: GPU, Plugin: dir}, "",
			[]string{"key backend.plugin", "holds no PJRT plugin"}},
		{"gpu with an env path lacking plugins", Config{Name: GPU}, dir,
			[]string{PluginPathEnv, "holds no PJRT plugin", "backend.plugin"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(PluginPathEnv, tc.env)
			be, err := New(tc.cfg)
			if err == nil {
				be.Finalize()
				t.Fatalf("New(%+v) succeeded, want an error", tc.cfg)
			}
			for _, want := range tc.wantErrs {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not mention %q", err, want)
				}
			}
		})
	}
}

// TestNewGPUWithoutXLA checks the error of a build without the xla tag once a plugin is found.
func TestNewGPUWithoutXLA(t *testing.T) {
	if xlaCompiled {
		t.Skip("built with -tags xla")
	}
	plugin := filepath.Join(t.TempDir(), "xla_cuda_plugin.so")
	if err := os.WriteFile(plugin, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{Name: GPU, Plugin: plugin})
	if err == nil || !strings.Contains(err.Error(), "-tags xla") {
		t.Fatalf("New(gpu) error = %v, want one saying to build with -tags xla", err)
	}
}

func TestFindPlugin(t *testing.T) {
	dir := t.TempDir()
	cudaDir := filepath.Join(dir, "cuda")
	cpuDir := filepath.Join(dir, "cpu")
	for _, p := range []string{
		filepath.Join(cudaDir, "pjrt_c_api_cpu_plugin.so"),
		filepath.Join(cudaDir, "xla_cuda_plugin.so"),
		filepath.Join(cpuDir, "pjrt_c_api_cpu_plugin.so"),
		filepath.Join(dir, "custom.so"),
	} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	empty := filepath.Join(dir, "empty")
	if err := os.MkdirAll(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, plugin, env, want string
	}{
		{"configured file", filepath.Join(dir, "custom.so"), "", filepath.Join(dir, "custom.so")},
		{"configured directory prefers CUDA", cudaDir, "", filepath.Join(cudaDir, "xla_cuda_plugin.so")},
		{"configured value wins over env", cpuDir, cudaDir, filepath.Join(cpuDir, "pjrt_c_api_cpu_plugin.so")},
		{"env list skips entries without plugins", "", empty + "::" + cudaDir, filepath.Join(cudaDir, "xla_cuda_plugin.so")},
		{"env file", "", filepath.Join(dir, "custom.so"), filepath.Join(dir, "custom.so")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FindPlugin(tc.plugin, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("FindPlugin(%q, %q) = %q, want %q", tc.plugin, tc.env, got, tc.want)
			}
		})
	}
}

func TestAutoSchedule(t *testing.T) {
	for _, tc := range []struct {
		params int
		want   Schedule
	}{
		{0, SchedulePar},
		{12_000_000, SchedulePar},
		{LargeModelParams - 1, SchedulePar},
		{LargeModelParams, ScheduleSeq},
		{596_049_920, ScheduleSeq}, // Qwen3-0.6B
	} {
		if got := AutoSchedule(tc.params); got != tc.want {
			t.Errorf("AutoSchedule(%d) = %s, want %s", tc.params, got, tc.want)
		}
	}
}

// gcPercent reads the collector's current target.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestLimitHeapGrowth(t *testing.T) {
	t.Setenv("GOGC", "")
	before := gcPercent()
	restore := LimitHeapGrowth(LargeModelParams)
	if got := gcPercent(); got != LargeModelGCPercent {
		t.Errorf("GOGC %d for a large model, want %d", got, LargeModelGCPercent)
	}
	restore()
	if got := gcPercent(); got != before {
		t.Errorf("GOGC %d after restoring, want %d", got, before)
	}
	LimitHeapGrowth(LargeModelParams - 1)()
	if got := gcPercent(); got != before {
		t.Errorf("a small model changed GOGC to %d", got)
	}
	t.Setenv("GOGC", "50")
	restore = LimitHeapGrowth(LargeModelParams)
	if got := gcPercent(); got != before {
		t.Errorf("GOGC set in the environment was overridden: %d", got)
	}
	restore()
}

// TestHostMemory checks that the cpu backend, decorated or not, is recognised as keeping its
// buffers in Go memory (the trainer then applies AdamW on the host), and that nil is not.
func TestHostMemory(t *testing.T) {
	be, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Finalize()
	if !HostMemory(be) {
		t.Errorf("HostMemory(cpu backend %q) = false, want true", be.Name())
	}
	inner, _, _ := Undecorate(be)
	if !HostMemory(inner) {
		t.Errorf("HostMemory(undecorated Go backend %q) = false, want true", inner.Name())
	}
	if HostMemory(nil) {
		t.Error("HostMemory(nil) = true")
	}
}
