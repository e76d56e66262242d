package arrowguard

import (
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrTooLarge is returned (wrapped) when reading a file would allocate more than its budget.
var ErrTooLarge = errors.New("the file asks for more memory than its size allows (corrupt file?)")

// Budget is the memory a reader may hold for a file of fileSize bytes: 64 MiB, plus 32 times
// the file's size, enough for any compressed column that real data produces.
func Budget(fileSize int64) int64 { return 64<<20 + 32*max(fileSize, 0) }

// Allocator is a memory.Allocator that refuses to hold more than a fixed number of bytes at
// once. A refused allocation panics with an error wrapping ErrTooLarge, which Read returns.
// It is safe for concurrent use.
type Allocator struct {
	mem   memory.Allocator
	limit int64

	mu   sync.Mutex
	used int64
}

// NewAllocator returns an Allocator of Go memory holding at most limit bytes at once.
func NewAllocator(limit int64) *Allocator {
	return &Allocator{mem: memory.NewGoAllocator(), limit: limit}
}

// reserve accounts for a change of delta bytes, panicking when it would exceed the limit.
func (a *Allocator) reserve(delta int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if delta > 0 && a.used+delta > a.limit {
		panic(fmt.Errorf("%w: %d bytes wanted with %d in use, limit %d", ErrTooLarge, delta, a.used, a.limit))
	}
	a.used += delta
}

// Allocate returns size bytes, or panics (see Allocator).
func (a *Allocator) Allocate(size int) []byte {
	if size < 0 {
		panic(fmt.Errorf("%w: negative allocation of %d bytes", ErrTooLarge, size))
	}
	a.reserve(int64(size))
	return a.mem.Allocate(size)
}

// Reallocate resizes b to size bytes, or panics (see Allocator).
func (a *Allocator) Reallocate(size int, b []byte) []byte {
	if size < 0 {
		panic(fmt.Errorf("%w: negative allocation of %d bytes", ErrTooLarge, size))
	}
	a.reserve(int64(size) - int64(len(b)))
	return a.mem.Reallocate(size, b)
}

// Free releases b.
func (a *Allocator) Free(b []byte) {
	a.reserve(-int64(len(b)))
	a.mem.Free(b)
}

// Read calls fn and returns its error, or, when fn panics (as arrow-go's readers do on
// corrupt input, or as Allocator does past its limit), an error that names the file with
// prefix and says what failed.
func Read(prefix string, fn func() error) (err error) {
	defer func() {
		r := recover()
		if r == nil {
			return
		}
		if e, ok := r.(error); ok && errors.Is(e, ErrTooLarge) {
			err = fmt.Errorf("%s: %w", prefix, e)
			return
		}
		err = fmt.Errorf("%s: corrupt file: reading it failed with %v", prefix, r)
	}()
	return fn()
}

// validator is implemented by the arrow-go arrays that can check their offsets against their
// buffers (strings, binaries, lists, structs).
type validator interface{ Validate() error }

// ValidateColumn checks a column's offsets against its buffers when its array type can, so
// that a corrupt offset is reported instead of read. (It does not check string contents:
// callers report text that is not UTF-8 themselves, naming the row.)
func ValidateColumn(col any) error {
	if v, ok := col.(validator); ok {
		return v.Validate()
	}
	return nil
}

// ReaderOptions are the arrow-go IPC reader options for a file or stream of size bytes: memory
// bounded by Budget(size), metadata and bodies no larger than the file.
func ReaderOptions(size int64) []ipc.Option {
	return []ipc.Option{ipc.WithAllocator(NewAllocator(Budget(size))),
		ipc.WithMetadataSizeLimit(size), ipc.WithBodySizeLimit(size)}
}
