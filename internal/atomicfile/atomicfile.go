// Package atomicfile writes files so that a reader, or a crash, never sees half of one.
package atomicfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// WriteFile writes data to path atomically: a temporary file in the same directory is written,
// synced and renamed over path, and the directory is synced so that the rename itself survives
// a crash. On error, path is left as it was.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Write calls fill with a temporary file beside path and, if fill succeeds, syncs it, renames it
// into place and syncs the directory. On error the temporary file is removed and path is left as
// it was.
func Write(path string, fill func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := SyncDir(dir); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// SyncDir flushes the directory entries of dir to stable storage, so that a file renamed into
// dir is still there after a crash: the rename alone changes only the directory, and a synced
// file can otherwise come back under its temporary name or not at all. File systems that cannot
// sync a directory (EINVAL, ENOTSUP) are not an error: they give no stronger guarantee to ask for.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) && !errors.Is(err, syscall.ENOTSUP) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// TempDir creates an empty temporary folder in dir for a caller that fills it and renames it to
// dir/name, named as WriteFile names its temporary files (".NAME.tmpDIGITS"), so that
// RemoveStale removes it when a killed writer leaves it behind.
func TempDir(dir, name string) (string, error) {
	return os.MkdirTemp(dir, "."+name+".tmp")
}

// IsTemp reports whether name is the name WriteFile gives its temporary files, and TempDir its
// temporary folders (".NAME.tmpDIGITS").
func IsTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}

// RemoveStale removes the temporary files and folders (see TempDir) that writers killed before
// their rename left in dir and below it, and returns how many it removed. It never follows
// symbolic links. Call it only while no other process writes there (the runner holds the run's
// claim).
func RemoveStale(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if path == dir || !IsTemp(d.Name()) {
			return nil
		}
		switch {
		case d.Type().IsRegular():
			if err := os.Remove(path); err != nil {
				return err
			}
			n++
		case d.IsDir():
			if err := os.RemoveAll(path); err != nil {
				return err
			}
			n++
			return filepath.SkipDir
		}
		return nil
	})
	return n, err
}
