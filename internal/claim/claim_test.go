package claim

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHeldThenReleased(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "run.lock")
	l, err := TryAcquire(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = TryAcquire(path, Options{})
	var held *HeldError
	if !errors.As(err, &held) {
		t.Fatalf("second TryAcquire: %v, want a *HeldError", err)
	}
	if held.Owner.PID != os.Getpid() || held.Owner.Token != l.Owner().Token {
		t.Errorf("held by %+v, want this process with token %s", held.Owner, l.Owner().Token)
	}
	if want := "pid " + strconv.Itoa(os.Getpid()); !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file still there after Release: %v", err)
	}
	l2, err := TryAcquire(path, Options{})
	if err != nil {
		t.Fatalf("TryAcquire after Release: %v", err)
	}
	l2.Release()
}

// writeLock plants a lock file as another process would have left it.
func writeLock(t *testing.T, path, body string, age time.Duration) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-age)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// deadPID returns the pid of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot start a process: %v", err)
	}
	return cmd.Process.Pid
}

func TestStaleRule(t *testing.T) {
	host, _ := os.Hostname()
	opts := Options{StaleAfter: time.Minute}
	lock := func(host string, pid int) string {
		return `{"host":"` + host + `","pid":` + strconv.Itoa(pid) + `,"token":"x","since":"2026-01-01T00:00:00Z"}`
	}
	tests := []struct {
		name     string
		body     string
		age      time.Duration
		takeOver bool
	}{
		{"this host, live pid", lock(host, os.Getppid()), 0, false},
		{"this host, dead pid", lock(host, deadPID(t)), 0, true},
		{"other host, fresh heartbeat", lock("elsewhere", 1), 10 * time.Second, false},
		{"other host, old heartbeat", lock("elsewhere", 1), 2 * time.Minute, true},
		{"this host, live pid, old heartbeat", lock(host, os.Getppid()), 2 * time.Minute, true},
		{"being written", "", 0, false},
		{"left half written", `{"host":"elsew`, 2 * time.Minute, true},
	}
	t.Run("no lock file", func(t *testing.T) {
		if o, live, err := Holder(filepath.Join(t.TempDir(), "run.lock"), opts); err != nil || live || o.PID != 0 {
			t.Errorf("Holder of a missing file: %+v, live %v, err %v; want no live holder", o, live, err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "run.lock")
			writeLock(t, path, tt.body, tt.age)
			if _, live, err := Holder(path, opts); err != nil || live == tt.takeOver {
				t.Errorf("Holder: live %v, err %v; want live %v", live, err, !tt.takeOver)
			}
			l, err := TryAcquire(path, opts)
			if tt.takeOver {
				if err != nil {
					t.Fatalf("want the stale lock taken over, got %v", err)
				}
				if err := l.Release(); err != nil {
					t.Fatal(err)
				}
				return
			}
			var held *HeldError
			if !errors.As(err, &held) {
				t.Fatalf("want a *HeldError, got lock %v, err %v", l, err)
			}
		})
	}
}

// Many contenders at once: exactly one wins, every other is told who.
func TestOneWinner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	const n = 16
	var wg sync.WaitGroup
	locks := make([]*Lock, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { locks[i], errs[i] = TryAcquire(path, Options{}) })
	}
	wg.Wait()
	winners := 0
	for i := range n {
		var held *HeldError
		switch {
		case errs[i] == nil:
			winners++
		case !errors.As(errs[i], &held):
			t.Errorf("contender %d: %v", i, errs[i])
		}
	}
	if winners != 1 {
		t.Fatalf("%d winners, want 1", winners)
	}
	for _, l := range locks {
		if l != nil {
			l.Release()
		}
	}
}

func TestAcquireWaits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	first, err := TryAcquire(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(150 * time.Millisecond)
		first.Release()
	}()
	var told []Owner
	l, err := Acquire(context.Background(), path, Options{}, 20*time.Millisecond, func(o Owner) { told = append(told, o) })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	if len(told) != 1 || told[0].Token != first.Owner().Token {
		t.Errorf("onWait told %+v, want the first holder once", told)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, path, Options{}, 10*time.Millisecond, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire on a held lock with a deadline: %v, want DeadlineExceeded", err)
	}
}

func TestHeartbeat(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	l, err := TryAcquire(path, Options{Heartbeat: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(st.ModTime()) < time.Minute {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the heartbeat did not refresh the lock file in 10 s: mtime %v", st.ModTime())
		}
	}
}

// A holder whose lock was taken over (another process judged it stale) is told so on Release,
// and does not remove the new holder's file.
func TestReleaseAfterTakeover(t *testing.T) {
	path := filepath.Join(t.TempDir(), "run.lock")
	l, err := TryAcquire(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	other, err := TryAcquire(path, Options{Host: "elsewhere"})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err == nil || !strings.Contains(err.Error(), "elsewhere") {
		t.Errorf("Release after a takeover: %v, want an error naming the new holder", err)
	}
	if o, err := readOwner(path); err != nil || o.Token != other.Owner().Token {
		t.Errorf("the new holder's lock file was touched: %+v, %v", o, err)
	}
	if err := other.Release(); err != nil {
		t.Error(err)
	}
}

// A process killed with SIGKILL leaves its lock file; the next process on this host takes it
// over at once.
func TestKilledHolder(t *testing.T) {
	if path := os.Getenv("CLAIM_TEST_HOLD"); path != "" {
		if _, err := TryAcquire(path, Options{}); err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString("held\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	path := filepath.Join(t.TempDir(), "run.lock")
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledHolder$")
	cmd.Env = append(os.Environ(), "CLAIM_TEST_HOLD="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if line, _ := bufio.NewReader(out).ReadString('\n'); line != "held\n" {
		cmd.Process.Kill()
		t.Fatalf("holder process said %q", line)
	}
	_, err = TryAcquire(path, Options{})
	var held *HeldError
	if !errors.As(err, &held) || held.Owner.PID != cmd.Process.Pid {
		t.Fatalf("while the holder lives: %v, want held by pid %d", err, cmd.Process.Pid)
	}
	cmd.Process.Kill()
	cmd.Wait()
	l, err := TryAcquire(path, Options{})
	if err != nil {
		t.Fatalf("after the holder was killed: %v, want the lock taken over", err)
	}
	l.Release()
}
