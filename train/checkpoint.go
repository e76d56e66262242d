package train

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/sftlab/sftlab/internal/atomicfile"
)

// Checkpoint layout inside Config.CheckpointDir:
//
//	latest              name of the newest complete checkpoint, e.g. "step-00000020"
//	step-00000020/
//	  state.json        step, data position, tokens seen, the first step's loss, the run's
//	                    trajectory settings, the variable table (path, dims, byte offset) and
//	                    the CRC-32C of tensors.bin
//	  tensors.bin       every variable (weights, AdamW m and v) as little-endian float32
//
// The data order needs no saved generator state: each epoch's permutation is drawn from a PCG
// seeded by (seed, epoch), so the seed and the position are the whole of it. The only other
// randomness, a TrainingModel's dropout, is drawn from a state derived from (seed, step,
// micro-batch). Only trainable variables and their AdamW moments are saved: a model's frozen
// weights (LoRA's base) are its Init's to restore.
//
// A checkpoint is written into a temporary folder that is renamed into place, and only then
// named in latest, so a crash leaves the previous checkpoint intact. Older ones are removed.
const (
	latestFile  = "latest"
	stateFile   = "state.json"
	tensorsFile = "tensors.bin"
)

// checkpointState is state.json.
type checkpointState struct {
	Step      int             `json:"step"`
	Position  position        `json:"position"`
	Tokens    int64           `json:"tokens"`
	StartLoss float64         `json:"start_loss,omitempty"` // the first step's loss, for the divergence check
	Settings  trajectory      `json:"settings"`
	Variables []checkpointVar `json:"variables"`
	// CRC32C is the CRC-32C (Castagnoli) of tensors.bin; nil in checkpoints written before it
	// was recorded, which are loaded unchecked.
	CRC32C *uint32 `json:"crc32c,omitempty"`
}

// size is the length tensors.bin must have: the variables laid end to end, in order. The
// error says where the table is inconsistent.
func (st checkpointState) size() (int64, error) {
	var next int64
	for _, v := range st.Variables {
		if v.Offset != next {
			return 0, fmt.Errorf("variable %q at byte %d, want %d", v.Path, v.Offset, next)
		}
		n := int64(4)
		for _, d := range v.Dims {
			if d < 0 || (d > 0 && n > math.MaxInt64/int64(d)) {
				return 0, fmt.Errorf("variable %q: dims %v", v.Path, v.Dims)
			}
			n *= int64(d)
		}
		next += n
	}
	return next, nil
}

// crcTable is the CRC-32C table of tensors.bin's checksum.
var crcTable = crc32.MakeTable(crc32.Castagnoli)

// trajectory holds the settings that decide a run's numbers; a resume must not change them.
type trajectory struct {
	Seed        uint64  `json:"seed"`
	MaxSteps    int     `json:"max_steps"`
	LR          float64 `json:"lr"`
	WarmupSteps int     `json:"warmup_steps"`
	WeightDecay float64 `json:"weight_decay"`
	MaxGradNorm float64 `json:"max_grad_norm"`
	BatchSize   int     `json:"batch_size"`
	GradAccum   int     `json:"grad_accum,omitempty"` // 0 when there is no accumulation (GradAccum ≤ 1)
	Padding     string  `json:"padding"`
	MaxLength   int     `json:"max_length"`
}

type checkpointVar struct {
	Path   string `json:"path"`
	Dims   []int  `json:"dims"`
	Offset int64  `json:"offset"`
}

func (c Config) trajectory() trajectory {
	t := trajectory{Seed: c.Seed, MaxSteps: c.MaxSteps, LR: c.LR, WarmupSteps: c.WarmupSteps,
		WeightDecay: c.WeightDecay, MaxGradNorm: c.MaxGradNorm, BatchSize: c.BatchSize,
		Padding: c.Padding, MaxLength: c.MaxLength}
	if c.GradAccum > 1 {
		t.GradAccum = c.GradAccum
	}
	return t
}

// SaveCheckpoint writes the trainable weights (frozen ones are not saved), AdamW state, step,
// tokens seen and data position into cfg.CheckpointDir (see the layout above), atomically.
func (t *Trainer) SaveCheckpoint() error {
	dir := t.cfg.CheckpointDir
	name := fmt.Sprintf("step-%08d", t.step)
	fail := func(err error) error { return fmt.Errorf("train: checkpoint %s: %w", filepath.Join(dir, name), err) }
	// Saving removes the older step-* folders of dir: never through a link, whose target may
	// hold anything (another run's checkpoints, say).
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return fail(fmt.Errorf("%s is a symbolic link: checkpoints replace the step-* folders of their folder, which is not done through a link; remove the link (to keep runs on another disk, point output.dir there)", dir))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fail(err)
	}
	tmp, err := atomicfile.TempDir(dir, name)
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	st := checkpointState{Step: t.step, Position: t.pos, Tokens: t.tokens, StartLoss: t.startLoss, Settings: t.cfg.trajectory()}
	vars := slices.Concat(t.params, t.moments)
	sum := crc32.New(crcTable)
	err = atomicfile.Write(filepath.Join(tmp, tensorsFile), func(w io.Writer) error {
		bw := bufio.NewWriter(io.MultiWriter(w, sum))
		var offset int64
		buf := make([]byte, 4)
		for _, v := range vars {
			value, err := v.Value()
			if err != nil {
				return fmt.Errorf("variable %q: %w", v.Path(), err)
			}
			if value.DType() != dtypes.Float32 {
				return fmt.Errorf("variable %q: dtype %s, only float32 is checkpointed", v.Path(), value.DType())
			}
			data, err := tensors.CopyFlatData[float32](value)
			if err != nil {
				return fmt.Errorf("variable %q: %w", v.Path(), err)
			}
			for _, x := range data {
				binary.LittleEndian.PutUint32(buf, math.Float32bits(x))
				if _, err := bw.Write(buf); err != nil {
					return err
				}
			}
			st.Variables = append(st.Variables, checkpointVar{Path: v.Path(), Dims: v.Shape().Dimensions, Offset: offset})
			offset += int64(4 * len(data))
		}
		return bw.Flush()
	})
	if err != nil {
		return fail(err)
	}
	crc := sum.Sum32()
	st.CRC32C = &crc
	js, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteFile(filepath.Join(tmp, stateFile), js); err != nil {
		return fail(err)
	}
	final := filepath.Join(dir, name)
	if err := os.RemoveAll(final); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fail(err)
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, latestFile), []byte(name+"\n")); err != nil {
		return fail(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fail(err)
	}
	for _, e := range entries {
		// e.IsDir is false for a link, so a linked step-* folder is never followed.
		if e.IsDir() && strings.HasPrefix(e.Name(), "step-") && e.Name() != name {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return fail(err)
			}
		}
	}
	return nil
}

// LatestCheckpointStep returns the step of the checkpoint named in dir/latest, or 0 when there
// is none, after checking what can be checked without reading its tensors: latest names a
// checkpoint folder, its state.json parses and its tensors.bin has the size of the variables
// it lists. A checkpoint that a kill or a damaged disk truncated is an error naming the file.
// LoadLatestCheckpoint checks the rest (the checksum, the variables against the model).
func LatestCheckpointStep(dir string) (int, error) {
	path, err := latestPath(dir)
	if err != nil || path == "" {
		return 0, err
	}
	st, err := readState(path)
	if err != nil {
		return 0, err
	}
	want, err := st.size()
	if err != nil {
		return 0, fmt.Errorf("train: checkpoint %s: %s: %w", path, stateFile, err)
	}
	fi, err := os.Stat(filepath.Join(path, tensorsFile))
	if err != nil {
		return 0, fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	if fi.Size() != want {
		return 0, fmt.Errorf("train: checkpoint %s: %s holds %d bytes, its variables %d", path, tensorsFile, fi.Size(), want)
	}
	if st.Step <= 0 {
		return 0, fmt.Errorf("train: checkpoint %s: step %d", path, st.Step)
	}
	return st.Step, nil
}

// latestPath is the checkpoint folder that dir/latest names, "" when there is no latest file.
func latestPath(dir string) (string, error) {
	latest, err := os.ReadFile(filepath.Join(dir, latestFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("train: resume: %w", err)
	}
	name := strings.TrimSpace(string(latest))
	if !strings.HasPrefix(name, "step-") || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("train: resume: %s names %q, not a checkpoint folder", filepath.Join(dir, latestFile), name)
	}
	return filepath.Join(dir, name), nil
}

// readState reads the state.json of the checkpoint folder path.
func readState(path string) (checkpointState, error) {
	var st checkpointState
	js, err := os.ReadFile(filepath.Join(path, stateFile))
	if err != nil {
		return st, fmt.Errorf("train: resume from %s: %w", path, err)
	}
	if err := json.Unmarshal(js, &st); err != nil {
		return st, fmt.Errorf("train: resume from %s: %s: %w", path, stateFile, err)
	}
	return st, nil
}

// LoadLatestCheckpoint restores the checkpoint named in cfg.CheckpointDir/latest and returns
// its step, or 0 (and changes nothing) when there is none yet. On error nothing is changed
// either: every check is made before the first variable is set.
func (t *Trainer) LoadLatestCheckpoint() (int, error) {
	path, err := latestPath(t.cfg.CheckpointDir)
	if err != nil || path == "" {
		return 0, err
	}
	if err := t.LoadCheckpoint(path); err != nil {
		return 0, err
	}
	return t.step, nil
}

// LoadCheckpoint restores the checkpoint folder path (one step-NNNNNNNN folder). The run's
// trajectory settings (seed, steps, lr, warmup, decay, clipping, batch, gradient accumulation,
// padding) must match. Checkpoints are taken between optimizer steps, so the gradient
// accumulators (never saved) hold nothing that a resume needs. The checkpoint is checked whole
// (its checksum, every variable's name, shape and bytes) before any variable is set, so that on
// error the trainer is as it was.
func (t *Trainer) LoadCheckpoint(path string) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("train: resume from %s: %s", path, fmt.Sprintf(format, args...))
	}
	st, err := readState(path)
	if err != nil {
		return err
	}
	if want := t.cfg.trajectory(); st.Settings != want {
		return fail("settings %+v differ from this run's %+v: resume with the same configuration or use a new checkpoint_dir", st.Settings, want)
	}
	raw, err := os.ReadFile(filepath.Join(path, tensorsFile))
	if err != nil {
		return fail("%v", err)
	}
	if want, err := st.size(); err != nil {
		return fail("%s: %v", stateFile, err)
	} else if int64(len(raw)) != want {
		return fail("%s holds %d bytes, its variables %d", tensorsFile, len(raw), want)
	}
	if st.CRC32C != nil {
		if got := crc32.Checksum(raw, crcTable); got != *st.CRC32C {
			return fail("%s is damaged: CRC-32C %08x, recorded %08x", tensorsFile, got, *st.CRC32C)
		}
	}
	vars := slices.Concat(t.params, t.moments)
	if len(st.Variables) != len(vars) {
		return fail("%d variables, the model has %d", len(st.Variables), len(vars))
	}
	for i, v := range vars {
		cv := st.Variables[i]
		if cv.Path != v.Path() || !slices.Equal(cv.Dims, v.Shape().Dimensions) {
			return fail("variable %d is %q %v, the model's is %q %v", i, cv.Path, cv.Dims, v.Path(), v.Shape().Dimensions)
		}
		n := v.Shape().Size()
		end := cv.Offset + int64(4*n)
		if cv.Offset < 0 || end > int64(len(raw)) {
			return fail("variable %q: bytes [%d, %d) outside %s (%d bytes)", cv.Path, cv.Offset, end, tensorsFile, len(raw))
		}
	}
	for i, v := range vars {
		cv := st.Variables[i]
		n := v.Shape().Size()
		data := make([]float32, n)
		for j := range data {
			data[j] = math.Float32frombits(binary.LittleEndian.Uint32(raw[cv.Offset+int64(4*j):]))
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(data, slices.Clone(cv.Dims)...)); err != nil {
			return fail("variable %q: %v", cv.Path, err)
		}
	}
	t.step, t.pos, t.tokens, t.startLoss = st.Step, st.Position, st.Tokens, st.StartLoss
	t.evaluated = st.Step // a checkpoint is written after its step's evaluation
	return nil
}
