package runner

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strings"
	"time"

	"github.com/sftlab/sftlab/backend"
	"github.com/sftlab/sftlab/metrics"
)

// CodeVersion identifies the code that produced a run: the git commit and whether the work tree
// had uncommitted changes.
type CodeVersion struct {
	Commit string
	Dirty  bool
}

// Matches reports whether results produced by other can be reused as if produced by v: both are
// known, clean and the same commit.
func (v CodeVersion) Matches(other CodeVersion) bool {
	return v.Commit != "" && v.Commit != "unknown" && !v.Dirty && !other.Dirty && v.Commit == other.Commit
}

// SameCodeAndKernels is an Options.Reuse rule for gates: a finished run is reused only when the
// same clean commit as code produced it and, on the cpu backend, with the SIMD matmul kernels
// this process uses (other kernels give other last bits).
func SameCodeAndKernels(code CodeVersion) func(metrics.RunInfo) bool {
	kernel := backend.SIMDKernel()
	return func(info metrics.RunInfo) bool {
		p := info.Provenance
		sameKernel := p.Backend != backend.CPU || backend.SIMDKernelOf(p.Device) == kernel
		return sameKernel && code.Matches(CodeVersion{Commit: p.GitCommit, Dirty: p.GitDirty})
	}
}

// DetectCodeVersion returns the commit the running binary was built from (Go stamps it into the
// build info when building inside a git checkout); failing that, it asks git about dir.
func DetectCodeVersion(ctx context.Context, dir string) CodeVersion {
	if bi, ok := debug.ReadBuildInfo(); ok {
		var v CodeVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Commit = s.Value
			case "vcs.modified":
				v.Dirty = s.Value == "true"
			}
		}
		if v.Commit != "" {
			return v
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		return CodeVersion{Commit: "unknown"}
	}
	v := CodeVersion{Commit: strings.TrimSpace(string(out))}
	status, err := exec.CommandContext(ctx, "git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output()
	v.Dirty = err != nil || len(strings.TrimSpace(string(status))) > 0
	return v
}

// moduleVersion returns the version of a dependency compiled into the binary, or "unknown".
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == path {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}

// hostname returns the machine's name, or "unknown".
func hostname() string {
	h, err := os.Hostname()
	if err != nil {
		return "unknown"
	}
	return h
}

// goVersion returns the Go toolchain and GOEXPERIMENT the binary was built with.
func goVersion() string {
	v := runtime.Version()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOEXPERIMENT" && s.Value != "" {
				v += " (GOEXPERIMENT=" + s.Value + ")"
			}
		}
	}
	return v
}
