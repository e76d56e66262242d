package claim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Owner is what a lock file says about the process that holds it.
type Owner struct {
	Host  string    `json:"host"`
	PID   int       `json:"pid"`
	Token string    `json:"token"` // random, unique to one acquisition
	Since time.Time `json:"since"`
}

// String names the owner for messages: "node3 pid 4121".
func (o Owner) String() string {
	if o.Host == "" {
		return "an unknown process"
	}
	return fmt.Sprintf("%s pid %d", o.Host, o.PID)
}

// Options tune the stale-lock rule. The zero value uses the defaults.
type Options struct {
	// StaleAfter is how old a lock file's heartbeat may be before the lock counts as abandoned
	// (default 5 minutes). It must exceed Heartbeat by a wide margin: network file systems
	// cache file times for up to a minute, and clocks of different hosts differ.
	StaleAfter time.Duration
	// Heartbeat is how often the holder refreshes the lock file's modification time
	// (default 30 seconds).
	Heartbeat time.Duration
	// Host names this machine; "" uses os.Hostname.
	Host string
}

func (o Options) withDefaults() Options {
	if o.StaleAfter <= 0 {
		o.StaleAfter = 5 * time.Minute
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 30 * time.Second
	}
	if o.Host == "" {
		o.Host, _ = os.Hostname()
	}
	o.Host = hostName(o.Host)
	return o
}

// hostName returns host as parseOwner accepts it: at most maxHostBytes, each character that is
// not printable or is a space replaced by "_".
func hostName(host string) string {
	host = strings.ToValidUTF8(host, "_")
	host = strings.Map(func(r rune) rune {
		if !hostRune(r) {
			return '_'
		}
		return r
	}, host)
	for len(host) > maxHostBytes {
		_, size := utf8.DecodeLastRuneInString(host)
		host = host[:len(host)-size]
	}
	return host
}

// HeldError says that another live process holds the lock.
type HeldError struct {
	Path  string
	Owner Owner
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("%s: held by %s since %s", e.Path, e.Owner, e.Owner.Since.Format(time.RFC3339))
}

// Lock is a held lock. Release it when done.
type Lock struct {
	path  string
	owner Owner
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	lost  error // set by the heartbeat when the file no longer holds our token
}

// Owner returns what the lock file says about this holder.
func (l *Lock) Owner() Owner { return l.owner }

// TryAcquire creates the lock file at path (and its directory) for this process. If a live
// process holds it, it returns a *HeldError naming that process. A stale lock (see the package
// doc) is taken over.
func TryAcquire(path string, opts Options) (*Lock, error) {
	opts = opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for attempt := 0; ; attempt++ {
		l, err := create(path, opts)
		if err == nil {
			return l, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		owner, stale, err := inspect(path, opts)
		if errors.Is(err, fs.ErrNotExist) {
			continue // released in between: try again
		}
		if err != nil {
			return nil, err
		}
		if !stale || attempt >= 3 {
			return nil, &HeldError{Path: path, Owner: owner}
		}
		if err := breakStale(path, opts); err != nil {
			return nil, err
		}
	}
}

// Acquire waits until it holds the lock at path, polling every poll. Each time the holder
// changes, onWait (if not nil) is told who holds it. It returns ctx's error if ctx ends first.
func Acquire(ctx context.Context, path string, opts Options, poll time.Duration, onWait func(Owner)) (*Lock, error) {
	var last string
	for {
		l, err := TryAcquire(path, opts)
		var held *HeldError
		if !errors.As(err, &held) {
			return l, err
		}
		if held.Owner.Token != last && onWait != nil {
			onWait(held.Owner)
		}
		last = held.Owner.Token
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for %s (held by %s): %w", path, held.Owner, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// create makes the lock file with O_EXCL and starts its heartbeat; the error wraps
// fs.ErrExist when the file exists.
func create(path string, opts Options) (*Lock, error) {
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return nil, err
	}
	owner := Owner{Host: opts.Host, PID: os.Getpid(), Token: hex.EncodeToString(token), Since: time.Now().UTC()}
	data, err := json.Marshal(owner)
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	l := &Lock{path: path, owner: owner, stop: make(chan struct{}), done: make(chan struct{})}
	go l.heartbeat(opts.Heartbeat)
	return l, nil
}

// heartbeat refreshes the lock file's modification time until Release, and notes when the file
// no longer holds this lock's token (another process judged it stale and took it over).
func (l *Lock) heartbeat(every time.Duration) {
	defer close(l.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			o, err := readOwner(l.path)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				l.setLost(fmt.Errorf("lock %s was removed while held", l.path))
				return
			case err != nil:
				continue // a passing read error (a network file system): try again next beat
			case o.Token != l.owner.Token:
				l.setLost(fmt.Errorf("lock %s was taken over by %s while held", l.path, o))
				return
			}
			now := time.Now()
			_ = os.Chtimes(l.path, now, now) // a missed beat is caught up by the next one
		}
	}
}

func (l *Lock) setLost(err error) {
	l.mu.Lock()
	l.lost = err
	l.mu.Unlock()
}

// Release stops the heartbeat and removes the lock file if it still holds this lock. It
// returns an error if the lock was taken over while held.
func (l *Lock) Release() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	lost := l.lost
	l.mu.Unlock()
	if lost != nil {
		return lost
	}
	o, err := readOwner(l.path)
	if err != nil {
		return fmt.Errorf("release %s: %w", l.path, err)
	}
	if o.Token != l.owner.Token {
		return fmt.Errorf("release %s: taken over by %s while held", l.path, o)
	}
	if err := os.Remove(l.path); err != nil {
		return fmt.Errorf("release %s: %w", l.path, err)
	}
	return nil
}

// maxOwnerBytes bounds what is read of a lock file: the owner this package writes takes about
// 150 bytes, and any file may be written over by another program.
const maxOwnerBytes = 4 << 10

// maxHostBytes bounds an owner's host name, as a DNS name is bounded.
const maxHostBytes = 255

// readOwner reads a lock file, at most maxOwnerBytes of it. An empty or partly written file (its
// creator has not finished writing it) reads as an unknown owner, without error, and so does
// one that parseOwner does not accept.
func readOwner(path string) (Owner, error) {
	f, err := os.Open(path)
	if err != nil {
		return Owner{}, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxOwnerBytes+1))
	if err != nil {
		return Owner{}, fmt.Errorf("lock %s: %w", path, err)
	}
	o, _ := parseOwner(data) // a partial or foreign file is an unknown owner
	return o, nil
}

// Holder reports who holds the lock file path and whether that holder is alive by the stale
// rule (see the package documentation): live is false when the file does not exist or is
// abandoned. It changes nothing; a lock it finds abandoned is still there for TryAcquire to take
// over. The error is that of reading an existing file.
func Holder(path string, opts Options) (owner Owner, live bool, err error) {
	owner, stale, err := inspect(path, opts.withDefaults())
	if errors.Is(err, fs.ErrNotExist) {
		return Owner{}, false, nil
	}
	if err != nil {
		return Owner{}, false, fmt.Errorf("lock %s: %w", path, err)
	}
	return owner, !stale, nil
}

// parseOwner parses the content of a lock file. It accepts only what a lock of this package
// can hold: JSON of at most maxOwnerBytes, a host name of at most maxHostBytes printable
// characters without spaces, and a pid in (0, 2^31), or no host at all (then no pid either: a
// lock of a process that did not know its host name); anything else is an error, with the zero
// Owner (an unknown owner, whose lock only its heartbeat can prove stale).
func parseOwner(data []byte) (Owner, error) {
	if len(data) > maxOwnerBytes {
		return Owner{}, fmt.Errorf("a lock file of more than %d bytes", maxOwnerBytes)
	}
	var o Owner
	if err := json.Unmarshal(data, &o); err != nil {
		return Owner{}, fmt.Errorf("lock file: %w", err)
	}
	if o.Host == "" {
		return Owner{Token: o.Token, Since: o.Since}, nil
	}
	if len(o.Host) > maxHostBytes || !printableWord(o.Host) {
		return Owner{}, fmt.Errorf("lock file: host %q is not a host name", o.Host)
	}
	if o.PID <= 0 || o.PID > math.MaxInt32 {
		return Owner{}, fmt.Errorf("lock file: pid %d is out of range", o.PID)
	}
	return o, nil
}

// printableWord reports whether s is valid UTF-8 of printable characters without spaces, so
// that a message naming it shows it as it is.
func printableWord(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if !hostRune(r) {
			return false
		}
	}
	return true
}

// hostRune reports whether r may stand in a host name as lock files hold it: printable, not a
// space.
func hostRune(r rune) bool { return unicode.IsPrint(r) && !unicode.IsSpace(r) }

// inspect reads the lock file at path and says whether it is stale.
func inspect(path string, opts Options) (Owner, bool, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Owner{}, false, err
	}
	o, err := readOwner(path)
	if err != nil {
		return Owner{}, false, err
	}
	return o, isStale(o, time.Since(st.ModTime()), opts), nil
}

// isStale is the stale-lock rule: a lock whose heartbeat is older than StaleAfter is abandoned,
// whoever wrote it; one written on this host is also abandoned as soon as its process is gone.
func isStale(o Owner, age time.Duration, opts Options) bool {
	if age > opts.StaleAfter {
		return true
	}
	if o.Host != opts.Host || o.PID <= 0 {
		return false // another host, or a file still being written: trust the heartbeat
	}
	return !processAlive(o.PID)
}

// processAlive reports whether a process with pid exists on this host.
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	err = p.Signal(syscall.Signal(0))
	return err == nil || errors.Is(err, syscall.EPERM)
}

// breakStale removes the stale lock file at path. Breakers take turns through a second lock
// file (path + ".break", itself given up after a minute), and each re-reads and re-judges the
// lock under it, so that two processes that both found the same lock stale never remove the
// fresh lock that one of them created after the other broke the stale one.
func breakStale(path string, opts Options) error {
	guard := path + ".break"
	f, err := os.OpenFile(guard, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		if st, serr := os.Stat(guard); serr == nil && time.Since(st.ModTime()) > time.Minute {
			os.Remove(guard) // its breaker died while breaking
		}
		time.Sleep(10 * time.Millisecond)
		return nil // the caller tries again
	}
	if err != nil {
		return fmt.Errorf("lock %s: %w", guard, err)
	}
	f.Close()
	defer os.Remove(guard)
	_, stale, err := inspect(path, opts)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if stale {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove stale lock %s: %w", path, err)
		}
	}
	return nil
}
