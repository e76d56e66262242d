package backend

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// PluginPathEnv is the environment variable searched for a PJRT plugin when [Config.Plugin]
// is empty: a ":"-separated list of plugin files or directories holding them.
const PluginPathEnv = "PJRT_PLUGIN_LIBRARY_PATH"

// pluginPatterns are the file names recognised as PJRT plugins inside a directory: GoMLX's
// naming conventions and the name used by JAX's CUDA plugin wheels (jax-cudaNN-pjrt).
var pluginPatterns = []string{
	"pjrt_c_api_*_plugin.so",
	"pjrt-plugin-*.so",
	"pjrt_plugin_*.so",
	"xla_cuda_plugin.so",
	"xla_*_plugin.so",
}

// pluginHelp says how to provide a plugin; it ends every "not found" error.
const pluginHelp = "set the experiment key backend.plugin to the PJRT CUDA plugin file (or its directory), " +
	"or set " + PluginPathEnv + " to it; JAX's CUDA plugin wheel ships one " +
	"(pip install jax-cuda12-pjrt, then site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so); " +
	"plugins are never downloaded automatically"

// FindPlugin returns the absolute path of the PJRT plugin to load for the "gpu" backend.
//
// plugin is the configured backend.plugin value (a file or a directory); when empty, envValue
// (the value of PJRT_PLUGIN_LIBRARY_PATH, a ":"-separated list of files or directories) is
// searched. In a directory, CUDA plugins are preferred over others and names are otherwise
// taken in sorted order. The error names the key, the variable and how to get a plugin.
func FindPlugin(plugin, envValue string) (string, error) {
	if plugin != "" {
		path, err := pluginIn(plugin)
		if err != nil {
			return "", fmt.Errorf("key backend.plugin = %q: %w; %s", plugin, err, pluginHelp)
		}
		return path, nil
	}
	var tried []string
	for entry := range strings.SplitSeq(envValue, ":") {
		if entry == "" {
			continue
		}
		path, err := pluginIn(entry)
		if err == nil {
			return path, nil
		}
		tried = append(tried, err.Error())
	}
	if len(tried) == 0 {
		return "", fmt.Errorf("no PJRT plugin configured: backend.plugin and %s are both empty; %s",
			PluginPathEnv, pluginHelp)
	}
	return "", fmt.Errorf("no PJRT plugin found in %s=%q (%s); %s",
		PluginPathEnv, envValue, strings.Join(tried, "; "), pluginHelp)
}

// pluginIn resolves path (a plugin file, or a directory holding one) to an absolute file path.
func pluginIn(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	info, err := os.Stat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: no such file or directory", abs)
	}
	if err != nil {
		return "", err
	}
	if !info.IsDir() {
		return abs, nil
	}
	var found []string
	for _, pattern := range pluginPatterns {
		matches, err := filepath.Glob(filepath.Join(abs, pattern))
		if err != nil {
			return "", fmt.Errorf("%s: %w", abs, err)
		}
		for _, m := range matches {
			if !slices.Contains(found, m) {
				found = append(found, m)
			}
		}
	}
	if len(found) == 0 {
		return "", fmt.Errorf("%s: directory holds no PJRT plugin (want one of %s)",
			abs, strings.Join(pluginPatterns, ", "))
	}
	slices.SortFunc(found, func(a, b string) int {
		ca, cb := isCUDAPlugin(a), isCUDAPlugin(b)
		switch {
		case ca && !cb:
			return -1
		case cb && !ca:
			return 1
		}
		return strings.Compare(a, b)
	})
	return found[0], nil
}

// isCUDAPlugin reports whether a plugin file name names CUDA.
func isCUDAPlugin(path string) bool {
	return strings.Contains(strings.ToLower(filepath.Base(path)), "cuda")
}

// lookupPluginEnv returns the value of PJRT_PLUGIN_LIBRARY_PATH.
func lookupPluginEnv() string { return os.Getenv(PluginPathEnv) }
