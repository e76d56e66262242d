package safetensors

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
)

// SingleFileName and IndexFileName are the names Hugging Face gives a model's weights: one file,
// or an index whose weight_map names the shard holding each tensor.
const (
	SingleFileName = "model.safetensors"
	IndexFileName  = "model.safetensors.index.json"
)

// Set is a model's weights, from one file or from several shards. Its methods are safe for
// concurrent use until Close.
type Set struct {
	dir    string
	files  []*File
	byName map[string]*File
	names  []string
}

// OpenDir opens the weights of the Hugging Face model directory dir: the shards listed in
// model.safetensors.index.json when it exists, otherwise model.safetensors.
func OpenDir(dir string) (*Set, error) {
	indexPath := filepath.Join(dir, IndexFileName)
	if _, err := os.Stat(indexPath); err == nil {
		return OpenIndex(indexPath)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("safetensors %s: %w", indexPath, err)
	}
	single := filepath.Join(dir, SingleFileName)
	f, err := Open(single)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("safetensors %s: neither %s nor %s exists (is this a Hugging Face model directory?)", dir, SingleFileName, IndexFileName)
		}
		return nil, err
	}
	return newSet(dir, []*File{f})
}

// OpenIndex opens the shards named by a model.safetensors.index.json file, relative to its
// directory, and checks that every tensor of its weight_map is in the shard it names.
func OpenIndex(indexPath string) (*Set, error) {
	data, err := os.ReadFile(indexPath)
	if err != nil {
		return nil, fmt.Errorf("safetensors index: %w", err)
	}
	var index struct {
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(data, &index); err != nil {
		return nil, fmt.Errorf("safetensors index %s: %w", indexPath, err)
	}
	if len(index.WeightMap) == 0 {
		return nil, fmt.Errorf("safetensors index %s: weight_map is missing or empty", indexPath)
	}
	dir := filepath.Dir(indexPath)
	var shardNames []string
	for _, shard := range index.WeightMap {
		if !slices.Contains(shardNames, shard) {
			shardNames = append(shardNames, shard)
		}
	}
	slices.Sort(shardNames)
	files := make([]*File, 0, len(shardNames))
	byShard := map[string]*File{}
	closeAll := func() {
		for _, f := range files {
			f.Close()
		}
	}
	for _, shard := range shardNames {
		if filepath.IsAbs(shard) || shard != filepath.Base(shard) {
			closeAll()
			return nil, fmt.Errorf("safetensors index %s: shard name %q must be a file name in the same directory", indexPath, shard)
		}
		f, err := Open(filepath.Join(dir, shard))
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("safetensors index %s: %w", indexPath, err)
		}
		files = append(files, f)
		byShard[shard] = f
	}
	names := make([]string, 0, len(index.WeightMap))
	for name := range index.WeightMap {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		shard := index.WeightMap[name]
		if _, ok := byShard[shard].Info(name); !ok {
			closeAll()
			return nil, fmt.Errorf("safetensors index %s: weight_map puts %q in %s, which has no such tensor", indexPath, name, shard)
		}
	}
	s, err := newSet(dir, files)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("safetensors index %s: %w", indexPath, err)
	}
	return s, nil
}

func newSet(dir string, files []*File) (*Set, error) {
	s := &Set{dir: dir, files: files, byName: map[string]*File{}}
	for _, f := range files {
		for _, name := range f.names {
			if other, dup := s.byName[name]; dup {
				return nil, fmt.Errorf("tensor %q is in both %s and %s", name, other.path, f.path)
			}
			s.byName[name] = f
			s.names = append(s.names, name)
		}
	}
	slices.Sort(s.names)
	return s, nil
}

// Names returns all tensor names in sorted order.
func (s *Set) Names() []string { return slices.Clone(s.names) }

// Files returns the opened files (one per shard).
func (s *Set) Files() []*File { return slices.Clone(s.files) }

// Info returns the description of tensor name.
func (s *Set) Info(name string) (TensorInfo, bool) {
	f, ok := s.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.Info(name)
}

func (s *Set) file(name string) (*File, error) {
	f, ok := s.byName[name]
	if !ok {
		return nil, fmt.Errorf("safetensors %s: no tensor %q", s.dir, name)
	}
	return f, nil
}

// Raw returns tensor name's bytes; see [File.Raw].
func (s *Set) Raw(name string) (TensorInfo, []byte, error) {
	f, err := s.file(name)
	if err != nil {
		return TensorInfo{}, nil, err
	}
	return f.Raw(name)
}

// Float32 returns tensor name converted to float32; see [File.Float32].
func (s *Set) Float32(name string) ([]float32, []int, error) {
	f, err := s.file(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Float32(name)
}

// Int64 returns integer tensor name converted to int64; see [File.Int64].
func (s *Set) Int64(name string) ([]int64, []int, error) {
	f, err := s.file(name)
	if err != nil {
		return nil, nil, err
	}
	return f.Int64(name)
}

// Close unmaps every file.
func (s *Set) Close() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.Close())
	}
	return errors.Join(errs...)
}
